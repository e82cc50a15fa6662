"""Reading input files defensively and writing outputs so that a failure never leaves a half-written file.

Inputs: a path that should be a file is refused up front when it is a FIFO, a device, a socket or a folder
(reading those can block forever or never end), and text inputs are read with a size cap and decoded strictly.
Outputs: written to a temporary name beside the target and renamed at the end; OS errors (permissions, a full
disk, a name too long) become the one-line ``InputError`` naming the path.
"""

from __future__ import annotations

import os
import stat
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from .errors import InputError

MAX_TEXT_BYTES = 64 * 1024 * 1024  # camera, path, rig and job files are kilobytes; this is far beyond any real one


def check_regular_file(path: str | Path, what: str = "file") -> Path:
    """``path`` if it is an existing regular file (links followed); InputError naming what it is otherwise."""
    path = Path(path)
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        raise InputError(path, "no such file") from None
    except OSError as exc:
        raise InputError(path, f"cannot open: {exc.strerror or exc}") from None
    if stat.S_ISDIR(mode):
        raise InputError(path, f"is a directory, expected a {what}")
    if not stat.S_ISREG(mode):
        kind = "a FIFO" if stat.S_ISFIFO(mode) else "a device" if stat.S_ISCHR(mode) or stat.S_ISBLK(mode) \
            else "a socket" if stat.S_ISSOCK(mode) else "not a regular file"
        raise InputError(path, f"is {kind}, expected a {what}")
    return path


def read_text_file(path: str | Path, what: str = "file", limit: int = MAX_TEXT_BYTES) -> str:
    """The UTF-8 text of a small input file; InputError for special files, oversize files and bad bytes."""
    path = check_regular_file(path, what)
    try:
        with open(path, "rb") as fp:
            data = fp.read(limit + 1)
    except OSError as exc:
        raise InputError(path, f"cannot read {what}: {exc.strerror or exc}") from None
    if len(data) > limit:
        raise InputError(path, f"is larger than {limit // (1024 * 1024)} MiB, too large for a {what}")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[:exc.start].count(b"\n") + 1
        raise InputError(path, f"line {line}: not UTF-8 text (byte 0x{data[exc.start]:02x} at offset "
                         f"{exc.start})") from None


def check_output_folder(path: str | Path) -> None:
    """An output's folder must exist and be writable, and its name must not be an existing folder."""
    path = Path(path)
    parent = path.parent
    if len(os.fsencode(path.name)) + 16 > 255:  # the usual NAME_MAX, less room for the temporary suffix
        raise InputError(f"{path.name[:40]}...", f"output file name is too long ({len(path.name)} characters)")
    try:
        if not parent.is_dir():
            raise InputError(parent, "output folder does not exist")
        if path.is_dir():
            raise InputError(path, "is a directory, expected an output file name")
    except OSError as exc:
        raise InputError(path, f"cannot write here: {exc.strerror or exc}") from None
    if not os.access(parent, os.W_OK | os.X_OK):
        raise InputError(parent, "output folder is not writable")


class PendingFile:
    """A temporary file beside ``path`` for an output written over time (a video, a zip): ``commit`` renames it
    into place with the usual permissions, ``abort`` deletes it. OS errors become InputError naming ``path``."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        try:
            fd, tmp = tempfile.mkstemp(prefix=self.path.name[:200] + ".", suffix=".part", dir=self.path.parent)
        except OSError as exc:
            raise InputError(self.path, f"cannot write: {exc.strerror or exc}") from None
        os.close(fd)
        self.tmp = Path(tmp)

    def commit(self) -> None:
        try:
            umask = os.umask(0)
            os.umask(umask)
            os.chmod(self.tmp, 0o666 & ~umask)  # mkstemp creates 0600; give the usual permissions
            os.replace(self.tmp, self.path)
        except OSError as exc:
            self.abort()
            raise InputError(self.path, f"cannot write: {exc.strerror or exc}") from None

    def abort(self) -> None:
        self.tmp.unlink(missing_ok=True)


@contextmanager
def atomic_output(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; on success rename it to ``path``, on failure delete it.

    OS errors while creating, writing or renaming (no permission, disk full, a name too long) are raised as
    InputError naming ``path``.
    """
    pending = PendingFile(path)
    try:
        yield pending.tmp
    except OSError as exc:
        pending.abort()
        raise InputError(path, f"cannot write: {exc.strerror or exc}") from None
    except BaseException:
        pending.abort()
        raise
    pending.commit()
