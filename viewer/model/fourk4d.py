"""4K4D runtime ``.npz`` files opened directly (reference §3), and 4K4D weights files recognised.

Runtime keys: ``sampler.{pcds,rads,occs,cents,shs,rgbws}.<slot>``, or the same under ``sampler.fg_sampler.``
and ``sampler.bg_sampler.``, where the background's ``pcds/rads/occs/shs`` exist for slot 0 only and are drawn
with every foreground frame. Slots that were not precomputed are absent or hold a 0-d ``None`` object array;
both are skipped without unpickling. Frames are the present slots in increasing order.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass

import numpy as np
import torch

from ..errors import InputError
from .frame import ColourModel, Frame, ModelInfo, compressed_note
from .npz import NpzArchive
from .validate import check_header, check_values, sh_degree_of

_RUNTIME_KEY = re.compile(r"^sampler\.(?:(fg|bg)_sampler\.)?(pcds|rads|occs|cents|shs|rgbws|rgbs)\.(\d+)$")
_WEIGHT_PREFIXES = ("sampler.xyz_embedder.", "sampler.geo_regressor.", "sampler.ibr_embedder.",
                    "sampler.ibr_regressor.")
BARE_POINT_RADIUS = 0.005  # metres; weights files carry no radii
MAX_SLOT = 10**7           # frame slots are frame numbers: 4K4D sequences have thousands


def is_fourk4d(archive: NpzArchive) -> bool:
    return any(key.startswith("sampler.") for key in archive.keys())


@dataclass
class _Part:
    """One sampler's keys: '' (plain), 'fg' or 'bg', mapping each field to its present slots."""

    prefix: str
    slots: dict[str, list[int]]

    def key(self, name: str, slot: int) -> str:
        return f"{self.prefix}{name}.{slot}"


