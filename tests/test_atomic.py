"""One atomic-write helper for files and folders: every caller states the result's permissions, so the
private mode of temporary files never leaks into results (or a token file into public view)."""

from __future__ import annotations

import os
import stat

import pytest

from softfit.atomic import PRIVATE, public_mode, swap_folder, write_atomic


def _mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_write_atomic_gives_the_mode_asked_for(tmp_path):
    old = os.umask(0o022)
    try:
        write_atomic(tmp_path / "a" / "token.json", "secret", PRIVATE)
        write_atomic(tmp_path / "mesh.obj", b"v 0 0 0\n", public_mode())
    finally:
        os.umask(old)
    assert _mode(tmp_path / "a" / "token.json") == 0o600
    assert _mode(tmp_path / "mesh.obj") == 0o644
    assert (tmp_path / "a" / "token.json").read_text() == "secret"


def test_a_failed_write_leaves_the_old_file_and_no_temporary(tmp_path):
    target = tmp_path / "summary.json"
    write_atomic(target, "old", public_mode())
    with pytest.raises(TypeError):
        write_atomic(target, 12345, public_mode())  # type: ignore[arg-type]
    assert target.read_text() == "old" and sorted(p.name for p in tmp_path.iterdir()) == ["summary.json"]


def test_swap_folder_replaces_whole_or_keeps_the_old(tmp_path):
    out, new = tmp_path / "out", tmp_path / "new"
    out.mkdir()
    (out / "old.txt").write_text("old")
    with pytest.raises(OSError):
        swap_folder(tmp_path / "missing", out)  # the move fails: the old folder is put back
    assert (out / "old.txt").read_text() == "old"
    new.mkdir()
    (new / "new.txt").write_text("new")
    swap_folder(new, out)
    assert [p.name for p in out.iterdir()] == ["new.txt"] and not new.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]  # the old folder is gone
