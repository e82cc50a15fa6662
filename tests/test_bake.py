"""The bake of released 4K4D weights: the grid encoding and K-Planes pinned to the shared tiny-cuda-nn vectors,
a synthetic 1599.npz baked and compared with an independent naive implementation, videos against images,
resume, the 4K4D layout, and bad input."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import numpy as np
import pytest
import torch
from k4d_viewer.bake.grid import GridConfig, KPlanes, encode
from k4d_viewer.cli import main
from synthetic_4k4d import write_dataset, write_weights

VECTORS = "bake/tcnn-grid-vectors.json"


def vector_params(seed: int, n: int) -> torch.Tensor:
    """The vectors' parameters: float32(((i·2654435761 + s·40503) mod 2^32) / 2^32 − 0.5)."""
    i = np.arange(n, dtype=np.uint64)
    value = ((i * np.uint64(2654435761) + np.uint64(seed * 40503)) % np.uint64(2 ** 32)).astype(np.float64)
    return torch.from_numpy((value / 2 ** 32 - 0.5).astype(np.float32))


@pytest.fixture(scope="module")
def vectors(request):
    path = request.config.rootpath.parent / "shared" / "data" / VECTORS
    if not path.is_file():
        pytest.skip(f"{path} missing")
    return json.loads(path.read_text())


def test_grid_layout_matches_tcnn(vectors):
    config, expected = GridConfig(), vectors["config"]
    assert config.n_params == expected["n_params"]
    assert [config.resolution(level) for level in range(4)] == expected["level_resolutions"]
    assert config.table_sizes() == expected["level_entries"]
    assert config.offsets()[:-1] == expected["level_offsets_entries"]


@pytest.mark.parametrize("half", [False, True])
def test_grid_encoding_is_bit_exact(vectors, half):
    grid = vectors["grid"]
    params = vector_params(grid["param_seed"], GridConfig().n_params)
    out = encode(params, torch.tensor(grid["inputs"], dtype=torch.float32), half=half).float()
    key = "outputs_fp16_params_half_accumulation" if half else "outputs_fp32_params"
    assert torch.equal(out, torch.tensor(grid[key], dtype=torch.float32))  # inputs outside [0, 1] included


def test_kplanes_is_bit_exact(vectors):
    k = vectors["kplanes"]
    planes = [vector_params(seed, GridConfig().n_params) for seed in k["param_seeds"]]
    kplanes = KPlanes(torch.tensor(k["bounds"]), planes[:3], planes[3:])
    out = kplanes(torch.tensor(k["xyz"], dtype=torch.float32), k["t"])
    assert torch.equal(out, torch.tensor(k["outputs"], dtype=torch.float32))


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory):
    root = tmp_path_factory.mktemp("synthetic")
    weights = write_weights(root / "trained_model" / "4k4d_my_377" / "1599.npz", n_points=400, n_frames=3)
    data = write_dataset(root / "data", n_views=4, n_frames=3, size=(64, 80))
    return weights, data


def bake(weights, data, out, *flags) -> int:
    return main(["bake", str(weights), "--data", str(data), "-o", str(out), *flags])


def test_bake_matches_the_naive_implementation(synthetic, tmp_path):
    from naive_bake import bake_frame

    weights, data = synthetic
    out = tmp_path / "runtime.npz"
    assert bake(weights, data, out, "--layout", "4k4d", "--device", "cpu") == 0
    baked = np.load(out)
    for frame in (0, 2):
        naive = bake_frame(weights, data, frame, t_end=200, legacy=True)
        get = lambda name, frame=frame: baked[f"sampler.{name}.{frame}"].astype(np.float64)  # noqa: E731
        assert np.array_equal(get("pcds"), naive["pcds"])
        for name in ("rads", "occs", "shs"):
            largest = np.maximum(np.abs(get(name)), np.abs(naive[name])).astype(np.float16)
            ulp = np.spacing(largest).astype(np.float64)  # fp16 rounding of the same value: at most one step,
            # plus fp32 arithmetic (the bake runs in fp32, as upstream) on outputs that cancel to near zero
            assert np.all(np.abs(get(name) - naive[name]) <= ulp + 1e-5), name
        rgbws = get("rgbws")
        assert np.abs(rgbws[..., :3] - naive["rgbws"][..., :3]).max() <= 2 / 255
        assert np.abs(rgbws[..., 3] - naive["rgbws"][..., 3]).max() <= 2e-2
        assert np.abs(get("cents") - naive["cents"]).max() <= 2e-3  # fp16 storage of metre values


