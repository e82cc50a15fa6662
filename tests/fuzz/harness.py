"""Run fuzz cases through the real CLI with per-case time and memory limits, and judge each outcome.

A fork server (a fresh Python that has imported ``k4d_viewer.cli`` and torch but run nothing) forks one child
per case: the child enters the case folder, caps its address space, points stdout/stderr at files and calls
``main(argv)`` exactly as the ``k4d-viewer`` script does. Forking spares each case the ~1 s import of torch,
which makes thousands of cases affordable; the server never runs torch ops, so no thread pool is forked.
The parent reads the exit status, the peak resident memory (``wait4``) and the wall time, kills cases that
run past the limit, and checks what was left in the folder.
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from .cases import PICKLE_MARKER, Case

ADDRESS_LIMIT = 8 << 30      # bytes of address space a case may map (blow-ups fail fast instead of swapping)
PEAK_LIMIT = 1 << 30         # peak resident memory a case on a small input may reach
TIME_LIMIT = 60.0            # seconds


@dataclass
class Outcome:
    id: str
    kind: str
    argv: list[str]
    expect: str
    code: int | None
    stderr: str
    seconds: float
    peak_bytes: int
    verdict: str = ""        # "ok" or what went wrong: traceback, hang, memory, multi-line, accepted, ...


def materialise(case: Case, root: Path) -> Path:
    """Write the case's files (and special files) into ``root/<id>``."""
    folder = root / case.id
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    for name, data in case.files.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    if case.special:
        what, name = case.special.split(":", 1)
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if what == "fifo":
            os.mkfifo(path)
        elif what == "devzero":
            path.symlink_to("/dev/zero")
        elif what == "devnull":
            path.symlink_to("/dev/null")
        elif what == "dir":
            path.mkdir()
        elif what == "socket":
            sock = socket.socket(socket.AF_UNIX)
            sock.bind(str(path))
            sock.close()
    return folder


def _serve() -> None:
    """Fork-server loop: one JSON request per line on stdin, one JSON result per line on stdout."""
    from k4d_viewer.cli import main  # noqa: F401 - imported once, before any fork

    for line in sys.stdin:
        request = json.loads(line)
        start = time.monotonic()
        pid = os.fork()
        if pid == 0:
            _child(request)
        deadline = start + request["timeout"]
        status, usage, timed_out = 0, None, False
        while True:
            done, status, usage = os.wait4(pid, os.WNOHANG)
            if done:
                break
            if time.monotonic() > deadline:
                os.kill(pid, signal.SIGKILL)
                _, status, usage = os.wait4(pid, 0)
                timed_out = True
                break
            time.sleep(0.005)
        code = os.waitstatus_to_exitcode(status)
        print(json.dumps({"code": None if timed_out else code, "seconds": time.monotonic() - start,
                          "peak": usage.ru_maxrss * 1024}), flush=True)


def _child(request: dict) -> None:
    code = 70
    try:
        os.chdir(request["dir"])
        resource.setrlimit(resource.RLIMIT_AS, (request["address_limit"], request["address_limit"]))
        out = os.open("stdout.txt", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        err = os.open("stderr.txt", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        os.dup2(out, 1)
        os.dup2(err, 2)
        sys.stdin = open(os.devnull)
        from k4d_viewer.cli import main

        code = main(request["argv"])
    except SystemExit as exc:  # argparse exits this way, as the real script would
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except BaseException:
        import traceback

        traceback.print_exc()
        code = 99
    finally:
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        finally:
            os._exit(code)


class ForkServer:
    """A fork-server subprocess; ``run`` executes one materialised case."""

    def __init__(self) -> None:
        env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "DISPLAY": "", "WAYLAND_DISPLAY": "",
               "PYTHONPATH": str(Path(__file__).resolve().parents[2] / "tests") + os.pathsep +
               os.environ.get("PYTHONPATH", "")}
        self.process = subprocess.Popen([sys.executable, "-c", "from fuzz.harness import _serve; _serve()"],
                                        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env,
                                        cwd=Path(__file__).resolve().parents[1])

    def run(self, case: Case, folder: Path, timeout: float = TIME_LIMIT) -> Outcome:
        request = {"dir": str(folder), "argv": case.argv, "timeout": timeout, "address_limit": ADDRESS_LIMIT}
        self.process.stdin.write(json.dumps(request) + "\n")
        self.process.stdin.flush()
        reply = json.loads(self.process.stdout.readline())
        stderr_path = folder / "stderr.txt"
        stderr = stderr_path.read_text(errors="replace") if stderr_path.exists() else ""
        outcome = Outcome(case.id, case.kind, case.argv, case.expect, reply["code"], stderr, reply["seconds"],
                          reply["peak"])
        outcome.verdict = judge(case, outcome, folder)
        return outcome

    def close(self) -> None:
        self.process.stdin.close()
        self.process.wait(timeout=30)


def judge(case: Case, outcome: Outcome, folder: Path) -> str:
    """'ok', or the first broken promise: traceback, hang, memory, pickle, multi-line, exit-code, accepted,
    leftover."""
    err = outcome.stderr.strip()
    if (folder / PICKLE_MARKER).exists():
        return "pickle-executed"
    if outcome.code is None:
        return "hang"
    if "Traceback" in err or outcome.code == 99:
        return "traceback"
    if outcome.peak_bytes > PEAK_LIMIT:
        return "memory"
    if outcome.code in (-9, 137) or "MemoryError" in err:
        return "memory"
    if outcome.code == 0:
        if case.expect == "error":
            return "accepted"
        return "ok"
    lines = err.splitlines()
    if len(lines) != 1:
        return "multi-line"
    if outcome.code != 2 or "error:" not in lines[0]:
        return "exit-code"
    expected = set(case.files) | {"stdout.txt", "stderr.txt"}
    if case.special:
        expected.add(case.special.split(":", 1)[1])
    leftovers = [path for path in _files_under(folder) if path not in expected]
    if leftovers:
        return "leftover"
    return "ok"


def _files_under(folder: Path) -> list[str]:
    found = []
    for base, dirs, files in os.walk(folder):
        found += [os.path.relpath(os.path.join(base, name), folder) for name in files + dirs
                  if not os.path.isdir(os.path.join(base, name))]
    return found


def outcome_dict(outcome: Outcome) -> dict:
    return asdict(outcome)
