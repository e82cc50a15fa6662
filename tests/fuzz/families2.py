"""Hostile PLY files, camera JSON, rigs, flags and special files (see cases.py)."""

from __future__ import annotations

import json
import random

import numpy as np

from .cases import RENDER, RIG_EXTRI, RIG_INTRI, Case, camera_dict, flip_bits, overwrite, ply_bytes, truncate
from .families_bake import BAKE_DATA, BAKE_WEIGHTS

BASE_MODEL = "../base.npz"  # a valid model shared by the camera, rig and flag cases


def _ply_case(rng: random.Random, cid: str, kind: str, data: bytes, expect: str) -> Case:
    argv = rng.choice([["info", "f.ply"], ["convert", "f.ply", "-o", "out.npz"],
                       ["render", "f.ply", "-o", "out.png", *RENDER]])
    output = argv[argv.index("-o") + 1] if "-o" in argv else None
    return Case(cid, kind, argv, expect, output, files={"f.ply": data})


def ply_mutation(rng: random.Random, cid: str) -> Case:
    nrng = np.random.default_rng(rng.randrange(2**32))
    fmt = rng.choice(["binary_little_endian", "binary_big_endian", "ascii"])
    data = ply_bytes(nrng, fmt=fmt, coord=rng.choice(["float", "double"]), colour=rng.choice(["uchar", "ushort"]))
    header, _, body = data.partition(b"end_header\n")
    header += b"end_header\n"
    what = rng.choice(["truncate", "flip", "overwrite", "count-huge", "count-2^63", "count-zero", "count-neg",
                       "count-text", "type-change", "ascii-body", "binary-body", "colour-300", "colour-neg",
                       "word-value", "no-end", "non-ascii-header", "list-lie", "format-bad", "many-lines",
                       "nan-coord", "extra-bytes"])
    expect = "error"
    if what == "truncate":
        data = header + truncate(rng, body)
    elif what in ("flip", "overwrite"):
        data = header + (flip_bits if what == "flip" else overwrite)(rng, body)
        expect = "any"
    elif what.startswith("count"):
        count = {"count-huge": str(rng.choice([10**9, 10**12])), "count-2^63": str(2**63),
                 "count-zero": "0", "count-neg": "-5", "count-text": "lots"}[what]
        data = header.replace(b"element vertex 60", b"element vertex " + count.encode()) + body
    elif what == "type-change":
        data = header.replace(b"property float x", b"property uchar x").replace(
            b"property double x", b"property uchar x") + body
        expect = "error"
    elif what == "ascii-body":
        ascii_data = ply_bytes(nrng, fmt="ascii")
        data = header.replace(b"format ascii", b"format binary_little_endian") + ascii_data.partition(
            b"end_header\n")[2]
    elif what == "binary-body":
        data = ply_bytes(nrng, fmt="ascii").partition(b"end_header\n")[0] + b"end_header\n" + \
            ply_bytes(nrng).partition(b"end_header\n")[2]
        expect = "any"  # binary bytes that happen to parse as text are unlikely but not impossible
    elif what in ("colour-300", "colour-neg", "word-value", "nan-coord"):
        text = ply_bytes(nrng, fmt="ascii").decode()
        lines = text.split("\n")
        row = lines.index("end_header") + 1 + rng.randrange(60)
        values = lines[row].split()
        if what == "nan-coord":
            values[0] = rng.choice(["nan", "inf", "-inf"])
        else:
            values[3 + rng.randrange(3)] = {"colour-300": "300", "colour-neg": "-1", "word-value": "red"}[what]
        lines[row] = " ".join(values)
        data = "\n".join(lines).encode()
    elif what == "no-end":
        data = header.replace(b"end_header\n", b"")
    elif what == "non-ascii-header":
        data = header.replace(b"element vertex", b"element v\xffrtex") + body
    elif what == "list-lie":
        data = header.replace(b"end_header", b"element face 1000000000\nproperty list uchar int vertex_indices\n"
                                             b"end_header") + body
    elif what == "format-bad":
        data = header.replace(fmt.encode(), b"binary_middle_endian") + body
    elif what == "many-lines":
        data = b"ply\n" + b"comment x\n" * 20000 + header[4:] + body
    else:
        data = data + b"\x00" * rng.randint(1, 64)
        expect = "any" if fmt == "ascii" else "error"
    return _ply_case(rng, cid, f"ply-{what}", data, expect)


