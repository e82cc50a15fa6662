"""ImGui widgets for the render settings, built from the settings schema (one source of truth for names,
ranges and help); used by the Quality panel and, for the B side, by the Compare panel."""

from __future__ import annotations

from dataclasses import fields
from typing import Any

from imgui_bundle import imgui

from ..model import ModelInfo
from ..settings import RenderSettings, is_switch

WIDGET_LABELS = {"layers": "K layers", "n_srcs": "Source views", "solid": "Opaque splats (solid)",
                 "sh_degree": "SH degree", "sh_limit": "SH limit", "skip_sh": "Skip SH", "skip_base": "Skip base",
                 "mode": "Mode"}


def applies(name: str, info: ModelInfo) -> bool:
    """Whether a setting changes anything for this model (n_srcs needs image-based colour, SH settings an SH
    residual): the others are shown disabled, not silently ignored."""
    from ..model.frame import ColourModel

    if name == "n_srcs":
        return info.colour is ColourModel.IBR
    if name in ("sh_degree", "sh_limit", "skip_sh", "skip_base"):
        return info.sh_degree >= 0 and info.colour in (ColourModel.IBR, ColourModel.SH)
    return True


def label_room() -> None:
    """Make widgets leave room for the longest label to their right (no label is cut off)."""
    imgui.push_item_width(-(imgui.calc_text_size("Alpha threshold").x + imgui.get_style().item_inner_spacing.x + 4))


def draw_settings(settings: RenderSettings, info: ModelInfo, suffix: str = "") -> list[tuple[str, Any]]:
    """One widget per render setting; returns the (name, value) pairs the user changed this frame.
    ``suffix`` keeps widget ids apart when two sets of settings are on screen."""
    changes = []
    colour = settings.colour(info.n_srcs, info.sh_limit)
    for item in fields(RenderSettings):
        name, spec = item.name, item.metadata["spec"]
        value = getattr(settings, name)
        label = WIDGET_LABELS.get(name, name.replace("_", " ").capitalize()) + suffix
        used = applies(name, info)
        if not used:
            imgui.begin_disabled()
        if spec.choices is not None:
            changed, index = imgui.combo(label, spec.choices.index(value), list(spec.choices))
            value = spec.choices[index]
        elif is_switch(name):
            changed, value = imgui.checkbox(label, bool(value))
        elif name == "background":
            changed, picked = imgui.color_edit3(label, list(value))
            value = tuple(float(c) for c in picked)
        elif name in ("layers", "sh_degree", "n_srcs"):
            high = int(spec.high) if name != "n_srcs" else max(1, info.n_views or 1)
            current = value if value is not None else colour.n_srcs
            changed, value = imgui.slider_int(label, int(current), int(spec.low), high)
        else:
            current = value if value is not None else settings.raster().radius_scale if name == "radius_scale" \
                else colour.sh_limit
            flags = imgui.SliderFlags_.logarithmic if spec.log else 0
            high = min(spec.high, 4.0) if name != "alpha_threshold" else 0.5
            changed, value = imgui.slider_float(label, float(current), float(spec.low), high, "%.4g", flags)
        if imgui.is_item_hovered(imgui.HoveredFlags_.allow_when_disabled):
            imgui.set_tooltip(f"{spec.help} ({spec.flag})" + ("" if used else " - not used by this model"))
        if not used:
            imgui.end_disabled()
        if changed and used:
            changes.append((name, value))
    return changes
