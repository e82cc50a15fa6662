"""Hostile bake inputs: an EasyVolcap dataset (images, masks, videos, intri.yml, extri.yml) with one thing
broken, baked with a valid weights file shared by every case (see cases.py).

Only frame 0's files are damaged: the bake stops before any frame is done, so an error leaves nothing behind
(a later frame's error keeps the finished frames for ``--resume``, by design)."""

from __future__ import annotations

import functools
import io
import random
import struct
import tempfile
import zlib
from pathlib import Path

from .cases import Case, flip_bits, overwrite, truncate

BAKE_WEIGHTS = "../bake/trained_model/4k4d_my_377/1599.npz"  # written by generate.write_bases
BAKE_DATA = "../bake/data"  # a valid dataset for the flag cases, written beside the weights
VIEWS = ("00", "01", "02")


def write_bake_weights(root: Path) -> None:
    """The valid weights file every bake case reads (small: 300 points, 2 frames), and a valid dataset beside it
    (``../bake/data``) for the flag cases."""
    from synthetic_4k4d import write_weights

    path = root / "bake" / "trained_model" / "4k4d_my_377" / "1599.npz"
    if not path.exists():
        write_weights(path, n_points=300, n_frames=2)
    for name, data in _dataset():
        target = root / "bake" / name
        if not target.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)


@functools.cache
def _dataset() -> tuple[tuple[str, bytes], ...]:
    """The valid dataset's files as (relative path, bytes), made once per process."""
    from synthetic_4k4d import write_dataset

    with tempfile.TemporaryDirectory() as tmp:
        root = write_dataset(Path(tmp) / "data", n_views=len(VIEWS), n_frames=2, size=(48, 64))
        return tuple((str(p.relative_to(root.parent)), p.read_bytes()) for p in sorted(root.rglob("*"))
                     if p.is_file())


def _png(width: int, height: int, mode: str = "RGB") -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new(mode, (width, height), 128).save(buffer, format="PNG")
    return buffer.getvalue()


def _png_claiming(width: int, height: int) -> bytes:
    """A PNG whose header declares ``width`` x ``height`` pixels (a decompression bomb's first bytes)."""
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    chunk = b"IHDR" + header
    ihdr = struct.pack(">I", len(header)) + chunk + struct.pack(">I", zlib.crc32(chunk) & 0xFFFFFFFF)
    data = zlib.compress(b"\0" * 64)
    idat = struct.pack(">I", len(data)) + b"IDAT" + data + struct.pack(">I", zlib.crc32(b"IDAT" + data) & 0xFFFFFFFF)
    return b"\x89PNG\r\n\x1a\n" + ihdr + idat


def _cut(rng: random.Random, data: bytes) -> bytes:
    return data[: rng.randrange(0, len(data) // 2)]


def bake_case(rng: random.Random, cid: str) -> Case:
    files = dict(_dataset())
    view = rng.choice(VIEWS)
    image, mask = f"data/images/{view}/000000.png", f"data/masks/{view}/000000.png"
    what = rng.choice(["image-truncate", "image-flip", "image-overwrite", "image-garbage", "image-empty",
                       "image-bomb", "image-mode", "image-size", "mask-truncate", "mask-garbage", "mask-size",
                       "mask-mode", "yml-truncate", "yml-flip", "yml-drop", "yml-nan", "yml-names", "yml-huge",
                       "drop-view", "drop-masks", "drop-intri", "video-truncate", "video-flip"])
    expect = "error"
    if what == "image-truncate":  # cut inside the pixel data (a cut in the end marker alone is harmless)
        files[image] = _cut(rng, files[image])
    elif what in ("image-flip", "image-overwrite"):
        files[image] = (flip_bits if what == "image-flip" else overwrite)(rng, files[image])
        expect = "any"  # a PNG's checksums catch most of this, but not every byte is checked
    elif what == "image-garbage":
        files[image] = bytes(rng.randrange(256) for _ in range(rng.choice([3, 100, 5000])))
    elif what == "image-empty":
        files[image] = b""
    elif what == "image-bomb":
        files[image] = _png_claiming(rng.choice([20000, 65535]), rng.choice([20000, 65535]))
    elif what == "image-mode":  # grey, 16-bit, alpha or palette images are converted
        files[image] = _png(48, 64, rng.choice(["L", "I;16", "RGBA", "P", "1"]))
        expect = "any"
    elif what == "image-size":
        files[image] = _png(rng.choice([1, 47, 480]), rng.choice([1, 65, 640]))
    elif what == "mask-truncate":
        files[mask] = _cut(rng, files[mask])
    elif what == "mask-garbage":
        files[mask] = b"GIF89a" + bytes(rng.randrange(256) for _ in range(50))
    elif what == "mask-size":
        files[mask] = _png(rng.choice([1, 49]), rng.choice([1, 63]), "L")
    elif what == "mask-mode":
        files[mask] = _png(48, 64, rng.choice(["RGB", "RGBA", "I;16"]))
        expect = "any"
    elif what.startswith("yml-"):
        name = rng.choice(["data/intri.yml", "data/extri.yml"])
        text = files[name].decode()
        if what == "yml-truncate":
            files[name] = truncate(rng, files[name])
            expect = "any"  # a cut may fall after the last entry the bake needs
        elif what == "yml-flip":
            files[name] = flip_bits(rng, files[name])
            expect = "any"
        elif what == "yml-drop":
            key = rng.choice(["K_", "R_", "T_"] if "intri" not in name else ["K_", "names"])
            files[name] = text.replace(f"{key}{view}" if key != "names" else "names:", "unrelated", 1).encode()
            # a camera without K is skipped (EasyVolcap's 'none'); without R_ its Rot_ matrix is used
            expect = "any" if key in ("K_", "R_") else "error"
        elif what == "yml-nan":
            lines = text.splitlines()
            at = next(i for i, line in enumerate(lines) if line.startswith("  data: ["))
            lines[at] = "  data: [" + rng.choice([".nan", ".inf", "-.inf"]) + ", " + lines[at].split(", ", 1)[1]
            files[name] = "\n".join(lines).encode()
        elif what == "yml-names":
            files[name] = text.replace("names:\n", "names:\n  - \"99\"\n" * rng.choice([1, 3]), 1).encode()
            expect = "any"  # a listed name without K_ or images is skipped, as EasyVolcap's 'none' entries
        else:
            files[name] = text.replace("rows: 3", f"rows: {rng.choice([10**6, -1, 2**40])}", 1).encode()
    elif what == "drop-view":
        for path in [p for p in files if p.startswith(f"data/images/{view}/")]:
            del files[path]
    elif what == "drop-masks":
        for path in [p for p in files if p.startswith("data/masks/")]:
            del files[path]
        expect = "any"  # with videos present, masks come from them
    elif what == "drop-intri":
        del files["data/intri.yml"]
    else:  # the videos alone: images removed, one video damaged
        for path in [p for p in files if p.startswith(("data/images/", "data/masks/"))]:
            del files[path]
        video = f"data/videos_libx265/{view}.mp4"
        if what == "video-truncate":
            files[video] = files[video][: rng.randrange(0, 200)]
        else:
            files[video] = flip_bits(rng, files[video])
            expect = "any"
    argv = ["bake", BAKE_WEIGHTS, "--data", "data", "-o", "out.npz", "--device", "cpu"]
    return Case(cid, f"bake-{what}", argv, expect, "out.npz", view, files=files)
