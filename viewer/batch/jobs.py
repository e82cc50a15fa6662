"""Job files (TOML): each ``[[job]]`` table becomes a ``k4d-viewer render`` command line, so a batch renders
exactly what ``render`` renders; jobs are checked before any work starts and split into segments.

Keys: ``model``, ``output``, one of ``path`` (a path file) or ``preset`` (orbit, spiral, through-cameras,
bullet-time), optional ``size`` ("WxH"), ``fps``, ``seconds``, ``codec``, ``crf``, ``frames`` ("A:B", path
frames), ``frame`` (bullet-time frame / where time starts), ``play``, ``camera``, ``view``, ``cameras``,
``backend``, ``mode`` and any render setting by its flag name (``layers = 11``, ``radius-scale = 1.2``,
``bg = "1,1,1"``). Relative paths are relative to the job file.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import InputError
from ..fileutil import read_text_file
from ..paths.presets import PRESETS

FILE_KEYS = ("model", "output", "path", "camera", "cameras")
VALUE_KEYS = ("size", "fps", "seconds", "codec", "crf", "frame", "view", "backend", "mode", "device")
FLAG_KEYS = ("play", "solid", "skip-sh", "skip-base")
SETTING_KEYS = ("layers", "radius-scale", "alpha-threshold", "bg", "n-srcs", "sh-degree", "sh-limit")
KNOWN = {"model", "output", "path", "preset", "frames", "camera", "cameras", *VALUE_KEYS, *FLAG_KEYS,
         *SETTING_KEYS}


@dataclass(frozen=True)
class Job:
    index: int
    name: str            # "job 2 (out/orbit.mp4)"
    argv: tuple[str, ...]  # a `k4d-viewer render` command line
    output: Path
    frames: tuple[int, int] | None  # the output frames to render (path frames A:B), None: all

    @property
    def signature(self) -> str:
        """What the job renders: a changed job file makes earlier segments of it stale."""
        return hashlib.sha256(json.dumps([self.argv, self.frames]).encode()).hexdigest()[:16]


def load_jobs(path: Path) -> list[Job]:
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover - Python 3.10
        import tomli as tomllib

    text = read_text_file(path, "job file")
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise InputError(path, f"not valid TOML ({exc})") from None
    except RecursionError:
        raise InputError(path, "not valid TOML (nested too deeply)") from None
    tables = data.get("job")
    if not isinstance(tables, list) or not tables or not all(isinstance(t, dict) for t in tables):
        raise InputError(path, "needs one or more [[job]] tables")
    jobs = [_job(path, index, table) for index, table in enumerate(tables)]
    outputs = [job.output.resolve() for job in jobs]
    for index, output in enumerate(outputs):
        if output in outputs[:index]:
            raise InputError(path, f"{jobs[index].name}: writes the same output as job {outputs.index(output)}")
    return jobs


def _job(path: Path, index: int, table: dict[str, Any]) -> Job:
    base = path.resolve().parent
    label = f"job {index}"
    unknown = sorted(set(table) - KNOWN)
    if unknown:
        raise InputError(path, f"{label}: unknown key '{unknown[0]}' (keys: {', '.join(sorted(KNOWN))})")
    for key in ("model", "output"):
        if not isinstance(table.get(key), str) or not table[key]:
            raise InputError(path, f"{label}: '{key}' must be a file name")
    output = base / table["output"]
    label = f"job {index} ({table['output']})"
    argv = ["render", str(base / table["model"]), "-o", str(output)]
    if ("path" in table) == ("preset" in table):
        raise InputError(path, f"{label}: give either 'path' or 'preset'")
    if "path" in table:
        argv += ["--path", str(base / _text(path, label, table, "path"))]
    else:
        preset = table["preset"]
        if preset not in PRESETS:
            raise InputError(path, f"{label}: unknown preset '{str(preset)[:30]}' (one of {', '.join(PRESETS)})")
        if preset == "bullet-time":
            argv += ["--bullet-time", str(_integer(path, label, table.get("frame", 0), "frame"))]
        else:
            argv += [f"--{preset}"]
    for key in ("camera", "cameras"):
        if key in table:
            argv += [f"--{key}", str(base / _text(path, label, table, key))]
    for key in VALUE_KEYS:
        if key in table and not (key == "frame" and table.get("preset") == "bullet-time"):
            argv += [f"--{key}", _scalar(path, label, table[key], key)]
    for key in FLAG_KEYS:
        if key in table:
            if not isinstance(table[key], bool):
                raise InputError(path, f"{label}: '{key}' must be true or false")
            if table[key]:
                argv.append(f"--{key}")
            elif key == "solid":  # its default is the model's: false must be said
                argv.append("--no-solid")
    for key in SETTING_KEYS:
        if key in table:
            argv += [f"--{key}", _scalar(path, label, table[key], key)]
    frames = None
    if "frames" in table:
        text = _text(path, label, table, "frames")
        try:
            start, stop = (int(part) for part in text.split(":"))
        except ValueError:
            raise InputError(path, f"{label}: 'frames' must be \"A:B\" with integers") from None
        if not 0 <= start < stop:
            raise InputError(path, f"{label}: 'frames' {text} selects no frame")
        frames = (start, stop)
    return Job(index, label, tuple(argv), output, frames)


def _text(path: Path, label: str, table: dict, key: str) -> str:
    value = table[key]
    if not isinstance(value, str) or not value:
        raise InputError(path, f"{label}: '{key}' must be a non-empty string")
    return value


def _integer(path: Path, label: str, value: Any, key: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise InputError(path, f"{label}: '{key}' must be an integer")
    return value


def _scalar(path: Path, label: str, value: Any, key: str) -> str:
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise InputError(path, f"{label}: '{key}' must be a number or a string")
    if isinstance(value, float) and not math.isfinite(value):
        raise InputError(path, f"{label}: '{key}' must be finite")
    return str(value)


def parse_render_args(job: Job, where: Path | str) -> argparse.Namespace:
    """The job's render command line as parsed arguments; a flag error names the job."""
    from ..cli import FlagError, build_parser

    try:
        return build_parser(raising=True).parse_args(list(job.argv))
    except FlagError as exc:
        raise InputError(where, f"{job.name}: {exc}") from None


def segments(total: int, frames: tuple[int, int] | None, size: int) -> list[tuple[int, int]]:
    """[start, stop) ranges of output frames, ``size`` frames each."""
    start, stop = frames if frames is not None else (0, total)
    stop = min(stop, total)
    if start >= stop:
        return []
    return [(a, min(a + size, stop)) for a in range(start, stop, size)]
