"""Families of hostile cases: each function turns a seeded RNG into one Case (see cases.py)."""

from __future__ import annotations

import json
import random

import numpy as np

from . import zipbytes as zb
from .cases import (
    RENDER,
    Case,
    canonical_arrays,
    flip_bits,
    overwrite,
    pickled_member_bytes,
    pickled_object_array,
    raw_pickle_file,
    runtime_arrays,
    truncate,
)

MODEL_COMMANDS = [
    (["info", "{in}"], None),
    (["info", "--check", "{in}"], None),
    (["render", "{in}", "-o", "out.png", *RENDER], "out.png"),
    (["render", "{in}", "-o", "seq.png", "--frames", "0:2", *RENDER], "seq_0000.png"),
    (["convert", "{in}", "-o", "out.npz"], "out.npz"),
]


def _model_case(rng: random.Random, cid: str, kind: str, name: str, data: bytes, expect: str,
                notes: str = "", values_only: bool = False) -> Case:
    """``values_only``: the damage is in array values, which only commands reading every frame must see."""
    argv, output = rng.choice(MODEL_COMMANDS)
    if values_only and argv[0] != "convert" and "--check" not in argv and "--frames" not in argv:
        expect = "any"
    return Case(cid, kind, [a.replace("{in}", name) for a in argv], expect, output, notes, files={name: data})


def _base(rng: random.Random, runtime: bool) -> dict[str, np.ndarray]:
    nrng = np.random.default_rng(rng.randrange(2**32))
    return runtime_arrays(nrng) if runtime else canonical_arrays(nrng)


# -- .npz: bytes -----------------------------------------------------------------------------------------------

def npz_bytes_mutation(rng: random.Random, cid: str) -> Case:
    runtime = rng.random() < 0.5
    data = zb.npz_bytes(_base(rng, runtime), compressed=rng.random() < 0.5)
    how = rng.choice(["truncate", "flip", "overwrite"])
    mutated = {"truncate": truncate, "flip": flip_bits, "overwrite": overwrite}[how](rng, data)
    return _model_case(rng, cid, f"npz-{how}", "m.npz", mutated, "error" if how == "truncate" else "any",
                       "runtime" if runtime else "canonical")


# -- .npz: lying zip directories -------------------------------------------------------------------------------

def npz_zip_lies(rng: random.Random, cid: str) -> Case:
    runtime = rng.random() < 0.5
    arrays = _base(rng, runtime)
    data = zb.npz_bytes(arrays, compressed=rng.random() < 0.5)
    member = rng.choice(sorted(arrays)) + ".npy"
    lie = rng.choice(["encrypted", "deflate64", "method99", "csize-huge", "usize-huge", "offset-beyond",
                      "usize-small"])
    if lie == "encrypted":
        data = zb.patch(data, member, "flags", 0x1)
    elif lie == "deflate64":
        data = zb.patch(data, member, "method", 9)
    elif lie == "method99":
        data = zb.patch(data, member, "method", 99)
    elif lie == "csize-huge":
        data = zb.patch(data, member, "csize", rng.choice([len(data) * 4, 0x7FFFFFFF]), "central")
    elif lie == "usize-huge":
        data = zb.patch(data, member, "usize", rng.choice([0x7FFFFFFF, 0xFFFFFFF0]), "central")
    elif lie == "offset-beyond":
        data = zb.patch(data, member, "offset", len(data) + rng.randint(1, 10**6), "central")
    else:
        data = zb.patch(data, member, "usize", 3, "central")
    return _model_case(rng, cid, f"zip-{lie}", "m.npz", data, "error", member)


# -- .npz: lying .npy headers ----------------------------------------------------------------------------------

