"""Helpers shared by subcommands: which model to open, argument parsing of sizes and ranges."""

from __future__ import annotations

import argparse
import math
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from tqdm import tqdm

from ..assets import demo_model
from ..camera import MAX_IMAGE_SIDE, parse_up
from ..errors import InputError
from ..model import Model, open_model
from ..model.ply import is_ply_input

if TYPE_CHECKING:
    import torch


def add_model_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("model", nargs="?", type=Path, default=None,
                        help="model: .npz (k4d-viewer canonical or 4K4D runtime), or a PLY sequence as a folder, "
                             "a quoted glob ('frames/*.ply') or one .ply file; default: the built-in demo")


def load_model(path: Path | None, up: str | None = None, data: Path | None = None,
               preset: str | None = None) -> Model:
    """Open ``path``, or the built-in demo when no path is given; ``up`` overrides a PLY sequence's up axis.

    A released 4K4D model (``1599.npz`` weights) opens as its finished bake when one is beside it; otherwise,
    with ``data`` (its dataset), as a model baked frame by frame as it is shown."""
    if path is None:
        return open_demo()
    if is_ply_input(path):
        try:
            return open_model(path, up=parse_up(up) if up is not None else None)
        except ValueError as exc:
            raise InputError("--up", str(exc)) from None
    from ..bake.live import BakingModel, baked_path

    model = open_model(path)
    if getattr(model, "is_weights", False):
        if baked_path(Path(path)).is_file():
            model.close()
            model = open_model(baked_path(Path(path)))
            model.info.notes.insert(0, f"{Path(path).name}: showing its finished bake, {model.info.path.name}")
        elif data is not None:
            model.close()
            model = BakingModel(Path(path), data, preset)
    elif data is not None:
        warn(f"--data is for released 4K4D models (1599.npz); {Path(path).name} does not need it")
    return model


def open_demo() -> Model:
    """The built-in demo. The cache's copy is ours: a damaged one (a cleaner that truncated it, a stray edit) is
    made again instead of being reported as the user's file."""
    path = demo_model()
    try:
        return open_model(path)
    except InputError as exc:
        warn(f"the built-in demo in the cache is damaged, making it again ({exc})")
    try:
        path.unlink(missing_ok=True)
    except OSError as exc:
        raise InputError(path, f"the built-in demo is damaged and cannot be removed: {exc.strerror or exc}") from None
    return open_model(demo_model())


def add_bake_arguments(parser: argparse.ArgumentParser) -> None:
    """--data / --preset: view or render a released 4K4D model, baking it as frames are shown."""
    parser.add_argument("--data", type=Path, metavar="DATA_ROOT",
                        help="with a released 4K4D model (1599.npz): its dataset, to bake frames as they are shown "
                             "(see 'k4d-viewer bake --help')")
    parser.add_argument("--bake-preset", dest="preset", metavar="NAME",
                        help="with --data: which released model's constants (default: from the folder name "
                             "4k4d_<seq>; as 'k4d-viewer bake --preset')")


def parse_size(text: str) -> tuple[int, int]:
    """'WxH' → (W, H); argparse type."""
    try:
        width, height = (int(part) for part in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not WIDTHxHEIGHT, e.g. 1920x1080") from None
    if not (1 <= width <= MAX_IMAGE_SIDE and 1 <= height <= MAX_IMAGE_SIDE):
        raise argparse.ArgumentTypeError(f"'{text}': width and height must be 1..{MAX_IMAGE_SIDE}")
    return width, height


def parse_frames(text: str, n_frames: int) -> list[int]:
    """'A:B' (Python slice, B exclusive; either may be omitted, negatives count from the end) → indices."""
    if len(text) > 64:
        raise InputError("--frames", "is not A:B")
    parts = text.split(":")
    if len(parts) != 2:
        raise InputError("--frames", f"'{text}' is not A:B")
    try:
        start, stop = (int(p) if p.strip() else None for p in parts)
    except ValueError:
        raise InputError("--frames", f"'{text}' is not A:B with integers") from None
    frames = list(range(n_frames)[slice(start, stop)])
    if not frames:
        raise InputError("--frames", f"'{text}' selects no frame (the model has frames 0..{n_frames - 1})")
    if stop is not None and stop > n_frames:
        warn(f"--frames {text}: the model has frames 0..{n_frames - 1}; rendering {frames[0]}..{frames[-1]}")
    return frames


def cache_budgets(args: argparse.Namespace) -> dict[str, int | None]:
    """The --host-cache / --gpu-cache flags as bytes (None: automatic), for the FrameCache."""
    from ..frame_cache import parse_bytes

    budgets = {}
    for flag in ("host_cache", "gpu_cache"):
        text = getattr(args, flag)
        try:
            budgets[flag] = parse_bytes(text) if text else None
        except ValueError:
            raise InputError(f"--{flag.replace('_', '-')}", f"'{text}' is not a size such as 512M or 8G") from None
    return budgets


def warn(message: str) -> None:
    """A success that needs a word: one line on stderr, the command goes on."""
    print(f"k4d-viewer: warning: {message}", file=sys.stderr, flush=True)


def finite_float(text: str) -> float:
    """A finite float; argparse type (refuses nan and inf, which no setting accepts)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a number") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"'{text}' is not a finite number")
    return value


def human_bytes(count: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if count < 1024 or unit == "GiB":
            return f"{count:.0f} {unit}" if unit == "B" else f"{count:.1f} {unit}"
        count /= 1024
    return f"{count:.1f} GiB"


T = TypeVar("T")


def progress(items: Iterable[T], desc: str, total: int, unit: str = "frame") -> Iterator[T]:
    """A progress bar on a terminal for multi-item work; silent when stderr is not a terminal or total is 1.

    The bar is cleared when the work ends, so an error message after it stays the only line.
    """
    return tqdm(items, desc=desc, total=total, unit=unit, leave=False, disable=True if total <= 1 else None)


def parse_device(name: str) -> torch.device:
    """A --device value (auto, cpu, cuda, cuda:N) checked against this machine; InputError otherwise."""
    import torch

    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(name)
    except (RuntimeError, ValueError):
        device = None
    if device is None or device.type not in ("cpu", "cuda"):
        raise InputError("--device", f"'{name}' is not a device this runs on (auto, cpu, cuda, cuda:N)")
    if device.type == "cuda" and not torch.cuda.is_available():
        raise InputError("--device", f"'{name}' asked for, but CUDA is not available on this machine")
    if device.type == "cuda" and device.index is not None and device.index >= torch.cuda.device_count():
        raise InputError("--device", f"'{name}': this machine has {torch.cuda.device_count()} CUDA device(s)")
    return device
