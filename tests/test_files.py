"""attain.files.write_atomic: the one way packs, exports and outbox messages are written."""

from __future__ import annotations

import pytest

from attain.files import write_atomic


def test_bytes_and_writer_functions_replace_the_file_whole(tmp_path):
    target = tmp_path / "new" / "folder" / "pack.pdf"
    write_atomic(target, b"first")
    assert target.read_bytes() == b"first"
    write_atomic(target, lambda path: path.write_text("second", encoding="utf-8"))
    assert target.read_text(encoding="utf-8") == "second"
    assert [p.name for p in target.parent.iterdir()] == ["pack.pdf"]


def test_a_failed_write_keeps_the_old_file_and_leaves_no_temporary_file(tmp_path):
    target = tmp_path / "payouts.csv"
    target.write_text("old", encoding="utf-8")

    def half_then_fail(path):
        path.write_text("half", encoding="utf-8")
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        write_atomic(target, half_then_fail)
    assert target.read_text(encoding="utf-8") == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["payouts.csv"]