def camera_mutation(rng: random.Random, cid: str) -> Case:
    camera = camera_dict(None)
    what = rng.choice(["missing", "wrong-type", "nan", "huge-size", "zero-size", "negative-size", "bad-R",
                       "bad-K", "near-far", "not-object", "non-utf8", "nested", "truncated", "bigint", "empty",
                       "flip", "string-number", "far-inf"])
    expect = "error"
    text = None
    if what == "missing":
        camera.pop(rng.choice(["H", "W", "K", "R", "T"]))
    elif what == "wrong-type":
        camera[rng.choice(["H", "W", "K", "R", "T", "n", "f"])] = rng.choice(["x", None, {}, [[]], True])
    elif what == "nan":
        text = json.dumps(camera).replace("20.0", rng.choice(["NaN", "Infinity", "-Infinity"]), 1)
    elif what == "huge-size":
        camera[rng.choice(["H", "W"])] = rng.choice([1e300, 10**9, 65536, 10**400])
    elif what == "zero-size":
        camera[rng.choice(["H", "W"])] = 0
    elif what == "negative-size":
        camera[rng.choice(["H", "W"])] = -16
    elif what == "bad-R":
        camera["R"] = rng.choice([[[1, 0, 0], [0, 1, 0], [0, 0, -1]], [[2, 0, 0], [0, 1, 0], [0, 0, 1]],
                                  [[0, 0, 0]] * 3])
    elif what == "bad-K":
        camera["K"] = rng.choice([[[0, 0, 0], [0, 0, 0], [0, 0, 1]], [[-5, 0, 1], [0, 5, 1], [0, 0, 1]],
                                  [[1, 2], [3, 4]], [1e308, 0, 0]])
    elif what == "near-far":
        camera["n"], camera["f"] = rng.choice([(5, 1), (0, 1), (-1, 2), (1, 1)])
    elif what == "far-inf":
        text = json.dumps(camera).replace("50.0", "Infinity")
    elif what == "not-object":
        camera = rng.choice([[1, 2], "cam", 3, None])
    elif what == "non-utf8":
        pass
    elif what == "nested":
        text = "[" * 200000 + "]" * 200000
    elif what == "truncated":
        text = json.dumps(camera)[:rng.randrange(1, 60)]
    elif what == "bigint":
        text = json.dumps(camera).replace("16", "9" * 5000, 1)
    elif what == "empty":
        text = ""
    elif what == "flip":
        expect = "any"
    else:
        camera["H"] = "16"
    if what == "non-utf8":
        data = json.dumps(camera).encode().replace(b'"H"', b'"\xff\xfeH"')
    elif what == "flip":
        data = flip_bits(rng, json.dumps(camera).encode(), 3)
    else:
        data = (text if text is not None else json.dumps(camera)).encode()
    argv = ["render", BASE_MODEL, "--camera", "cam.json", "-o", "out.png", "--device", "cpu"]
    if what not in ("huge-size",):
        argv += ["--size", "24x16"]
    return Case(cid, f"camera-{what}", argv, expect, "out.png", files={"cam.json": data})


def rig_mutation(rng: random.Random, cid: str) -> Case:
    intri, extri = RIG_INTRI, RIG_EXTRI
    what = rng.choice(["alias-bomb", "nested", "non-utf8", "no-names", "size-zero", "far-inf", "missing-K",
                       "bad-matrix", "matrix-huge", "truncate", "flip", "tabs", "missing-file", "text-size"])
    expect = "error"
    if what == "alias-bomb":
        lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x]"]
        lines += [f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 9) + "]" for i in range(1, 12)]
        intri = intri + "\n".join(lines) + "\n"
    elif what == "nested":
        intri = intri + "deep: " + "[" * 50000 + "]" * 50000 + "\n"
    elif what == "non-utf8":
        intri = intri.replace('"00"', '"\udcff0"')
    elif what == "no-names":
        intri = intri.replace("names:", "nomen:")
    elif what == "size-zero":
        intri = intri.replace("H_00: 16", "H_00: 0")
    elif what == "far-inf":
        extri = extri + "f_00: .inf\nn_00: 0.1\n"
    elif what == "missing-K":
        intri = intri.replace("K_00", "K_01")
    elif what == "bad-matrix":
        intri = intri.replace("rows: 3\n  cols: 3\n  dt: d\n  data: [ 20.0", "rows: 3\n  cols: 3\n  dt: d\n"
                                                                               "  data: [ abc")
    elif what == "matrix-huge":
        intri = intri.replace("rows: 3\n  cols: 3", "rows: 100000000\n  cols: 100000000", 1)
    elif what == "truncate":
        intri = intri[:rng.randrange(len(intri))]
        expect = "any"
    elif what == "flip":
        intri = flip_bits(rng, intri.encode(), 4).decode("latin1")
        expect = "any"
    elif what == "tabs":
        intri = intri.replace("  ", "\t")
    elif what == "text-size":
        intri = intri.replace("H_00: 16", "H_00: sixteen")
    files = {"rig/intri.yml": intri.encode("utf-8", errors="surrogateescape"), "rig/extri.yml": extri.encode()}
    if what == "missing-file":
        files.pop("rig/extri.yml")
    argv = ["render", BASE_MODEL, "--view", "0", "--cameras", "rig", "-o", "out.png", *RENDER]
    if rng.random() < 0.3:
        argv = ["convert", BASE_MODEL, "--cameras", "rig", "-o", "out.npz"]
    return Case(cid, f"rig-{what}", argv, expect, argv[argv.index("-o") + 1], files=files)