class FourK4DModel:
    """A 4K4D runtime file (plain or foreground+background), or a weights file shown as bare points."""

    def __init__(self, archive: NpzArchive) -> None:
        self.archive = archive
        parts: dict[str, dict[str, list[int]]] = {}
        weights = False
        for key in archive.keys():
            match = _RUNTIME_KEY.match(key)
            if match is None:
                if key.startswith(_WEIGHT_PREFIXES) or key == "epoch":
                    weights = True
                    continue
                raise InputError(archive.path, "unknown key for a 4K4D runtime file", key=key)
            if archive.header(key).is_none_placeholder:
                continue  # a slot that was not precomputed
            sampler, name = match.group(1) or "", match.group(2)
            if len(match.group(3)) > 8 or int(match.group(3)) > MAX_SLOT:
                raise InputError(archive.path, f"frame slot number is larger than {MAX_SLOT}", key=key)
            slot = int(match.group(3))
            parts.setdefault(sampler, {}).setdefault(name, []).append(slot)
        if "" in parts and ("fg" in parts or "bg" in parts):
            raise InputError(archive.path, "mixes plain sampler.* keys with fg_sampler/bg_sampler keys")
        self.is_weights = weights  # a released model's network weights, not a runtime file
        if weights:
            self._init_weights(parts.get("", {}))
        elif "fg" in parts or "bg" in parts:
            self._init_fg_bg(parts.get("fg", {}), parts.get("bg", {}))
        else:
            self._init_plain(parts.get("", {}))

    # -- opening ---------------------------------------------------------------------------------------

    def _init_plain(self, slots: dict[str, list[int]]) -> None:
        self._fg = _Part("sampler.", slots)
        self._bg = None
        self._colour = _colour_model(slots)
        self._slots = self._frame_slots(self._fg)
        self._finish("4K4D runtime")

    def _init_fg_bg(self, fg_slots: dict[str, list[int]], bg_slots: dict[str, list[int]]) -> None:
        if not fg_slots or not bg_slots:
            which = "bg" if not bg_slots else "fg"
            raise InputError(self.archive.path, f"has no sampler.{which}_sampler.* keys (needed with the other)")
        self._fg = _Part("sampler.fg_sampler.", fg_slots)
        self._bg = _Part("sampler.bg_sampler.", bg_slots)
        self._colour = _colour_model(fg_slots)
        self._slots = self._frame_slots(self._fg)
        self._finish("4K4D runtime (foreground + background)")

    def _init_weights(self, slots: dict[str, list[int]]) -> None:
        self._fg, self._bg, self._colour = _Part("sampler.", {"pcds": slots.get("pcds", [])}), None, ColourModel.NONE
        self._slots = sorted(slots.get("pcds", []))
        if not self._slots:
            raise InputError(self.archive.path, "is a 4K4D weights file with no sampler.pcds.* point clouds")
        self._finish("4K4D weights file (not a runtime file)")
        path = self.archive.path
        target = path.with_name(f"{path.parent.name or path.stem}_baked.npz")
        self.info.notes.append(
            "this is a released 4K4D model (network weights), not a runtime model: showing the bare points in "
            "grey. Bake its colours with the capture dataset, then open the result: "
            f"k4d-viewer bake {shlex.quote(str(path))} --data DATA_ROOT -o {shlex.quote(str(target))}")

    def _frame_slots(self, part: _Part) -> list[int]:
        slots = sorted(part.slots.get("pcds", []))
        if not slots:
            raise InputError(self.archive.path, f"has no {part.prefix}pcds.* entries (no frames)")
        needed = ["rads", "occs"] + {ColourModel.IBR: ["rgbws", "cents"], ColourModel.RGB: ["rgbs"],
                                     ColourModel.SH: ["shs"], ColourModel.NONE: []}[self._colour]
        for name, present in sorted(part.slots.items()):
            orphans = sorted(set(present) - set(slots))
            if orphans:
                raise InputError(self.archive.path, f"slot {orphans[0]} has {name} but no pcds",
                                 key=part.key(name, orphans[0]))
        for name in needed:
            have = set(part.slots.get(name, []))
            for slot in slots:
                if slot not in have:
                    raise InputError(self.archive.path, f"missing: slot {slot} has pcds but no {name}",
                                     key=part.key(name, slot))
        return slots

    def _finish(self, kind: str) -> None:
        shared: dict[str, int] = {}
        points, sizes = [], []
        for slot in self._slots:
            dims = self._check_slot(slot, shared)
            points.append(dims["N"])
            sizes.append(sum(self.archive.header(k).nbytes for k in self._slot_keys(slot)))
        self.info = ModelInfo(
            path=self.archive.path, kind=kind, colour=self._colour, points_per_frame=points,
            bytes_per_frame=sizes, frame_labels=list(self._slots), n_views=shared.get("S", 0),
            sh_degree=shared.get("degree", -1), up="+z", compressed=self.archive.is_compressed(),
        )
        compressed_note(self.info)

    def _fields(self) -> list[str]:
        if self.is_weights:
            return ["pcds"]
        return ["pcds", "rads", "occs"] + {ColourModel.IBR: ["rgbws", "cents", "shs"], ColourModel.RGB: ["rgbs"],
                                           ColourModel.SH: ["shs"], ColourModel.NONE: []}[self._colour]

    def _slot_keys(self, slot: int) -> list[str]:
        keys = []
        for part, slot_of in self._parts_for(slot):
            keys += [part.key(name, slot_of(name)) for name in self._fields()
                     if part.key(name, slot_of(name)) in self.archive]
        return keys

    def _parts_for(self, slot: int) -> list[tuple[_Part, callable]]:
        """(part, field -> stored slot) pairs drawn for frame slot ``slot``."""
        parts = [(self._fg, lambda name: slot)]
        if self._bg is not None:  # background geometry and SH live in slot 0; colours per frame
            parts.append((self._bg, lambda name: slot if name in ("rgbws", "cents") else 0))
        return parts

    def _check_slot(self, slot: int, shared: dict[str, int]) -> dict[str, int]:
        total = 0
        has_sh = any(part.slots.get("shs") for part, _ in self._parts_for(slot))
        for part, slot_of in self._parts_for(slot):
            dims = {"S": shared["S"]} if "S" in shared else {}
            names = self._fields()
            for name in names:
                key = part.key(name, slot_of(name))
                if key not in self.archive:
                    if name == "shs" and self._colour is ColourModel.IBR and not has_sh:
                        continue  # a runtime file without SH residual
                    other = " (other slots have an SH residual)" if name == "shs" else ""
                    raise InputError(self.archive.path, "missing" + other, key=key)
                pattern = {"pcds": [("N", 3)], "rads": [("N", 1), ("N",)], "occs": [("N", 1), ("N",)],
                           "cents": [("S", 3)], "rgbws": [("S", "N", 4)], "rgbs": [("N", 3)],
                           "shs": [("N", 3, "C")]}[name]
                header = check_header(self.archive, key, pattern, dims)
                if name == "shs":
                    degree = sh_degree_of(self.archive, key, header.shape[-1])
                    if shared.setdefault("degree", degree) != degree:
                        raise InputError(self.archive.path, f"has SH degree {degree}, other slots have "
                                         f"{shared['degree']}", key=key)
            if dims.get("N") == 0:
                raise InputError(self.archive.path, "has 0 points", key=part.key("pcds", slot_of("pcds")))
            if dims.get("S") == 0:
                raise InputError(self.archive.path, "has 0 source views", key=part.key("rgbws", slot_of("rgbws")))
            if "S" in dims:
                shared["S"] = dims["S"]
            total += dims["N"]
        return {"N": total}

    # -- reading ---------------------------------------------------------------------------------------

    def read_frame(self, index: int) -> Frame:
        if not 0 <= index < len(self._slots):
            raise InputError(self.archive.path, f"has no frame {index} (frames 0..{len(self._slots) - 1})")
        slot = self._slots[index]
        pieces: dict[str, list[np.ndarray]] = {}
        for part, slot_of in self._parts_for(slot):
            for name in self._fields():
                key = part.key(name, slot_of(name))
                if key not in self.archive:
                    continue
                array = self.archive.read(key)
                check_values(self.archive, key, array, nonnegative=name == "rads", unit_interval=name == "occs")
                pieces.setdefault(name, []).append(array)
        if self.is_weights:
            xyz = pieces["pcds"][0]
            n = xyz.shape[0]
            return Frame(xyz=torch.from_numpy(xyz), radius=torch.full((n,), BARE_POINT_RADIUS),
                         alpha=torch.ones(n))
        cents = pieces.get("cents")
        if cents is not None and len(cents) == 2 and not np.allclose(cents[0], cents[1], atol=1e-3):
            raise InputError(self.archive.path, "foreground and background source-camera centres differ "
                             "(they must be the same capture cameras)", key=self._bg.key("cents", slot))

        def joined(name: str, axis: int = 0) -> torch.Tensor | None:
            if name not in pieces:
                return None
            return torch.from_numpy(np.ascontiguousarray(np.concatenate(pieces[name], axis=axis)))

        return Frame(xyz=joined("pcds"), radius=joined("rads").reshape(-1), alpha=joined("occs").reshape(-1),
                     rgb=joined("rgbs"), sh=joined("shs"), rgbw=joined("rgbws", axis=1),
                     cents=None if cents is None else torch.from_numpy(cents[0]))

    def close(self) -> None:
        self.archive.close()


def _colour_model(slots: dict[str, list[int]]) -> ColourModel:
    """Driven by the keys present: image blend, plain rgb, SH only, or bare geometry."""
    if "rgbws" in slots:
        return ColourModel.IBR
    if "rgbs" in slots:
        return ColourModel.RGB
    if "shs" in slots:
        return ColourModel.SH
    return ColourModel.NONE
