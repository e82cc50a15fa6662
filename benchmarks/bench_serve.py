"""Browser-viewer benchmark: what ``k4d-viewer serve`` delivers to a browser over localhost.

A client speaking the browser's own protocol (viser's websocket messages) connects to a real ``serve``
process, sends camera moves as a browser does during a drag, and times the images that come back:
- input-to-image latency: from a camera message sent at rest to the first image after it (rendered at half
  size while the camera moves) and to the full-size image that follows when it stops;
- frames/s delivered while the camera moves continuously (a camera message every 10 ms, as a fast drag).
At 1280x720 and 1920x1080. Results go to benchmarks/results/<device>_serve.json.

    python benchmarks/bench_serve.py                          # the built-in demo, backend auto
    python benchmarks/bench_serve.py --scene reference        # the 262,144-point reference figure
"""

from __future__ import annotations

import argparse
import io
import json
import math
import os
import platform
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import msgspec
import numpy as np
import viser
import zstandard
from PIL import Image
from viser._messages import ViewerCameraMessage
from websockets.sync.client import connect

SIZES = [(1280, 720), (1920, 1080)]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def reference_model(folder: Path) -> Path:
    sys.path.insert(0, str(Path(__file__).parent))
    import torch
    from k4d_viewer.model import save_canonical
    from scene import reference_frame

    frame = reference_frame(device="cpu")
    arrays = {k: v.numpy() for k, v in frame.__dict__.items() if isinstance(v, torch.Tensor)}
    path = folder / "reference.npz"
    save_canonical(path, [arrays], colour="ibr", up="+y")
    return path


class Client:
    """The browser's side of the protocol: camera messages out, background images in."""

    def __init__(self, url: str) -> None:
        self.socket = connect(url, subprotocols=[f"viser-v{viser.__version__}"], max_size=None, open_timeout=30)
        self.images: list[tuple[float, int, int]] = []  # (arrival time, width, height)
        self.lock = threading.Lock()
        self._thread = threading.Thread(target=self._receive, daemon=True)
        self._thread.start()

    def _receive(self) -> None:
        decompress = zstandard.ZstdDecompressor()
        try:
            while True:
                raw = self.socket.recv()
                if not isinstance(raw, bytes) or len(raw) < 16:
                    continue
                inner = int.from_bytes(raw[:8], "little")
                size = int.from_bytes(raw[8:16], "little")
                payload = msgspec.msgpack.decode(decompress.decompress(raw[16:16 + size], max_output_size=inner))
                for message in payload.get("messages", []):
                    if (isinstance(message, dict) and message.get("type") == "BackgroundImageMessage"
                            and message.get("rgb_data")):
                        width, height = Image.open(io.BytesIO(message["rgb_data"])).size
                        with self.lock:
                            self.images.append((time.perf_counter(), width, height))
        except Exception:  # noqa: BLE001 - the socket closed
            return

    def send_camera(self, angle: float, size: tuple[int, int], distance: float, target) -> None:
        width, height = size
        eye = np.array([math.sin(angle) * distance, 0.0, math.cos(angle) * distance]) + target
        forward = (target - eye) / np.linalg.norm(target - eye)
        down = np.array([0.0, -1.0, 0.0])
        down -= forward * (down @ forward)
        down /= np.linalg.norm(down)
        right = np.cross(down, forward)
        c2w = np.stack([right, down, forward], axis=1)
        from scipy.spatial.transform import Rotation

        x, y, z, w = Rotation.from_matrix(c2w).as_quat()
        message = ViewerCameraMessage(wxyz=(w, x, y, z), position=tuple(eye), fov=math.radians(40), near=0.01,
                                      far=100.0, image_height=height, image_width=width, look_at=tuple(target),
                                      up_direction=(0.0, 1.0, 0.0))
        self.socket.send(msgspec.msgpack.encode(message.as_serializable_dict()))

    def count(self) -> int:
        with self.lock:
            return len(self.images)

    def wait_image(self, after: int, full: tuple[int, int] | None, timeout: float = 30.0) -> tuple[float, int, int]:
        deadline = time.perf_counter() + timeout
        while time.perf_counter() < deadline:
            with self.lock:
                for item in self.images[after:]:
                    if full is None or (item[1], item[2]) == full:
                        return item
            time.sleep(0.001)
        raise TimeoutError("no image arrived")


def bench_size(client: Client, size: tuple[int, int], target, distance: float, repeats: int) -> dict:
    client.send_camera(0.0, size, distance, target)
    client.wait_image(0, size, 120)
    first, full = [], []
    for i in range(repeats):
        time.sleep(0.6)  # at rest: the full-size image has been sent
        before = client.count()
        sent = time.perf_counter()
        client.send_camera(0.05 * (i + 1), size, distance, target)
        arrived = client.wait_image(before, None)
        first.append(arrived[0] - sent)
        full.append(client.wait_image(before, size)[0] - sent)
    time.sleep(0.6)
    before, start = client.count(), time.perf_counter()
    angle = 0.0
    while time.perf_counter() - start < 5.0:
        angle += 0.01
        client.send_camera(angle, size, distance, target)
        time.sleep(0.01)
    delivered = (client.count() - before) / (time.perf_counter() - start)
    result = {"width": size[0], "height": size[1], "latency_first_image_ms_median": 1000 * float(np.median(first)),
              "latency_full_size_ms_median": 1000 * float(np.median(full)), "moving_fps": delivered,
              "repeats": repeats}
    print(f"{size[0]}x{size[1]}: input to first image {result['latency_first_image_ms_median']:.1f} ms, to full "
          f"size {result['latency_full_size_ms_median']:.1f} ms (medians of {repeats}); {delivered:.1f} images/s "
          "while the camera moves", flush=True)
    return result


def device_name(backend: str) -> str:
    if backend == "cuda":
        import torch

        return torch.cuda.get_device_name()
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or "cpu"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scene", choices=("demo", "reference"), default="demo")
    parser.add_argument("--backend", default="auto")
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results")
    parser.add_argument("--name", help="results file stem (default: from the device)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        model = [str(reference_model(Path(tmp)))] if args.scene == "reference" else []
        port = free_port()
        server = subprocess.Popen([sys.executable, "-m", "k4d_viewer.cli", "serve", *model, "--port", str(port),
                                   "--backend", args.backend, "--max-size", "1920"],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        try:
            deadline = time.time() + 120
            while time.time() < deadline:
                with socket.socket() as sock:
                    if sock.connect_ex(("127.0.0.1", port)) == 0:
                        break
                time.sleep(0.2)
            client = Client(f"ws://127.0.0.1:{port}")
            target = np.array([0.0, 0.9, 0.0]) if args.scene == "reference" else np.array([0.0, 0.0, 0.9])
            results = [bench_size(client, size, target, 3.0, args.repeats) for size in SIZES]
        finally:
            server.terminate()
            err = server.communicate(timeout=30)[1]
    backend = args.backend
    report = {"device": device_name(backend), "cpu_cores": os.cpu_count(), "scene": args.scene,
              "backend": backend, "transport": "viser websocket on localhost, JPEG quality 90",
              "client": "viser protocol client in Python (what a browser sends and receives)", "results": results,
              "server_log_tail": err.strip().splitlines()[-3:]}
    args.out.mkdir(parents=True, exist_ok=True)
    stem = args.name or ("h100" if "H100" in report["device"] else "cpu")
    (args.out / f"{stem}_serve.json").write_text(json.dumps(report, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
