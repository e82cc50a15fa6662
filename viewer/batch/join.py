"""Joining video segments into one file without re-encoding: packets are copied (remuxed) with their
timestamps shifted, so the result plays as if encoded in one go (each segment starts with a keyframe)."""

from __future__ import annotations

from pathlib import Path

from ..errors import InputError
from ..fileutil import PendingFile
from ..video import VIDEO_SUFFIXES


def join_segments(parts: list[Path], output: Path) -> int:
    """Concatenate ``parts`` (same codec, size and rate) into ``output`` atomically; returns the frame count."""
    import av

    pending = PendingFile(output)
    suffix = output.suffix.lower()
    options = {"movflags": "+faststart"} if suffix in (".mp4", ".mov") else {}
    frames = 0
    try:
        with av.open(str(pending.tmp), "w", format=VIDEO_SUFFIXES[suffix], options=options) as target:
            stream = None
            offset = 0
            for part in parts:
                with av.open(str(part)) as source:
                    src = source.streams.video[0]
                    if stream is None:
                        stream = target.add_stream_from_template(src)
                    elif src.codec_context.extradata != stream.codec_context.extradata:
                        raise InputError(part, "segment was encoded with other settings than the first one")
                    last = offset
                    for packet in source.demux(src):
                        if packet.dts is None:
                            continue
                        packet.pts = None if packet.pts is None else packet.pts + offset
                        packet.dts += offset
                        last = max(last, packet.pts if packet.pts is not None else packet.dts)
                        duration = packet.duration or 0
                        packet.stream = stream
                        target.mux(packet)
                        frames += 1
                    offset = last + max(duration, 1)
    except BaseException:
        pending.abort()
        raise
    pending.commit()
    return frames