def test_bake_from_videos_matches_images_within_codec_error(synthetic, tmp_path):
    weights, data = synthetic
    videos = tmp_path / "minimal"
    videos.mkdir()
    for name in ("intri.yml", "extri.yml"):
        shutil.copy(data / name, videos / name)
    shutil.copytree(data / "videos_libx265", videos / "videos_libx265")
    a, b = tmp_path / "images.npz", tmp_path / "videos.npz"
    assert bake(weights, data, a, "--layout", "4k4d", "--frames", "0:2") == 0
    assert bake(weights, videos, b, "--layout", "4k4d", "--frames", "0:2") == 0
    first, second = np.load(a), np.load(b)
    assert sorted(first.files) == sorted(second.files)
    for key in first.files:
        x, y = first[key].astype(np.float64), second[key].astype(np.float64)
        if ".rgbws." in key:
            assert np.abs(x[..., :3] - y[..., :3]).max() <= 6 / 255, key   # YUV round trip of the frames
            assert np.abs(x[..., 3] - y[..., 3]).max() <= 0.1, key
        else:
            assert np.array_equal(x, y), key


def test_interrupted_bake_resumes_and_plays(synthetic, tmp_path, monkeypatch, capsys):
    from k4d_viewer.bake import bake as bake_module
    from k4d_viewer.model import open_model

    weights, data = synthetic
    out = tmp_path / "model.npz"
    original, calls = bake_module.Baker.frame, []

    def failing(self, frame, progress=lambda: None, next_frame=None):
        if calls:
            raise KeyboardInterrupt  # stopped during the second frame
        calls.append(frame)
        return original(self, frame, progress, next_frame)

    monkeypatch.setattr(bake_module.Baker, "frame", failing)
    assert bake(weights, data, out) != 0  # Ctrl+C: one line, and the finished frame stays
    assert not out.exists() and (tmp_path / "model.npz.k4d-bake" / "frame_000000.npz").exists()
    monkeypatch.setattr(bake_module.Baker, "frame", original)
    assert bake(weights, data, out) == 2  # an unfinished bake is not silently restarted
    assert "--resume" in capsys.readouterr().err
    assert bake(weights, data, out, "--resume") == 0
    assert "1 frames already baked" in capsys.readouterr().out
    assert not (tmp_path / "model.npz.k4d-bake").exists()
    model = open_model(out)
    assert model.info.n_frames == 3 and model.info.n_views == 4
    model.close()
    assert main(["render", str(out), "--frame", "1", "--size", "64x48", "-o", str(tmp_path / "f.png")]) == 0


