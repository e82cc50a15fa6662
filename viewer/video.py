"""Writing rendered frames as a video (PyAV, which bundles its codecs) or as a numbered PNG sequence.

Videos: H.264 (default; CRF 18, yuv420p, BT.709 tags, index at the front of MP4/MOV for web playback), HEVC,
AV1 (SVT-AV1), VP9, and lossless FFV1 (RGB, or RGBA with ``--rgba``). The file is written under a temporary
name and renamed when complete, so an error or Ctrl+C leaves no partial video. Frames arrive as 8-bit RGB,
or already converted to planar YUV 4:2:0 (on the GPU, see ``rgb_to_yuv420``) so the CPU only encodes.

PNG sequences: every frame is written atomically under its own number; an interrupted run keeps the frames
it finished and ``resume`` skips them.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from .errors import InputError
from .fileutil import PendingFile

VIDEO_SUFFIXES = {".mp4": "mp4", ".mov": "mov", ".mkv": "matroska", ".webm": "webm"}


@dataclass(frozen=True)
class Codec:
    name: str            # what --codec takes
    encoder: str         # the PyAV/FFmpeg encoder
    crf: int | None      # default quality (None: lossless)
    yuv420: bool         # 4:2:0 planes (even sizes); else RGB(A) to the encoder
    containers: tuple[str, ...]
    options: tuple[tuple[str, str], ...] = ()


CODECS = {
    "h264": Codec("h264", "libx264", 18, True, (".mp4", ".mov", ".mkv"), (("preset", "veryfast"),)),
    "hevc": Codec("hevc", "libx265", 22, True, (".mp4", ".mov", ".mkv"), (("preset", "veryfast"),
                                                                          ("x265-params", "log-level=error"))),
    "av1": Codec("av1", "libsvtav1", 30, True, (".mp4", ".mkv", ".webm"), (("preset", "10"),)),
    "vp9": Codec("vp9", "libvpx-vp9", 31, True, (".webm", ".mkv"), (("deadline", "realtime"), ("cpu-used", "8"),
                                                                      ("b", "0"))),
    "ffv1": Codec("ffv1", "ffv1", None, False, (".mkv", ".mov")),
}


def is_video(path: Path) -> bool:
    return path.suffix.lower() in VIDEO_SUFFIXES


def choose_codec(path: Path, name: str | None, rgba: bool) -> Codec:
    """The codec for ``path`` (``name`` or the container's default), checked against the container."""
    suffix = path.suffix.lower()
    if name is None:
        name = "ffv1" if rgba and suffix in CODECS["ffv1"].containers else ("vp9" if suffix == ".webm" else "h264")
    if name not in CODECS:
        raise InputError("--codec", f"unknown codec '{name}' (available: {', '.join(CODECS)})")
    codec = CODECS[name]
    if suffix not in codec.containers:
        raise InputError(path, f"{name} does not go in a {suffix} file (use {', '.join(codec.containers)})")
    if rgba and codec.yuv420:
        raise InputError("--rgba", f"{name} has no alpha channel: write .png frames or use --codec ffv1 (.mkv)")
    return codec


_BT709 = torch.tensor([[0.2126, 0.7152, 0.0722], [-0.1146, -0.3854, 0.5], [0.5, -0.4542, -0.0458]])
_RANGE = torch.tensor([219.0, 224.0, 224.0])
_OFFSET = torch.tensor([16.0, 128.0, 128.0])


def yuv420_planes(rgb: torch.Tensor) -> torch.Tensor:
    """(H,W,3) float RGB in [0,1] (any device) → (H·3/2, W) uint8 planar YUV 4:2:0, BT.709 limited range, as
    the encoders expect. Runs where ``rgb`` lives, so on the GPU only the planes (half the bytes of RGB) cross
    to the host, and the CPU's cores are left to the encoder."""
    height, width, _ = rgb.shape
    matrix = (_BT709 * _RANGE[:, None]).to(rgb.device)
    yuv = rgb.clamp(0, 1) @ matrix.T + _OFFSET.to(rgb.device)  # (H,W,3)
    chroma = yuv[..., 1:].reshape(height // 2, 2, width // 2, 2, 2).mean(dim=(1, 3))  # (H/2,W/2,2)
    planes = torch.cat([yuv[..., 0].reshape(-1), chroma.permute(2, 0, 1).reshape(-1)])
    return (planes + 0.5).clamp_(0, 255).to(torch.uint8).reshape(height * 3 // 2, width)


def rgb_to_yuv420(rgb: torch.Tensor) -> np.ndarray:
    """``yuv420_planes`` as a host array."""
    return yuv420_planes(rgb).cpu().numpy()


class VideoWriter:
    """Encode frames into ``path``; ``close`` renames the finished file into place, ``abort`` deletes it."""

    def __init__(self, path: Path, codec: Codec, size: tuple[int, int], fps: float, crf: int | None = None,
                 rgba: bool = False, threads: int = 0) -> None:
        import av

        width, height = size
        if codec.yuv420 and (width % 2 or height % 2):
            raise InputError(path, f"{codec.name} (4:2:0) needs an even width and height, not {width}x{height}: "
                             "use --size")
        self.path, self.codec, self.rgba = path, codec, rgba
        self._pending = PendingFile(path)
        suffix = path.suffix.lower()
        options = {"movflags": "+faststart"} if suffix in (".mp4", ".mov") else {}
        try:
            self._container = av.open(str(self._pending.tmp), "w", format=VIDEO_SUFFIXES[suffix], options=options)
            rate = _rate(fps)
            self._stream = self._container.add_stream(codec.encoder, rate=rate)
            self._stream.width, self._stream.height = width, height
            if codec.yuv420:
                self._stream.pix_fmt = "yuv420p"
            else:
                self._stream.pix_fmt = "bgra" if rgba else "bgr0"
            context = self._stream.codec_context
            context.thread_count = threads
            context.thread_type = "AUTO"
            opts = dict(codec.options)
            if codec.crf is not None:
                opts["crf"] = str(codec.crf if crf is None else crf)
            context.options = opts
            if codec.yuv420:  # BT.709, limited range: what players assume for HD, now said explicitly
                context.color_primaries, context.color_trc, context.colorspace, context.color_range = 1, 1, 1, 1
        except BaseException:
            self.abort()
            raise
        self.frames = 0

    def write(self, frame: np.ndarray) -> None:
        """One frame: (H·3/2, W) uint8 YUV 4:2:0 planes for 4:2:0 codecs, else (H,W,3|4) uint8 RGB(A)."""
        import av

        if self.codec.yuv420:
            video_frame = av.VideoFrame.from_ndarray(frame, format="yuv420p")
            video_frame.color_range = 1
        else:
            video_frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(frame),
                                                     format="rgba" if frame.shape[-1] == 4 else "rgb24")
        for packet in self._stream.encode(video_frame):
            self._container.mux(packet)
        self.frames += 1

    def close(self) -> None:
        try:
            for packet in self._stream.encode():
                self._container.mux(packet)
            self._container.close()
        except OSError as exc:
            self.abort()
            raise InputError(self.path, f"cannot write: {exc.strerror or exc}") from None
        except BaseException:
            self.abort()
            raise
        self._pending.commit()

    def abort(self) -> None:
        container = getattr(self, "_container", None)
        if container is not None:
            try:
                container.close()
            except Exception:  # noqa: BLE001 - closing a half-written file may fail; it is deleted next
                pass
        self._pending.abort()


def _rate(fps: float):
    from fractions import Fraction

    return Fraction(fps).limit_denominator(1001)


def frame_names(template: Path, numbers: list[int]) -> list[Path]:
    """Numbered PNG names: ``stem_0000.png``, or the ``{frame}``/``%d`` field of the name; plain ``{frame}`` and
    ``%d`` are zero-padded too, to the digits of the largest number (at least 4)."""
    text = str(template)
    digits = max(4, len(str(max(numbers, default=0))))
    if "{" not in text and "%" not in text:
        return [template.with_name(f"{template.stem}_{i:0{digits}d}{template.suffix}") for i in numbers]
    text = text.replace("{frame}", f"{{frame:0{digits}d}}").replace("%d", f"%0{digits}d")
    names = []
    for index in numbers:
        try:
            name = Path(text.format(frame=index) if "{" in text else text % index)
        except (ValueError, TypeError, KeyError, IndexError, AttributeError) as exc:
            raise InputError(template, f"bad frame-number pattern ({exc}); use {{frame:04d}} or %04d") from None
        names.append(name)
    if len(set(names)) != len(names):
        raise InputError(template, "the pattern gives several frames the same name (add {frame:04d} or %04d)")
    if any(n.suffix.lower() != ".png" or n.parent != template.parent for n in names[:1] + names[-1:]):
        raise InputError(template, "the frame-number pattern must keep the folder and the .png ending")
    return names
