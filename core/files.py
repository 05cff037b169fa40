"""Writing files so that a reader never sees half of one: the one helper for that chore.

A file is written under a hidden temporary name and renamed; a new file, where the system
offers it (Linux's `O_TMPFILE`), is written unnamed and then given its name — the same
guarantee with half the folder updates, for runs that create 100,000 files."""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["atomic_write", "write_if_changed"]


def atomic_write(path: str | Path, data: bytes) -> None:
    """Write `data` to `path` through a hidden temporary file in the same folder, then rename.

    Through `os` calls on the path's text rather than `pathlib` and a buffered file: a statements
    run writes 100,000 files, and those layers cost a tenth of what the file itself does."""
    name = os.fspath(path)
    folder, base = os.path.split(name)
    temp = os.path.join(folder, f".{base}.part")
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | _CLOEXEC | getattr(os, "O_BINARY", 0), 0o666)
    try:
        _write_all(fd, data)
    finally:
        os.close(fd)
    os.replace(temp, name)


def write_if_changed(path: str | Path, data: bytes) -> bool:
    """Write `data` to `path` (atomically) unless it already holds exactly those bytes; True when written."""
    try:
        if os.stat(path).st_size == len(data) and Path(path).read_bytes() == data:
            return False
    except FileNotFoundError:
        if _create(os.fspath(path), data):
            return True
    atomic_write(path, data)
    return True


_CLOEXEC = getattr(os, "O_CLOEXEC", 0)
_TMPFILE = getattr(os, "O_TMPFILE", 0)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


def _create(name: str, data: bytes) -> bool:
    """Create the file `name` holding `data` as an unnamed file of its folder, named once written:
    no reader sees it before it is whole. False, having created nothing, where that cannot be done
    (no `O_TMPFILE`, a file system without unnamed files, no `/proc`) or `name` exists by now."""
    if not _TMPFILE:
        return False
    try:
        fd = os.open(os.path.dirname(name) or ".", os.O_WRONLY | _TMPFILE | _CLOEXEC, 0o666)
    except OSError:
        return False
    try:
        _write_all(fd, data)
        # linkat(…, AT_SYMLINK_FOLLOW) through /proc, which needs no privilege; os.link calls
        # linkat only when given a folder descriptor (ignored here: the source path is absolute)
        os.link(f"/proc/self/fd/{fd}", name, src_dir_fd=fd, follow_symlinks=True)
    except OSError:  # the file unnamed still: closing it frees it
        return False
    finally:
        os.close(fd)
    return True
