"""A library holds password hashes, sessions, the audit log and GPS metadata: owner only."""

from __future__ import annotations

import logging
import os
import stat
from pathlib import Path

import pytest

from assetloom.app.library import CATALOG, Library
from tests.media import make_photo


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_new_library_is_private_even_under_a_permissive_umask(tmp_path: Path) -> None:
    previous = os.umask(0o002)  # a shared-group umask, common on team machines
    try:
        with Library.create(tmp_path / "team" / "lib") as lib:
            lib.add([make_photo(tmp_path / "a.jpg", 5)])
            with lib.read_session() as s:  # WAL and shm exist while a connection is open
                s.connection().exec_driver_sql("SELECT count(*) FROM assets").scalar()
                wal = [lib.root / f"{CATALOG}-wal", lib.root / f"{CATALOG}-shm"]
                assert all(p.exists() for p in wal)
                assert {_mode(p) for p in wal} == {0o600}
            root = lib.root
    finally:
        os.umask(previous)
    assert _mode(root) == 0o700
    assert _mode(tmp_path / "team") == 0o775  # folders above the library keep the user's umask
    for entry in [*root.iterdir(), *(root / "keys").iterdir()]:
        expected = 0o700 if entry.is_dir() else 0o600
        assert _mode(entry) == expected, entry


def test_opening_a_loose_library_tightens_it_with_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    Library.create(tmp_path / "lib").close()
    root = tmp_path / "lib"
    os.chmod(root, 0o755)
    os.chmod(root / CATALOG, 0o644)
    os.chmod(root / "blobs", 0o775)
    with caplog.at_level(logging.WARNING, logger="assetloom.app.library"):
        Library.open(root).close()
    assert _mode(root) == 0o700 and _mode(root / CATALOG) == 0o600
    assert _mode(root / "blobs") == 0o700
    (record,) = [r for r in caplog.records if "readable by other users" in r.getMessage()]
    assert CATALOG in record.getMessage() and "blobs" in record.getMessage()

    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="assetloom.app.library"):
        Library.open(root).close()
    assert not [r for r in caplog.records if "readable by other users" in r.getMessage()]
