"""``k4d-viewer batch``: many render jobs (camera paths, videos, frame sequences) over many GPUs and machines."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..errors import InputError


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "batch", help="render many jobs in parallel (local workers or a Ray cluster), resumable",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Render every [[job]] of a TOML job file (model, output, a path or preset, size, fps, codec, "
                    "frames, any render setting). Jobs are split into segments of path frames that run in "
                    "parallel: on Ray when it is installed (one GPU per segment where there are GPUs), else in "
                    "local worker processes. Video segments are joined without re-encoding. A manifest beside "
                    "each output records finished segments: --resume continues an interrupted batch.",
        epilog="job file example:\n"
               "  [[job]]\n"
               "  model = \"seq.npz\"\n"
               "  output = \"videos/orbit.mp4\"\n"
               "  preset = \"orbit\"          # or path = \"camera_path.json\"\n"
               "  size = \"3840x2160\"\n"
               "  seconds = 10\n"
               "  layers = 11               # any render setting by its flag name\n\n"
               "examples:\n"
               "  k4d-viewer batch jobs.toml                      # local Ray (or processes), all GPUs/cores\n"
               "  k4d-viewer batch jobs.toml --ray auto           # the running Ray cluster ('ray start')\n"
               "  k4d-viewer batch jobs.toml --resume             # after an interruption")
    parser.add_argument("jobs", type=Path, help="the job file (TOML, [[job]] tables)")
    parser.add_argument("--ray", metavar="ADDRESS", help="join a Ray cluster: 'auto' or host:port (default: a "
                        "local Ray instance if Ray is installed, else local processes)")
    parser.add_argument("--workers", type=int, help="parallel segments (default: the GPUs, else half the cores)")
    parser.add_argument("--segment-frames", type=int, metavar="N", help="frames per segment (default: about four "
                        "segments per worker, at least 10 frames)")
    parser.add_argument("--resume", action="store_true", help="skip segments a previous run finished")
    parser.add_argument("--no-ray", action="store_true", help="use local processes even if Ray is installed")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from ..batch.jobs import load_jobs
    from ..batch.runner import default_workers, prepare

    if args.workers is not None and not 1 <= args.workers <= 4096:
        raise InputError("--workers", f"{args.workers} is outside 1..4096")
    if args.segment_frames is not None and not 1 <= args.segment_frames <= 1_000_000:
        raise InputError("--segment-frames", f"{args.segment_frames} is outside 1..1000000")
    jobs = load_jobs(args.jobs)
    workers = args.workers or default_workers()
    states = prepare(jobs, args.segment_frames, workers, args.resume, args.jobs)
    return _execute(states, _pool(args, workers), workers)


def run_single_job(job, workers: int, resume: bool) -> int:
    """One job (``render --workers N``) in parallel segments, on local Ray when installed."""
    from ..batch.runner import prepare

    states = prepare([job], None, workers, resume, job.output)
    return _execute(states, _pool(argparse.Namespace(no_ray=False, ray=None), workers), workers)


def _execute(states, pool, workers: int) -> int:
    from ..batch.runner import run_jobs

    cancelled = False
    try:
        ok = run_jobs(states, pool, workers=workers)
    except KeyboardInterrupt:
        cancelled = True
        print("k4d-viewer: batch interrupted; finished segments are kept: re-run with --resume", flush=True)
        raise
    finally:
        pool.shutdown(cancel=cancelled)
    return 0 if ok else 1


def _pool(args: argparse.Namespace, workers: int):
    from ..batch.runner import LocalPool, RayPool

    if args.no_ray and args.ray:
        raise InputError("--no-ray", "does not go with --ray")
    if args.no_ray:
        return LocalPool(workers)
    try:
        import ray  # noqa: F401
    except ImportError:
        if args.ray:
            raise InputError("--ray", "Ray is not installed: pip install 'k4d-viewer[cluster]'") from None
        print("k4d-viewer: Ray is not installed: rendering in local processes (pip install 'k4d-viewer[cluster]' "
              "for clusters)", flush=True)
        return LocalPool(workers)
    return RayPool(None if args.ray in (None, "local") else args.ray, workers)
