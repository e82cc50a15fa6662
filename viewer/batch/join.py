"""Joining video segments into one file without re-encoding: packets are copied (remuxed) with their
timestamps shifted, so the result plays as if encoded in one go (each segment starts with a keyframe)."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from ..errors import InputError
from ..video import VIDEO_SUFFIXES


def join_segments(parts: list[Path], output: Path) -> int:
    """Concatenate ``parts`` (same codec, size and rate) into ``output`` atomically; returns the frame count."""
    import av

    fd, tmp = tempfile.mkstemp(prefix=output.name[:200] + ".", suffix=".part", dir=output.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    suffix = output.suffix.lower()
    options = {"movflags": "+faststart"} if suffix in (".mp4", ".mov") else {}
    frames = 0
    try:
        with av.open(str(tmp_path), "w", format=VIDEO_SUFFIXES[suffix], options=options) as target:
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
        os.replace(tmp_path, output)
    except BaseException:
        tmp_path.unlink(missing_ok=True)
        raise
    return frames