FLAG_VALUES = {
    "render": {
        "--size": ["0x0", "abc", "-5x10", "99999x99999", "1e3x10", "x", "", "10x10x10"],
        "--frame": ["1.5", "-1", "99", "abc", "", str(2**70)],
        "--frames": ["", "x", "1:2:3", "5:1", "99:100", "a:b", ":" * 100],
        "--layers": ["0", "33", "abc", "-1", "nan"],
        "--radius-scale": ["inf", "nan", "0", "-1", "abc"],
        "--alpha-threshold": ["nan", "-1", "inf"],
        "--sh-limit": ["nan", "-1", "inf"],
        "--sh-degree": ["4", "-1", "x"],
        "--n-srcs": ["0", "-3", "x"],
        "--bg": ["1,2", "a,b,c", "nan,0,0", "", "2,0,0", "0,0,0,0"],
        "--up": ["", "w", "++y", "yy"],
        "--device": ["meta", "mps", "cuda:99", "xla", "", "cpu:abc"],
        "--backend": ["vulkan", ""],
        "--mode": ["normals", ""],
        "--camera": ["missing.json", "."],
        "--view": ["-1", "99", "x"],
        "-o": ["f%d_%d.png", "f%z.png", "f{frame:q}.png", "{other}.png", "out.jpg", ".", "nodir/out.png",
               "x" * 300 + ".png", "/proc/out.png", "{frame}/x.png", "%s%s.png"],
    },
    "info": {"--json": ["x"], "--check": ["x"]},
    "convert": {
        "--fps": ["0", "nan", "-1", "inf", "1e9"],
        "--radius-scale": ["inf", "nan", "0", "-2"],
        "--up": ["", "q"],
        "--units": ["furlongs"],
        "--voxel-size": ["nan", "-1", "0", "inf"],
        "-o": ["out.txt", ".", "nodir/out.npz", "x" * 300 + ".npz"],
    },
    "view": {"--host-cache": ["lots", "-1G", "nanG", "1e999G"], "--gpu-cache": ["x"], "--frame": ["99", "-1"],
             "--window": ["0x0"], "--resolution": ["8k", "8x8", "1e3x2", "-640x480", "99999x9"],
             "--screenshot-dir": ["/nonexistent"]},
    "serve": {"--host": ["", "300.1.1.1", "192.0.2.1", "::zz", "a" * 300], "--port": ["-1", "70000", "x"],
              "--max-size": ["4", "99999", "x"], "--layers": ["0", "nan"]},
    "bake": {
        "--device": ["meta", "tpu", "cuda:99", "", "cpu:abc"],
        "--preset": ["no_such_model", "", "../x"],
        "--frames": ["", "x", "5:1", "99:100"],
        "--ratio": ["nan", "0", "-1", "5", "a,b", "0.5,0.5,0.5,0.5,0.5"],  # the base dataset has 3 cameras
        "--t-end": ["0", "-1", "nan"],
        "--n-srcs": ["0", "-2"],
        "--layout": ["weird", ""],
        "--data": ["missing", ".", "../base.npz"],
        "-o": ["out.txt", ".", "nodir/out.npz", "x" * 300 + ".npz", BAKE_WEIGHTS],
    },
}


