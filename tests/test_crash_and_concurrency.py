"""A run killed with SIGKILL leaves a consistent library; two writers at once both succeed."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from assetloom.app.library import Library
from tests.media import make_photo


def _cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "assetloom.cli.main", *args]


def _consistency(lib_dir: Path) -> tuple[set[str], set[str]]:
    con = sqlite3.connect(lib_dir / "catalog.db")
    rows = {r[0] for r in con.execute("SELECT sha256 FROM assets")}
    con.close()
    blobs = {p.name for p in (lib_dir / "blobs").glob("??/??/*") if not p.name.startswith(".")}
    return rows, blobs


def test_kill_9_mid_add_then_rerun_finishes(tmp_path: Path):
    src = tmp_path / "photos"
    for i in range(500):
        make_photo(src / f"{i:03d}.jpg", seed=1000 + i, size=(160, 120))
    lib_dir = tmp_path / "lib"
    Library.create(lib_dir).close()

    proc = subprocess.Popen(
        _cli("--library", str(lib_dir), "add", str(src), "--json"),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,  # its own process group: the kill takes its workers too
    )
    deadline = time.monotonic() + 120
    committed = 0
    while time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.05)
        try:
            con = sqlite3.connect(lib_dir / "catalog.db", timeout=1)
            committed = con.execute("SELECT count(*) FROM assets").fetchone()[0]
            con.close()
        except sqlite3.OperationalError:
            continue
        if committed >= 100:
            break
    os.killpg(proc.pid, signal.SIGKILL)  # like a power cut: the whole process tree dies
    proc.wait()
    assert 0 < committed < 500, "the kill must land part-way through"

    rows, blobs = _consistency(lib_dir)
    assert rows <= blobs, "every registered asset has its blob"

    done = subprocess.run(
        _cli("--library", str(lib_dir), "add", str(src), "--json"),
        capture_output=True,
        text=True,
        check=True,
    )
    assert done.returncode == 0
    rows, blobs = _consistency(lib_dir)
    assert len(rows) == 500
    assert rows == blobs, "no orphan blobs after the re-run"
    with Library.open(lib_dir) as lib:
        assert lib.count() == 500


def test_two_writers_at_once(tmp_path: Path):
    lib_dir = tmp_path / "lib"
    Library.create(lib_dir).close()
    a, b = tmp_path / "a", tmp_path / "b"
    for i in range(60):
        make_photo(a / f"{i}.jpg", seed=2000 + i, size=(160, 120))
        make_photo(b / f"{i}.jpg", seed=3000 + i, size=(160, 120))
    # Both see the shared folder too: the same files race to be registered.
    for i in range(20):
        make_photo(a / f"shared{i}.jpg", seed=4000 + i, size=(160, 120))
        make_photo(b / f"shared{i}.jpg", seed=4000 + i, size=(160, 120))
    procs = [
        subprocess.Popen(
            _cli("--library", str(lib_dir), "add", str(d), "--json"),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for d in (a, b)
    ]
    outs = [p.communicate(timeout=300) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], [o[1] for o in outs]
    rows, blobs = _consistency(lib_dir)
    assert len(rows) == 140 and rows == blobs
