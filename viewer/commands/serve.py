"""``k4d-viewer serve``: the viewer in a browser, for models on headless GPU servers."""

from __future__ import annotations

import argparse
import errno
import ipaddress
import logging
import socket
import sys

from ..errors import InputError
from ..settings import add_arguments as add_settings_arguments
from ..settings import from_args as settings_from_args
from .common import add_bake_arguments, add_model_argument, cache_budgets, load_model

LOOPBACK = "127.0.0.1"


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "serve", help="serve the viewer to a web browser (for headless GPU servers)",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Render on this machine and show the viewer in any browser: orbit, pan and zoom, scrub and "
                    "play the timeline, change every setting, snap to capture cameras, download screenshots. "
                    "Each browser tab has its own camera and timeline. Binds 127.0.0.1 (this machine only) "
                    "unless --host says otherwise.",
        epilog="from your laptop, through SSH:\n"
               "  ssh -L 8080:localhost:8080 gpu-server      # then, on the server:\n"
               "  k4d-viewer serve model.npz --port 8080      # and open http://localhost:8080 on the laptop")
    add_model_argument(parser)
    add_bake_arguments(parser)
    parser.add_argument("--port", type=int, default=8080, help="TCP port (default 8080; 0 picks a free one)")
    parser.add_argument("--host", default=LOOPBACK,
                        help="address to listen on (default 127.0.0.1; anything else is reachable from the network "
                             "and prints a warning)")
    parser.add_argument("--backend", choices=("auto", "cuda", "gl", "torch"), default="auto",
                        help="rasterizer: auto (cuda on NVIDIA GPUs, else gl through EGL, else torch)")
    parser.add_argument("--max-size", type=int, default=3840, metavar="PIXELS",
                        help="largest rendered width or height (default 3840)")
    parser.add_argument("--host-cache", metavar="SIZE", help="host memory for cached frames, e.g. 16G")
    parser.add_argument("--gpu-cache", metavar="SIZE", help="GPU memory for cached frames, e.g. 8G")
    add_settings_arguments(parser, "initial rendering rules (changeable in the browser)")
    parser.set_defaults(run=run)


class OneLineFormatter(logging.Formatter):
    """Server log lines stay one line each: an exception is named, never printed as a traceback (a client
    closing a socket early or sending garbage is logged, not dumped)."""

    def format(self, record: logging.LogRecord) -> str:
        message = record.getMessage()
        if record.exc_info and record.exc_info[1] is not None:
            exc = record.exc_info[1]
            message += f" ({type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''})"
        return "k4d-viewer serve: " + message.replace("\n", " ")


def run(args: argparse.Namespace) -> int:
    settings = settings_from_args(args)
    if not 0 <= args.port <= 65535:
        raise InputError("--port", f"{args.port} is outside 0..65535")
    if not 16 <= args.max_size <= 16384:
        raise InputError("--max-size", f"{args.max_size} is outside 16..16384")
    if not args.host.strip():
        raise InputError("--host", "is empty (127.0.0.1 for this machine only, 0.0.0.0 for every interface)")
    check_listen(args.host, args.port)  # the web server binds on a thread of its own, where a failure hangs
    try:
        address = ipaddress.ip_address(args.host)
    except ValueError:
        address = None
    if args.host not in ("localhost",) and (address is None or not address.is_loopback):
        print(f"k4d-viewer: warning: listening on {args.host}: anyone who can reach this machine can view the "
              "model; prefer the default 127.0.0.1 with SSH port forwarding", file=sys.stderr)
    budgets = cache_budgets(args)
    try:
        from ..browser.server import BrowserServer
    except ImportError as exc:
        raise InputError(None, f"the browser viewer needs viser (pip install viser): {exc}") from None
    handler = logging.StreamHandler()
    handler.setFormatter(OneLineFormatter())
    logging.basicConfig(level=logging.WARNING, handlers=[handler], force=True)
    logging.captureWarnings(True)  # warnings from hostile client values: one log line each, not a stack
    model = load_model(args.model, data=args.data, preset=args.preset)
    try:
        try:
            server = BrowserServer(model, host=args.host, port=args.port, backend=args.backend, settings=settings,
                                   max_size=args.max_size, **budgets)
        except OSError as exc:
            raise InputError("--port", f"cannot listen on {args.host}:{args.port}: {exc.strerror or exc}") from None
        print(f"k4d-viewer: serving {model.info.path.name} at http://{args.host}:{server.port} (Ctrl+C stops)",
              flush=True)
        try:
            server.run()
        finally:
            server.stop()
    finally:
        model.close()
    return 0


def check_listen(host: str, port: int) -> None:
    """InputError unless a server can listen on ``host``:``port`` here (a name or address of this machine, a
    port that is free)."""
    try:
        family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
    except (socket.gaierror, UnicodeError, ValueError) as exc:
        raise InputError("--host", f"'{host}' is not a name or address of this machine ({exc})") from None
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(address)
        except OSError as exc:
            flag = "--host" if exc.errno == errno.EADDRNOTAVAIL else "--port"  # not this machine's address
            raise InputError(flag, f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