def flag_case(rng: random.Random, cid: str) -> Case:
    command = rng.choice(sorted(FLAG_VALUES))
    flag = rng.choice(sorted(FLAG_VALUES[command]))
    value = rng.choice(FLAG_VALUES[command][flag])
    if command == "render":
        argv = ["render", BASE_MODEL, *RENDER]
        argv = [a for a in argv if a not in ("--size", "24x16")] if flag == "--size" else argv
        argv = [a for a in argv if a not in ("--device", "cpu")] if flag == "--device" else argv
        argv += [flag, value] if flag == "-o" else [flag, value, "-o", "out.png"]
        output = value if flag == "-o" else "out.png"
    elif command == "convert":
        argv = ["convert", BASE_MODEL, flag, value] + ([] if flag == "-o" else ["-o", "out.npz"])
        if flag in ("--units", "--voxel-size"):
            argv[1] = "../base.ply"
        output = value if flag == "-o" else "out.npz"
    elif command == "info":
        argv, output = ["info", BASE_MODEL, flag, value], None
    elif command == "serve":  # refused before the server starts (an accepted value would hang the case)
        argv, output = ["serve", BASE_MODEL, flag, value], None
    elif command == "bake":  # everything else about the bake valid
        argv = ["bake", BAKE_WEIGHTS, "--device", "cpu", flag, value]
        argv += [] if flag == "--data" else ["--data", BAKE_DATA]
        argv += [] if flag == "-o" else ["-o", "out.npz"]
        output = value if flag == "-o" else "out.npz"
    else:
        argv, output = ["view", BASE_MODEL, flag, value], None
    if rng.random() < 0.1:  # a mistyped command
        argv[0] = rng.choice(["rendr", "infoo", "conver", "veiw"])
    return Case(cid, f"flag-{command}{flag}", argv, "error", output)


def special_file_case(rng: random.Random, cid: str) -> Case:
    what = rng.choice(["fifo", "devzero", "dir", "socket", "devnull"])
    role = rng.choice(["model", "camera", "ply", "rig"])
    name = {"model": "m.npz", "camera": "cam.json", "ply": "f.ply", "rig": "rig/intri.yml"}[role]
    if role == "model":
        argv = ["info", name]
    elif role == "camera":
        argv = ["render", BASE_MODEL, "--camera", name, "-o", "out.png", *RENDER]
    elif role == "ply":
        argv = ["convert", name, "-o", "out.npz"]
    else:
        argv = ["render", BASE_MODEL, "--view", "0", "--cameras", "rig", "-o", "out.png", *RENDER]
    files = {"rig/extri.yml": RIG_EXTRI.encode()} if role == "rig" else {}
    return Case(cid, f"special-{what}-{role}", argv, "error", "out.png" if "out.png" in argv else
                ("out.npz" if "out.npz" in argv else None), files=files, special=f"{what}:{name}")