@pytest.mark.parametrize("case, message", [
    ("missing-key", "missing a key the bake needs"),
    ("old-names", None),
    ("unknown-preset", "unknown preset"),
    ("missing-image", "missing (no image"),
    ("bad-mask", "mask is"),
    ("not-an-image", "not an image file"),
    ("truncated-image", "not a readable image"),
    ("nan-weights", "contains NaN"),
    ("nan-camera", "entry 'K_00' holds NaN or Inf"),
    ("device-absent", "--device: 'cuda:99'"),
    ("device-unknown", "--device: 'tpu'"),
])
def test_bad_input_is_one_line(synthetic, tmp_path, case, message):
    weights, data = synthetic
    flags = []
    if case in ("missing-key", "old-names", "nan-weights"):
        with np.load(weights) as source:
            arrays = {k: source[k] for k in source.files}
        if case == "missing-key":
            del arrays["sampler.geo_regressor.mlp.linears.1.weight"]
        elif case == "nan-weights":  # would bake into NaN radii that the viewer then refuses
            arrays["sampler.geo_regressor.mlp.linears.0.weight"][3, 2] = np.nan
        else:  # an older release: colour MLPs without '.mlp.', index pairs absent
            for key in [k for k in arrays if ".rgb_mlp.mlp." in k or ".sh_mlp.mlp." in k]:
                arrays[key.replace(".mlp.linears", ".linears")] = arrays.pop(key)
            for name in ("xy", "xz", "yz"):
                del arrays[f"sampler.xyz_embedder.{name}"]
        weights = tmp_path / "4k4d_my_377" / "1599.npz"
        weights.parent.mkdir()
        np.savez(weights, **arrays)
    elif case == "unknown-preset":
        flags = ["--preset", "no_such_model"]
    elif case.startswith("device"):
        flags = ["--device", "cuda:99" if case == "device-absent" else "tpu"]
    else:
        copy = tmp_path / "data"
        shutil.copytree(data, copy, ignore=shutil.ignore_patterns("videos_libx265"))
        if case == "missing-image":
            (copy / "images" / "02" / "000001.png").unlink()
        elif case == "not-an-image":  # frame 0: the bake stops before any frame is done and leaves nothing
            (copy / "images" / "01" / "000000.png").write_bytes(b"not a PNG")
        elif case == "nan-camera":  # would bake a frame with views from nowhere
            intri = copy / "intri.yml"
            lines = intri.read_text().splitlines()
            at = lines.index("K_00: !!opencv-matrix") + 4
            lines[at] = "  data: [.nan, " + lines[at].split(", ", 1)[1]  # fx is NaN
            intri.write_text("\n".join(lines) + "\n")
        elif case == "truncated-image":
            image = copy / "images" / "03" / "000000.png"
            image.write_bytes(image.read_bytes()[:200])
        else:
            from PIL import Image

            Image.new("L", (10, 10)).save(copy / "masks" / "01" / "000000.png")
        data = copy
    out = tmp_path / "out.npz"
    result = subprocess.run([sys.executable, "-m", "k4d_viewer.cli", "bake", str(weights), "--data", str(data),
                             "-o", str(out), *flags], capture_output=True, text=True, timeout=300)
    if message is None:
        assert result.returncode == 0, result.stderr
        return
    assert result.returncode == 2 and message in result.stderr, result.stderr
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    assert not out.exists()
    kept = sorted(p.name for p in (tmp_path / "out.npz.k4d-bake").glob("frame_*.npz"))
    if case == "missing-image":  # frame 1's image: frame 0 was done and stays for --resume
        assert kept == ["frame_000000.npz"]
    else:  # stopped before any frame was done: nothing left behind
        assert not (tmp_path / "out.npz.k4d-bake").exists()


def test_weights_file_in_the_viewer_says_how_to_bake(synthetic, capsys):
    weights, _ = synthetic
    assert main(["info", str(weights)]) == 0
    printed = capsys.readouterr().out
    assert "k4d-viewer bake" in printed and "--data" in printed


def test_viewing_weights_with_data_bakes_as_frames_are_shown(synthetic, tmp_path):
    """k4d-viewer 1599.npz --data DATA: frames bake when first shown; the finished bake is kept beside the
    weights and the next open (with or without --data) shows it at once."""
    from k4d_viewer.bake.live import BakingModel, baked_path
    from k4d_viewer.commands.common import load_model
    from k4d_viewer.session import ViewerSession

    weights, data = synthetic
    copy = tmp_path / "4k4d_my_377" / "1599.npz"
    copy.parent.mkdir()
    shutil.copy(weights, copy)
    # a single frame rendered from the command line bakes only that frame
    assert main(["render", str(copy), "--data", str(data), "--frame", "1", "--size", "64x48",
                 "-o", str(tmp_path / "one.png")]) == 0
    store = baked_path(copy).with_name(baked_path(copy).name + ".k4d-bake")
    assert sorted(p.name for p in store.glob("frame_*.npz")) == ["frame_000001.npz"]
    model = load_model(copy, data=data)
    assert isinstance(model, BakingModel) and "baking" in model.info.notes[0]
    session = ViewerSession(model, backend="torch", gl=False)
    statuses = [session.frame_status(i) for i in range(3)]
    assert session.frame_statuses() == statuses  # what the timeline draws: every frame in one pass
    for index in range(3):  # the timeline plays through every frame: each bakes in the background
        session.seek(index)
        frame = session.loader.wait(index)
        assert frame.n_points == 400 and frame.rgbw.shape == (4, 400, 4)
    session.close()
    model.close()
    assert statuses[2] == "pending" and baked_path(copy).exists() and not store.exists()  # shown as not baked yet
    again = load_model(copy)  # no --data needed any more
    assert again.info.kind == "k4d-viewer canonical" and again.info.n_frames == 3
    again.close()


