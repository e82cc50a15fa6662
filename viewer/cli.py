"""The ``k4d-viewer`` command: a thin client over the library. Bad input ends in one line and exit code 2."""

from __future__ import annotations

import argparse
import sys

from . import __version__
from .commands import convert, info, render, view
from .errors import InputError


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="k4d-viewer",
        usage="k4d-viewer [MODEL] [options]  |  k4d-viewer COMMAND ...",
        description="View and render 4K4D-style volumetric video: per-frame point clouds whose colour blends "
                    "nearby source views plus a spherical-harmonics residual. With no command, opens the viewer "
                    "on MODEL (default: the built-in demo).",
        epilog="Run 'k4d-viewer COMMAND --help' for the options of each command.")
    parser.add_argument("--version", action="version", version=f"k4d-viewer {__version__}")
    subparsers = parser.add_subparsers(title="commands", metavar="COMMAND")
    view.add_parser(subparsers)
    info.add_parser(subparsers)
    render.add_parser(subparsers)
    convert.add_parser(subparsers)
    return parser


COMMANDS = ("view", "info", "render", "convert")


def with_default_command(argv: list[str]) -> list[str]:
    """'k4d-viewer' and 'k4d-viewer MODEL [options]' mean 'k4d-viewer view ...'."""
    if not argv or (argv[0] not in COMMANDS and argv[0] not in ("-h", "--help", "--version")):
        return ["view", *argv]
    return argv


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(with_default_command(sys.argv[1:] if argv is None else list(argv)))
    if not hasattr(args, "run"):
        parser.print_help()
        return 2
    try:
        return args.run(args)
    except InputError as exc:
        print(f"k4d-viewer: error: {exc}", file=sys.stderr)
        return 2
    except torch_oom() as exc:  # noqa: B030 - a tuple of exception types
        print(f"k4d-viewer: error: out of memory while rendering ({str(exc).splitlines()[0]}); try a smaller "
              "--size or --device cpu", file=sys.stderr)
        return 3
    except KeyboardInterrupt:
        print("k4d-viewer: interrupted", file=sys.stderr)
        return 130


def torch_oom() -> tuple[type[BaseException], ...]:
    import torch

    return (torch.OutOfMemoryError, MemoryError)


if __name__ == "__main__":
    sys.exit(main())