def npz_npy_lies(rng: random.Random, cid: str) -> Case:
    runtime = rng.random() < 0.5
    arrays = _base(rng, runtime)
    members = zb.members_of(zb.npz_bytes(arrays))
    key = rng.choice([k for k in sorted(arrays) if k != "meta"])
    original = arrays[key]
    lie = rng.choice(["shape-huge", "shape-bigger", "shape-negative", "header-len-huge", "header-v2-huge",
                      "descr-bad", "descr-object", "descr-int", "header-garbage", "header-nested", "bad-magic",
                      "shape-float", "descr-complex"])
    data = original.tobytes()
    descr = np.lib.format.dtype_to_descr(original.dtype)
    if lie == "shape-huge":
        npy = zb.npy_with_header((10**9, 3), descr, data)
    elif lie == "shape-bigger":
        npy = zb.npy_with_header((original.shape[0] * 2, *original.shape[1:]), descr, data)
    elif lie == "shape-negative":
        npy = zb.npy_with_header((-5, *original.shape[1:]), descr, data)
    elif lie == "header-len-huge":
        npy = zb.npy_with_header(original.shape, descr, data, header_len=0xFFFF)
    elif lie == "header-v2-huge":
        npy = zb.npy_with_header(original.shape, descr, data, header_len=0xF0000000, version=2)
    elif lie == "descr-bad":
        npy = zb.npy_with_header(original.shape, "<q9", data)
    elif lie == "descr-object":
        npy = zb.npy_with_header(original.shape, "|O", data)
    elif lie == "descr-int":
        npy = zb.npy_with_header(original.shape, "<i" + str(original.dtype.itemsize), data)
    elif lie == "header-garbage":
        npy = zb.npy_with_header((), raw_header="__import__('os').mkdir('PICKLE_EXECUTED')") + data
    elif lie == "header-nested":
        npy = zb.npy_with_header((), raw_header="[" * 5000 + "]" * 5000) + data
    elif lie == "bad-magic":
        npy = b"\x93NUMPZ" + zb.npy_with_header(original.shape, descr, data)[6:]
    elif lie == "shape-float":
        npy = zb.npy_with_header((), raw_header=f"{{'descr': '{descr}', 'fortran_order': False, "
                                              f"'shape': (1.5, 3), }}") + data
    else:
        npy = zb.npy_with_header(original.shape, "<c16", data)
    members[key + ".npy"] = npy
    expect = "any" if lie == "descr-int" and original.dtype.kind == "i" else "error"
    return _model_case(rng, cid, f"npy-{lie}", "m.npz", zb.zip_with_members(members), expect, key)


# -- .npz: bombs and pickles -------------------------------------------------------------------------------------

_BOMB_CACHE: dict[str, bytes] = {}


def npz_bombs_and_pickles(rng: random.Random, cid: str) -> Case:
    runtime = rng.random() < 0.5
    arrays = _base(rng, runtime)
    key = rng.choice([k for k in sorted(arrays) if k != "meta"])
    what = rng.choice(["zip-bomb", "pickle-member", "pickle-file", "pickle-meta"])
    if what == "zip-bomb":
        if "bomb" not in _BOMB_CACHE:  # 256 MiB of zeros deflate to ~250 kB
            members = zb.members_of(zb.npz_bytes(arrays))
            members[key + ".npy"] = zb.deflate_bomb_member((64 * 1024 * 1024,), "<f4")
            _BOMB_CACHE["bomb"] = zb.zip_with_members(members, deflate={key + ".npy"})
        return _model_case(rng, cid, what, "m.npz", _BOMB_CACHE["bomb"], "error")
    if what == "pickle-member":
        arrays[key] = pickled_object_array()
        data = zb.npz_bytes(arrays)
    elif what == "pickle-meta":
        members = zb.members_of(zb.npz_bytes(arrays))
        members[("meta" if "meta" in arrays else key) + ".npy"] = pickled_member_bytes()
        data = zb.zip_with_members(members)
    else:
        data = raw_pickle_file()
    return _model_case(rng, cid, what, "m.npz", data, "error")


# -- .npz: semantically wrong but well-formed ----------------------------------------------------------------

def _meta_value(rng: random.Random):
    return rng.choice([10**9, -1, 0, 1.5, "2", None, True, [], {}, 10**30, float("nan")])