def test_foreground_background_model(synthetic, tmp_path):
    """ENeRF-Outdoor / dance3-style models: a foreground and a background sampler; the background's geometry
    and SH are baked once (t = 0), its colours for every frame from the whole, uncropped images."""
    from k4d_viewer.model import open_model
    from synthetic_4k4d import weights_arrays

    _, data = synthetic
    arrays = weights_arrays(300, 3, seed=5, prefix="sampler.fg_sampler.")
    background = weights_arrays(200, 1, seed=6, prefix="sampler.bg_sampler.")
    arrays.update(background)
    weights = tmp_path / "4k4d_actor1_4" / "1599.npz"
    weights.parent.mkdir()
    np.savez(weights, **arrays)
    runtime, canonical = tmp_path / "runtime.npz", tmp_path / "canonical.npz"
    assert bake(weights, data, runtime, "--layout", "4k4d") == 0
    keys = set(np.load(runtime).files)
    assert "sampler.bg_sampler.pcds.0" in keys and "sampler.bg_sampler.pcds.1" not in keys
    assert {f"sampler.bg_sampler.rgbws.{f}" for f in range(3)} <= keys
    assert {f"sampler.fg_sampler.shs.{f}" for f in range(3)} <= keys
    model = open_model(runtime)
    assert model.info.points_per_frame == [500, 500, 500]
    model.close()
    assert bake(weights, data, canonical) == 0
    model = open_model(canonical)
    frame = model.read_frame(2)
    assert frame.n_points == 500 and frame.rgbw.shape == (4, 500, 4)
    model.close()


def test_ratio_resizes_with_opencv_area_and_scales_intrinsics(synthetic):
    from dataclasses import replace

    import cv2
    from k4d_viewer.bake.dataset import Dataset
    from k4d_viewer.bake.presets import PRESETS

    _, data = synthetic
    preset = replace(PRESETS["my_377"], ratio=(0.5,), crop=False)
    dataset = Dataset(data, preset, [])
    raw, _ = dataset.raw(1, 0)
    image, _, camera = dataset.view(1, 0)
    height, width = raw.shape[:2]
    assert image.shape[:2] == (int(height * 0.5), int(width * 0.5))
    assert np.array_equal(image, cv2.resize(raw, (int(width * 0.5), int(height * 0.5)),
                                            interpolation=cv2.INTER_AREA))
    original = dataset.cameras[1].K
    assert np.allclose(camera.K[0], original[0] * 0.5) and np.allclose(camera.K[1], original[1] * 0.5)
    dataset.close()


def test_aligned_cameras_centre_the_rig():
    """use_aligned_cameras (spec §4.2): cameras looking at one point are re-expressed around it; the rig's
    shape (distances between cameras) is unchanged."""
    from k4d_viewer.bake.dataset import SourceCamera, align
    from synthetic_4k4d import ring_cameras

    offset = np.array([1.0, -2.0, 0.5])
    cameras = []
    for c in ring_cameras(8, 64, 80)[:5]:  # half a ring, as real rigs: the mean viewing direction is defined
        tilt = c["R"]  # the ring looks at the origin; move the whole rig by ``offset``
        cameras.append(SourceCamera(c["name"], c["K"], tilt, c["T"] - tilt @ offset, np.zeros(5)))
    aligned = align(cameras)
    centres = np.array([c.centre for c in aligned])
    before = np.array([c.centre for c in cameras])
    assert np.allclose(np.linalg.norm(centres[:, None] - centres[None], axis=-1),
                       np.linalg.norm(before[:, None] - before[None], axis=-1), atol=1e-9)
    # the point every camera looks at becomes the origin
    assert np.allclose([np.linalg.norm(c.centre) for c in aligned], np.linalg.norm(before[0] - offset), atol=1e-6)


def test_a_video_without_a_video_stream_is_one_line(tmp_path):
    """A camera's .mp4 that holds only sound (or whose stream table a bad byte destroyed)."""
    import wave

    from k4d_viewer.bake.dataset import VideoReader
    from k4d_viewer.errors import InputError

    path = tmp_path / "00.mp4"
    with wave.open(str(path), "wb") as sound:  # a WAV file under a video's name: it opens, with no video stream
        sound.setnchannels(1)
        sound.setsampwidth(2)
        sound.setframerate(8000)
        sound.writeframes(b"\0\0" * 800)
    reader = VideoReader(path)
    with pytest.raises(InputError, match="00.mp4: holds no video stream"):
        reader.frame(0)
    reader.close()
