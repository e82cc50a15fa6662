"""Batch rendering benchmark on the GPU machine: one long 4K job (the reference figure along an orbit,
cuda backend) rendered by ``k4d-viewer render`` in one process and by ``k4d-viewer batch`` with 1, 2, 4, 8
segment workers (encoders), in the same run; and a GPU-scaling mode over 1, 2, ... GPUs of one machine.

Wall time of the whole command (start-up included), frames/s, and CPU and GPU utilisation sampled every
0.5 s. Results go to benchmarks/results/<device>_batch.json (or _batch_gpus.json).

    python benchmarks/bench_batch.py --frames 600 --workers 1,2,4,8
    python benchmarks/bench_batch.py --gpus 1,2 --frames 1200 --formats mp4,png   # on a multi-GPU machine
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from bench_serve import reference_model  # noqa: E402

SIZE = "3840x2160"


class Utilisation:
    """CPU (from /proc/stat) and GPU (nvidia-smi) utilisation, sampled on a thread."""

    def __init__(self) -> None:
        self.cpu: list[float] = []
        self.gpu: list[list[float]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    @staticmethod
    def _cpu_times() -> tuple[int, int]:
        fields = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
        idle = fields[3] + fields[4]
        return sum(fields) - idle, sum(fields)

    def _run(self) -> None:
        busy, total = self._cpu_times()
        while not self._stop.wait(0.5):
            now_busy, now_total = self._cpu_times()
            self.cpu.append(100 * (now_busy - busy) / max(now_total - total, 1))
            busy, total = now_busy, now_total
            try:
                out = subprocess.run(["nvidia-smi", "--query-gpu=utilization.gpu", "--format=csv,noheader,nounits"],
                                     capture_output=True, text=True, timeout=5).stdout
                self.gpu.append([float(v) for v in out.split()])
            except (OSError, ValueError, subprocess.TimeoutExpired):
                pass

    def __enter__(self) -> Utilisation:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()

    def summary(self) -> dict:
        gpu = np.array([g for g in self.gpu if g]) if self.gpu else np.zeros((0, 1))
        return {"cpu_percent_mean": float(np.mean(self.cpu)) if self.cpu else None,
                "gpu_percent_mean": gpu.mean(axis=0).round(1).tolist() if len(gpu) else None}


def timed(command: list[str], env: dict, cwd: Path) -> tuple[float, dict]:
    with Utilisation() as usage:
        start = time.perf_counter()
        result = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True)
        seconds = time.perf_counter() - start
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed: {result.stderr[-2000:]}")
    summary = usage.summary()
    match = re.search(r"frames rendered in ([0-9.]+) s", result.stdout)
    if match:  # the batch's own time: from the first segment submitted to the last output joined
        summary["batch_seconds_after_setup"] = float(match.group(1))
    return seconds, summary


def job_file(folder: Path, model: Path, output: str, frames: int) -> Path:
    path = folder / f"{Path(output).stem}.toml"
    path.write_text(f'[[job]]\nmodel = "{model}"\noutput = "{output}"\npreset = "orbit"\nsize = "{SIZE}"\n'
                    f'seconds = {frames / 30}\nfps = 30\nbackend = "cuda"\n')
    return path


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=600)
    parser.add_argument("--workers", default="1,2,4,8")
    parser.add_argument("--gpus", help="GPU-scaling mode: GPU counts to compare, e.g. 1,2")
    parser.add_argument("--formats", default="mp4")
    parser.add_argument("--encoders-per-gpu", type=int, default=4)
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results")
    args = parser.parse_args()
    import torch

    device = torch.cuda.get_device_name()
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    runs = []
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        model = reference_model(folder)
        cli = [sys.executable, "-m", "k4d_viewer.cli"]
        if args.gpus is None:
            single = [*cli, "render", str(model), "--orbit", "--seconds", str(args.frames / 30), "--fps", "30",
                      "--size", SIZE, "--backend", "cuda", "-o", "single.mp4"]
            seconds, usage = timed(single, env, folder)
            runs.append({"mode": "render (one process)", "workers": 1, "seconds": seconds,
                         "fps": args.frames / seconds, **usage})
            print(f"render, one process: {args.frames / seconds:.1f} frames/s", flush=True)
            for workers in (int(w) for w in args.workers.split(",")):
                jobs = job_file(folder, model, f"batch{workers}.mp4", args.frames)
                seconds, usage = timed([*cli, "batch", str(jobs), "--no-ray", "--workers", str(workers)], env,
                                       folder)
                runs.append({"mode": "batch", "workers": workers, "seconds": seconds, "fps": args.frames / seconds,
                             **usage})
                print(f"batch, {workers} workers: {args.frames / seconds:.1f} frames/s ({usage})", flush=True)
            name = "batch"
        else:
            for output_format in args.formats.split(","):
                for gpus in (int(g) for g in args.gpus.split(",")):
                    visible = ",".join(str(i) for i in range(gpus))
                    workers = gpus * args.encoders_per_gpu
                    output = f"g{gpus}.mp4" if output_format == "mp4" else f"png{gpus}/f.png"
                    if output_format == "png":
                        (folder / f"png{gpus}").mkdir()
                    jobs = job_file(folder, model, output, args.frames)
                    seconds, usage = timed([*cli, "batch", str(jobs), "--no-ray", "--workers", str(workers)],
                                           {**env, "CUDA_VISIBLE_DEVICES": visible}, folder)
                    runs.append({"format": output_format, "gpus": gpus, "workers": workers, "seconds": seconds,
                                 "fps": args.frames / seconds, **usage})
                    print(f"{output_format}, {gpus} GPU(s), {workers} workers: {args.frames / seconds:.1f} "
                          f"frames/s ({usage})", flush=True)
                base = next(r["fps"] for r in runs if r["format"] == output_format and r["gpus"] == 1)
                for run in runs:
                    if run["format"] == output_format:
                        run["scaling_efficiency"] = run["fps"] / (base * run["gpus"])
            name = "batch_gpus"
    report = {"device": device, "gpus_visible": torch.cuda.device_count(), "cpu_cores": os.cpu_count(),
              "frames": args.frames, "size": SIZE, "scene": "reference figure, 262,144 points, cuda backend, orbit",
              "codec": "h264 (libx264 veryfast, CRF 18) or PNG", "executor": "local worker processes", "runs": runs}
    stem = "h100" if "H100" in device else device.lower().replace(" ", "_")
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / f"{stem}_{name}.json").write_text(json.dumps(report, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
