"""The one schema of the render settings a user can change: each field carries its default, range, help text
and command-line flag. ``render``, ``view`` and ``serve`` build their flags from it, the viewers build their
widgets from it, and every value from a flag, a widget or a browser message is checked against it."""

from __future__ import annotations

import argparse
import functools
import math
from dataclasses import dataclass, field, fields, replace
from typing import Any

from .colour import ColourSettings
from .errors import InputError
from .render.base import RasterSettings

MODES = ("color", "alpha", "depth")
SOLID_RADIUS_SCALE = 0.85  # 4K4D's radius multiplier in solid mode
_RASTER, _COLOUR = RasterSettings(), ColourSettings()  # the ops' own defaults are 4K4D's: declared once, there


@dataclass(frozen=True)
class Spec:
    flag: str
    help: str
    low: float | None = None
    high: float | None = None
    choices: tuple[str, ...] | None = None
    log: bool = False  # a logarithmic slider


def setting(default: Any, flag: str, help: str, low: float | None = None, high: float | None = None,
            choices: tuple[str, ...] | None = None, log: bool = False) -> Any:
    return field(default=default, metadata={"spec": Spec(flag, help, low, high, choices, log)})


@dataclass(frozen=True)
class RenderSettings:
    """4K4D's rendering rules and debug views. ``None`` means: the model's own value (n_srcs, sh_limit, solid:
    see ``for_model``) or the mode's (radius_scale: 1.0, or 0.85 when solid)."""

    layers: int = setting(_RASTER.layers, "--layers", "K: points composited per pixel", 1, 32)
    radius_scale: float | None = setting(None, "--radius-scale", "point radius multiplier (default 1.0; 0.85 "
                                         "with --solid)", 0.05, 8.0)
    alpha_threshold: float = setting(_RASTER.alpha_threshold, "--alpha-threshold", "drop points with alpha <= this",
                                     0.0, 1.0, log=True)
    background: tuple[float, float, float] = setting(_RASTER.background, "--bg", "background colour R,G,B in [0,1]")
    solid: bool | None = setting(None, "--solid", "opaque splats (4K4D's solid mode): the nearest point wins, no "
                                 "blending; default: on for captured point clouds (PLY), off for 4K4D models")
    n_srcs: int | None = setting(None, "--n-srcs", "source views blended (default: the model's, usually 4)", 1, 64)
    sh_degree: int = setting(_COLOUR.sh_degree, "--sh-degree", "highest SH degree used", 0, 3)
    sh_limit: float | None = setting(None, "--sh-limit", "SH residual limit (default: the model's, usually 1.0)",
                                     0.0, 10.0)
    skip_sh: bool = setting(_COLOUR.skip_sh, "--skip-sh", "debug view: base colour only")
    skip_base: bool = setting(_COLOUR.skip_base, "--skip-base", "debug view: SH residual only")
    mode: str = setting("color", "--mode", "what to show: colour, accumulated alpha or depth", choices=MODES)

    @staticmethod
    def spec(name: str) -> Spec:
        return next(f.metadata["spec"] for f in fields(RenderSettings) if f.name == name)

    def with_value(self, name: str, value: Any) -> RenderSettings:
        """A copy with ``name`` set to ``value``, checked against the schema (InputError naming the flag)."""
        if name not in {f.name for f in fields(self)}:
            raise InputError(None, f"unknown setting '{str(name)[:40]}'")
        return replace(self, **{name: check(name, value)})

    def for_model(self, info: Any) -> RenderSettings:
        """These settings with the model's own choices filled in: opaque splats (solid) for models that ask for
        them (captured point clouds), 4K4D's blended discs otherwise."""
        if self.solid is None:
            return replace(self, solid=getattr(info, "splat", "blend") == "opaque")
        return self

    def raster(self) -> RasterSettings:
        solid = bool(self.solid)
        scale = self.radius_scale if self.radius_scale is not None else (SOLID_RADIUS_SCALE if solid else 1.0)
        return RasterSettings(layers=self.layers, radius_scale=scale, alpha_threshold=self.alpha_threshold,
                              background=self.background, solid=solid)

    def colour(self, model_n_srcs: int = 4, model_sh_limit: float = 1.0) -> ColourSettings:
        return ColourSettings(n_srcs=self.n_srcs if self.n_srcs is not None else model_n_srcs,
                              sh_degree=self.sh_degree,
                              sh_limit=self.sh_limit if self.sh_limit is not None else model_sh_limit,
                              skip_sh=self.skip_sh, skip_base=self.skip_base)


