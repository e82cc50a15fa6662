"""The ``k4d-viewer`` command: a thin client over the library. Bad input ends in one line and exit code 2."""

from __future__ import annotations

import argparse
import difflib
import sys
from pathlib import Path
from typing import NoReturn

from . import __version__
from .commands import bake, batch, convert, info, render, serve, view
from .errors import InputError


class OneLineParser(argparse.ArgumentParser):
    """An argument parser whose errors are one line naming the command and the flag, plus where help is."""

    def error(self, message: str) -> NoReturn:
        message = message.removeprefix("argument ")
        self.exit(2, f"{self.prog}: error: {message} (see '{self.prog} --help')\n")


class FlagError(Exception):
    """A flag error from a parser built with ``raising=True`` (job files: the caller names the job)."""


class RaisingParser(OneLineParser):
    def error(self, message: str) -> NoReturn:
        raise FlagError(message.removeprefix("argument "))


def build_parser(raising: bool = False) -> argparse.ArgumentParser:
    parser = (RaisingParser if raising else OneLineParser)(
        prog="k4d-viewer",
        usage="k4d-viewer [MODEL] [options]  |  k4d-viewer COMMAND ...",
        description="View and render 4K4D-style volumetric video: per-frame point clouds whose colour blends "
                    "nearby source views plus a spherical-harmonics residual. With no command, opens the viewer "
                    "on MODEL (default: the built-in demo).",
        epilog="Run 'k4d-viewer COMMAND --help' for the options of each command.")
    parser.add_argument("--version", action="version", version=f"k4d-viewer {__version__}")
    subparsers = parser.add_subparsers(title="commands", metavar="COMMAND", prog="k4d-viewer")
    view.add_parser(subparsers)
    info.add_parser(subparsers)
    render.add_parser(subparsers)
    convert.add_parser(subparsers)
    serve.add_parser(subparsers)
    batch.add_parser(subparsers)
    bake.add_parser(subparsers)
    return parser


COMMANDS = ("view", "info", "render", "convert", "serve", "batch", "bake")


def with_default_command(argv: list[str]) -> list[str]:
    """'k4d-viewer' and 'k4d-viewer MODEL [options]' mean 'k4d-viewer view ...'; a mistyped command that is
    not a file either is an error naming the closest command."""
    if not argv or (argv[0] not in COMMANDS and argv[0] not in ("-h", "--help", "--version")):
        first = argv[0] if argv else ""
        if first and not first.startswith("-") and not _looks_like_path(first):
            close = difflib.get_close_matches(first, COMMANDS, n=1, cutoff=0.6)
            if close:
                raise InputError(None, f"unknown command '{first}' (did you mean '{close[0]}'?); commands: "
                                 f"{', '.join(COMMANDS)}")
        return ["view", *argv]
    return argv


def _looks_like_path(text: str) -> bool:
    try:
        exists = Path(text).exists()
    except OSError:  # e.g. a name too long: not a command either way
        exists = True
    return exists or any(c in text for c in "./\\*?[")


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    try:
        words = with_default_command(sys.argv[1:] if argv is None else list(argv))
        args = parser.parse_args(words)
        args.command_line = words
        if not hasattr(args, "run"):
            parser.print_help()
            return 2
        return args.run(args)
    except InputError as exc:
        print(f"k4d-viewer: error: {exc}", file=sys.stderr)
        return 2
    except torch_oom() as exc:  # noqa: B030 - a tuple of exception types
        detail = str(exc).strip().splitlines()[0] if str(exc).strip() else "no details"
        print(f"k4d-viewer: error: out of GPU memory while rendering ({detail}); try a smaller --size or "
              "--device cpu", file=sys.stderr)
        return 3
    except MemoryError:
        print("k4d-viewer: error: out of memory; try a smaller --size, fewer frames or a machine with more "
              "memory", file=sys.stderr)
        return 3
    except KeyboardInterrupt:
        print("k4d-viewer: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # output piped into a reader that stopped (| head): quietly done
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


def torch_oom() -> tuple[type[BaseException], ...]:
    import torch

    return (torch.OutOfMemoryError,)


if __name__ == "__main__":
    sys.exit(main())
