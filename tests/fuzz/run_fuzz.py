"""Run the hostile-input suite: ``python tests/fuzz/run_fuzz.py --cases 2500 --jobs 2 --report fuzz.json``.

Prints a tally by verdict and by kind, lists every failing case with its argv and stderr, and exits 1 when
any case broke a promise (see docs/fuzzing.md).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from fuzz.generate import generate, write_bases  # noqa: E402
from fuzz.harness import ForkServer, materialise, outcome_dict  # noqa: E402


def run(seed: int, count: int, jobs: int, root: Path, only: set[str] | None = None) -> list:
    write_bases(root)
    cases = [c for c in generate(seed, count) if only is None or c.id in only]
    servers = [ForkServer() for _ in range(jobs)]
    outcomes = [None] * len(cases)

    def worker(slot: int) -> None:
        for index in range(slot, len(cases), jobs):
            folder = materialise(cases[index], root)
            outcomes[index] = servers[slot].run(cases[index], folder)

    try:
        with ThreadPoolExecutor(jobs) as pool:
            list(pool.map(worker, range(jobs)))
    finally:
        for server in servers:
            server.close()
    return outcomes


def main() -> int:
    parser = argparse.ArgumentParser(description="Feed generated hostile inputs to the k4d-viewer CLI.")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--cases", type=int, default=2500)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--only", help="comma-separated case ids to replay")
    parser.add_argument("--report", type=Path, help="write every outcome as JSON here")
    parser.add_argument("--keep", type=Path, help="folder for the cases (default: a temporary one)")
    args = parser.parse_args()
    start = time.monotonic()
    with tempfile.TemporaryDirectory() as tmp:
        root = args.keep or Path(tmp)
        outcomes = run(args.seed, args.cases, args.jobs, root, set(args.only.split(",")) if args.only else None)
    verdicts = Counter(o.verdict for o in outcomes)
    results = Counter("accepted (allowed)" if o.code == 0 else "one-line error" for o in outcomes
                      if o.verdict == "ok")
    print(f"{len(outcomes)} cases in {time.monotonic() - start:.0f} s (seed {args.seed}): " +
          ", ".join(f"{k} {v}" for k, v in sorted(verdicts.items())) + " | " +
          ", ".join(f"{k} {v}" for k, v in sorted(results.items())))
    print(f"peak memory: max {max(o.peak_bytes for o in outcomes) / 2**20:.0f} MiB; slowest case "
          f"{max(o.seconds for o in outcomes):.1f} s")
    for outcome in outcomes:
        if outcome.verdict != "ok":
            print(f"  {outcome.verdict:10s} {outcome.id} {outcome.kind}: {' '.join(outcome.argv)[:120]}\n"
                  f"             {outcome.stderr.strip().splitlines()[-1][:300] if outcome.stderr.strip() else ''}")
    if args.report:
        args.report.write_text(json.dumps({"seed": args.seed, "cases": len(outcomes), "verdicts": verdicts,
                                           "outcomes": [outcome_dict(o) for o in outcomes]}, indent=1))
    return 0 if verdicts.keys() <= {"ok"} else 1


if __name__ == "__main__":
    sys.exit(main())
