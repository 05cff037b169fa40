"""Files written whole: a new file appears with all its bytes, an unchanged one is left alone,
a changed one is replaced — with or without unnamed files (`O_TMPFILE`), leaving nothing behind."""

from __future__ import annotations

import os

import pytest

import core.files
from core.files import atomic_write, write_if_changed


@pytest.mark.parametrize("unnamed", [True, False], ids=["unnamed-file", "temporary-name"])
def test_a_file_is_created_left_alone_when_unchanged_and_replaced_when_changed(tmp_path, monkeypatch, unnamed):
    """write_if_changed says whether it wrote: True for a new file and for other bytes, False for the same bytes."""
    if not unnamed:
        monkeypatch.setattr(core.files, "_TMPFILE", 0)
    created = []
    create = core.files._create
    monkeypatch.setattr(core.files, "_create", lambda name, data: created.append(create(name, data)) or created[-1])
    path = tmp_path / "123456782-SOA-20261125-0001.xml"
    assert write_if_changed(path, b"<a/>\n") is True
    assert created == [unnamed]  # the new file went the way this case is about
    assert path.read_bytes() == b"<a/>\n"
    inode = os.stat(path).st_ino
    assert write_if_changed(path, b"<a/>\n") is False
    assert os.stat(path).st_ino == inode  # not rewritten
    assert write_if_changed(path, b"<b/>\n") is True
    assert path.read_bytes() == b"<b/>\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["123456782-SOA-20261125-0001.xml"]  # no temporary file left


def test_a_file_that_cannot_be_created_unnamed_is_written_under_a_temporary_name(tmp_path, monkeypatch):
    """Where the unnamed file cannot be linked (no /proc, another file system), the file is still written whole."""
    def refuse(*args, **kwargs):
        raise OSError(18, "Invalid cross-device link")
    monkeypatch.setattr(core.files.os, "link", refuse)
    path = tmp_path / "a.xml"
    assert write_if_changed(path, b"x" * 100_000) is True
    assert path.read_bytes() == b"x" * 100_000
    atomic_write(path, b"y")
    assert [p.name for p in tmp_path.iterdir()] == ["a.xml"] and path.read_bytes() == b"y"