def npz_semantics(rng: random.Random, cid: str) -> Case:
    runtime = rng.random() < 0.5
    arrays = _base(rng, runtime)
    keys = [k for k in sorted(arrays) if k != "meta"]
    key = rng.choice(keys)
    what = rng.choice(["nan", "inf", "negative", "wrong-dtype", "wrong-shape", "zero-points", "zero-views",
                       "drop-key", "extra-key", "meta-field", "meta-nested", "meta-not-json", "slot-huge",
                       "sh-in-one-slot", "empty"])
    expect = "error"
    if what in ("nan", "inf", "negative"):
        value = {"nan": np.nan, "inf": np.inf, "negative": -1.0}[what]
        array = arrays[key].astype(np.float32)
        array.reshape(-1)[rng.randrange(array.size)] = value
        arrays[key] = array
        if what == "negative" and not any(s in key for s in ("radius", "rads", "alpha", "occs")):
            expect = "any"  # negative positions and logits are fine
    elif what == "wrong-dtype":
        arrays[key] = arrays[key].astype(rng.choice([np.int32, np.complex64, np.bool_, np.uint64]))
    elif what == "wrong-shape":
        arrays[key] = arrays[key].reshape(-1)[: max(arrays[key].size - 1, 1)]
    elif what == "zero-points":
        for k in keys:
            if k.endswith((".xyz", ".pcds.0")) or ".pcds." in k:
                arrays[k] = arrays[k][:0]
    elif what == "zero-views":
        for k in keys:
            if k.endswith(("rgbw", "cents")) or ".rgbws." in k or ".cents." in k:
                arrays[k] = arrays[k][:0]
    elif what == "drop-key":
        arrays.pop(key)
    elif what == "extra-key":
        arrays[rng.choice(["frame.0.extra", "sampler.mystery.0", "frame.x.xyz", "weights"])] = np.zeros(3)
    elif what == "meta-field" and "meta" in arrays:
        meta = json.loads(str(arrays["meta"]))
        meta[rng.choice(["n_frames", "fps", "colour", "up", "n_srcs", "sh_limit", "bounds", "version"])] = \
            _meta_value(rng)
        arrays["meta"] = np.array(json.dumps(meta))
        expect = "any"
    elif what == "meta-nested" and "meta" in arrays:
        arrays["meta"] = np.array("[" * 100000 + "]" * 100000)
    elif what == "meta-not-json" and "meta" in arrays:
        arrays["meta"] = np.array(rng.choice(["{", "null", "\u0000", "1e999"]))
    elif what == "slot-huge" and runtime:
        for k in list(arrays):
            if k.endswith(".1"):
                arrays[k[:-2] + ".1" + "0" * rng.choice([8, 30])] = arrays.pop(k)
    elif what == "sh-in-one-slot" and runtime:
        arrays.pop("sampler.shs." + rng.choice(["0", "1"]))
    elif what == "empty":
        arrays = {}
    else:  # a variant that does not apply to this layout: give the key an extra axis instead
        arrays[key] = arrays[key][..., None, None]
    return _model_case(rng, cid, f"sem-{what}", "m.npz", zb.npz_bytes(arrays), expect, key,
                       values_only=what in ("nan", "inf", "negative"))


# -- .npz: compact colours (convert --compact) -----------------------------------------------------------------

def npz_compact(rng: random.Random, cid: str) -> Case:
    """A compact canonical model (uint8 colours + logit range, int8 SH + per-point scale) with one of its
    compact parts broken or strange."""
    from k4d_viewer.model.compact import compact_frame

    arrays = _base(rng, runtime=False)
    for index in range(2):
        prefix = f"frame.{index}."
        frame = compact_frame({k[len(prefix):]: v for k, v in arrays.items() if k.startswith(prefix)})
        arrays.update({prefix + k: v for k, v in frame.items()})
    index = rng.randrange(2)
    key = f"frame.{index}." + rng.choice(["rgbw_range", "sh_scale"])
    what = rng.choice(["nan", "inf", "overflow", "inverted", "zero", "negative", "drop", "wrong-shape",
                       "wrong-dtype", "codes-dtype"])
    expect, values_only = "error", False
    array = arrays[key]
    if what in ("nan", "inf", "overflow"):
        array = array.copy()
        array.reshape(-1)[rng.randrange(array.size)] = {"nan": np.nan, "inf": np.inf, "overflow": 6e4}[what]
        if what == "overflow" and key.endswith("rgbw_range"):
            array = array.astype(np.float32)
            array[-1] = 1e30
        values_only = True
    elif what == "inverted":
        array = array[::-1].copy() if key.endswith("rgbw_range") else -array
        expect = "any"
    elif what in ("zero", "negative"):
        array = np.zeros_like(array) if what == "zero" else -np.abs(array)
        expect = "any"
    elif what == "wrong-shape":
        array = array.reshape(-1)[:-1] if array.size > 1 else np.zeros((2, 2), array.dtype)
    elif what == "wrong-dtype":
        array = array.astype(rng.choice([np.int32, np.complex64, np.bool_]))
    elif what == "codes-dtype":
        codes = key.replace("rgbw_range", "rgbw").replace("sh_scale", "sh")
        arrays[codes] = arrays[codes].astype(np.int8 if arrays[codes].dtype == np.uint8 else np.uint8)
    if what == "drop":
        arrays.pop(key)
    else:
        arrays[key] = array
    return _model_case(rng, cid, f"compact-{what}", "m.npz", zb.npz_bytes(arrays), expect, key,
                       values_only=values_only)