def path_file_case(rng: random.Random, cid: str) -> Case:
    """Viewer and nerfstudio path files with one thing wrong."""
    key = {"camera": camera_dict(None), "t": 0}
    viewer = {"format": "k4d-viewer-path", "version": 1, "fps": 10, "loop": False, "tension": 0.0,
              "size": [24, 16], "keyframes": [key, {**key, "t": 1}]}
    c2w = [1.0, 0, 0, 0, 0, 1.0, 0, 0, 0, 0, 1.0, 3.0, 0, 0, 0, 1.0]
    nerfstudio = {"render_width": 24, "render_height": 16, "fps": 10,
                  "camera_path": [{"camera_to_world": c2w, "fov": 50, "aspect": 1.5, "render_time": 0.0}]}
    data = viewer if rng.random() < 0.5 else nerfstudio
    what = rng.choice(["drop", "type", "nan", "empty", "huge", "nested", "rotation", "render-time", "fps-zero",
                       "non-utf8", "truncate", "frames-huge"])
    text = None
    if what == "drop":  # a required key
        data.pop(rng.choice(["format", "version", "keyframes"] if "keyframes" in data else
                            ["render_width", "render_height", "camera_path"]))
    elif what == "type":  # a wrong type or range (but -1 is a valid tension, True a valid loop, size optional)
        name = rng.choice(sorted(data))
        valid = {"tension": (int, -1), "loop": (bool, True), "size": (type(None), None)}.get(name)
        data[name] = rng.choice([v for v in ("x", None, {}, [], True, -1) if (type(v), v) != valid])
    elif what == "nan":
        text = json.dumps(data).replace("10", "NaN", 1)
    elif what == "empty":
        data["keyframes" if "keyframes" in data else "camera_path"] = []
    elif what == "huge":
        data["size" if "size" in data else "render_width"] = [10**9, 10] if "size" in data else 10**9
    elif what == "nested":
        text = "{\"keyframes\": " + "[" * 100000 + "]" * 100000 + "}"
    elif what == "rotation":
        if "keyframes" in data:
            data["keyframes"][1]["camera"]["R"] = [[2, 0, 0], [0, 1, 0], [0, 0, 1]]
        else:
            data["camera_path"][0]["camera_to_world"] = [1.0] * 16
    elif what == "render-time" and "camera_path" in data:
        data["camera_path"][0]["render_time"] = rng.choice([2.0, -1.0, float("inf")])
    elif what == "fps-zero":
        data["fps"] = 0
    elif what == "non-utf8":
        text = json.dumps(data).replace('"fps"', '"\udcfffps"')
    elif what == "truncate":
        text = json.dumps(data)[: rng.randrange(1, 40)]
    else:
        data["fps"] = 1000
        if "keyframes" in data:
            data["default_duration"] = 3600
            for k in data["keyframes"]:
                k["duration"] = 3600
        else:
            data["render_width"] = 0
    raw = (text if text is not None else json.dumps(data)).encode("utf-8", errors="surrogateescape")
    output = rng.choice(["out.mp4", "out.png"])
    return Case(cid, f"path-{what}", ["render", BASE_MODEL, "--path", "p.json", "-o", output, "--device", "cpu"],
                "error", output, files={"p.json": raw})


def job_file_case(rng: random.Random, cid: str) -> Case:
    """Batch job files (TOML) with one thing wrong: all must stop before any work with one line."""
    good = 'model = "../base.npz"\noutput = "out.mp4"\npreset = "orbit"\nsize = "24x16"\nseconds = 1\n'
    what = rng.choice(["no-jobs", "bad-toml", "unknown-key", "bad-preset", "both", "neither", "missing-model",
                       "bad-size", "bad-setting", "nan", "frames", "non-utf8", "nested", "duplicate-output",
                       "bad-codec", "huge-fps", "no-output"])
    text = f"[[job]]\n{good}"
    if what == "no-jobs":
        text = 'title = "x"\n'
    elif what == "bad-toml":
        text = "[[job]\n" + good
    elif what == "unknown-key":
        text += "colour = 3\n"
    elif what == "bad-preset":
        text = text.replace('"orbit"', '"twirl"')
    elif what == "both":
        text += 'path = "p.json"\n'
    elif what == "neither":
        text = text.replace('preset = "orbit"\n', "")
    elif what == "missing-model":
        text = text.replace("../base.npz", "nope.npz")
    elif what == "bad-size":
        text = text.replace('"24x16"', rng.choice(['"0x0"', '"abc"', "24", '"99999x2"']))
    elif what == "bad-setting":
        text += rng.choice(["layers = 99\n", "radius-scale = -1\n", 'bg = "2,0,0"\n', "sh-degree = 9\n"])
    elif what == "nan":
        text = text.replace("seconds = 1", rng.choice(["seconds = nan", "seconds = inf", "seconds = -1"]))
    elif what == "frames":
        text += rng.choice(['frames = "5:2"\n', 'frames = "x"\n', "frames = 3\n", 'frames = "900:1000"\n'])
    elif what == "non-utf8":
        text = text.replace("orbit", "orb\udcfft")
    elif what == "nested":
        text += "x = " + "[" * 100000 + "]" * 100000 + "\n"
    elif what == "duplicate-output":
        text += f"[[job]]\n{good}"
    elif what == "bad-codec":
        text += rng.choice(['codec = "divx"\n', 'codec = "h264"\n']).replace("h264", "vp8")
    elif what == "huge-fps":
        text += "fps = 1000\n".replace("seconds = 1", "") + "play = 3\n"
    else:
        text = text.replace('output = "out.mp4"\n', "")
    data = text.encode("utf-8", errors="surrogateescape")
    return Case(cid, f"job-{what}", ["batch", "jobs.toml", "--no-ray"], "error", "out.mp4", files={"jobs.toml": data})