@functools.cache  # the settings panel asks for every setting every frame
def is_switch(name: str) -> bool:
    """Whether a setting is on/off (a checkbox; ``--flag`` / ``--no-flag`` where the default is the model's)."""
    item = next(f for f in fields(RenderSettings) if f.name == name)
    return isinstance(item.default, bool) or str(item.type).startswith("bool")


def check(name: str, value: Any) -> Any:
    """``value`` for setting ``name`` if it is valid; InputError naming the flag otherwise."""
    spec = RenderSettings.spec(name)
    default = next(f.default for f in fields(RenderSettings) if f.name == name)
    if value is None and default is None:
        return None
    if is_switch(name):
        if not isinstance(value, bool):
            raise InputError(spec.flag, f"must be true or false (got {str(value)[:20]})")
        return value
    if spec.choices is not None:
        if value not in spec.choices:
            raise InputError(spec.flag, f"'{str(value)[:20]}' is not one of {', '.join(spec.choices)}")
        return value
    if name == "background":
        try:
            colour = tuple(float(c) for c in value)
        except (TypeError, ValueError):
            colour = ()
        if len(colour) != 3 or not all(math.isfinite(c) and 0 <= c <= 1 for c in colour):
            raise InputError(spec.flag, f"'{str(value)[:40]}' is not R,G,B with values in [0,1]")
        return colour
    integer = name in ("layers", "n_srcs", "sh_degree")
    if isinstance(value, bool) or not isinstance(value, (int, float)) or (integer and value != int(value)):
        raise InputError(spec.flag, f"must be {'an integer' if integer else 'a number'} (got {str(value)[:20]})")
    if not math.isfinite(value) or not spec.low <= value <= spec.high:
        raise InputError(spec.flag, f"{value:g} is outside {spec.low:g}..{spec.high:g}")
    if name == "radius_scale" and value <= 0:
        raise InputError(spec.flag, "must be > 0")
    return int(value) if integer else float(value)


def add_arguments(parser: argparse.ArgumentParser, title: str = "rendering rules (4K4D defaults)") -> None:
    """The settings as flags (their defaults left as None, so a flag given can be told from one omitted)."""
    group = parser.add_argument_group(title)
    for item in fields(RenderSettings):
        spec = item.metadata["spec"]
        dest = item.name
        shown = "" if item.default is None else f" (default {_show(item.default)})"
        if isinstance(item.default, bool):
            group.add_argument(spec.flag, dest=dest, action="store_true", default=None, help=spec.help)
        elif is_switch(dest):  # the default is the model's: both --flag and --no-flag
            group.add_argument(spec.flag, dest=dest, action=argparse.BooleanOptionalAction, default=None,
                               help=spec.help)
        elif spec.choices is not None:
            group.add_argument(spec.flag, dest=dest, choices=spec.choices, default=None, help=spec.help + shown)
        elif dest == "background":
            group.add_argument(spec.flag, dest=dest, metavar="R,G,B", default=None, help=spec.help + shown)
        else:
            kind = int if dest in ("layers", "n_srcs", "sh_degree") else float
            group.add_argument(spec.flag, dest=dest, type=kind, default=None, metavar="N" if kind is int else "X",
                               help=f"{spec.help}, {spec.low:g}-{spec.high:g}{shown}")


def from_args(args: argparse.Namespace) -> RenderSettings:
    """The settings the flags give; InputError naming the flag for a bad value."""
    settings = RenderSettings()
    for item in fields(RenderSettings):
        value = getattr(args, item.name, None)
        if value is None:
            continue
        if item.name == "background":
            try:
                value = tuple(float(c) for c in str(value).split(","))
            except ValueError:
                raise InputError(item.metadata["spec"].flag, f"'{value}' is not R,G,B with values in [0,1]") \
                    from None
        settings = settings.with_value(item.name, value)
    return settings


def _show(value: Any) -> str:
    return ",".join(f"{v:g}" for v in value) if isinstance(value, tuple) else f"{value:g}" \
        if isinstance(value, float) else str(value)
