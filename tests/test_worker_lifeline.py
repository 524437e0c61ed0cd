"""An `add` killed with SIGKILL takes its worker processes with it (no 400 MB orphans)."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from assetloom.app.library import Library
from tests.media import make_photo

pytestmark = pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs /proc")


def _parents() -> dict[int, int]:
    """pid -> parent pid of every process, from /proc (psutil is not a dependency)."""
    table: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue  # gone meanwhile
        # "pid (comm) state ppid ...": comm may hold spaces and parentheses
        table[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
    return table


def _descendants(pid: int) -> set[int]:
    parents = _parents()
    found: set[int] = set()
    frontier = {pid}
    while frontier:
        frontier = {child for child, parent in parents.items() if parent in frontier} - found
        found |= frontier
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"  # a zombie has exited; only its parent's wait is missing


def test_workers_exit_when_add_is_killed(tmp_path: Path):
    src = tmp_path / "photos"
    for i in range(400):
        make_photo(src / f"{i:03d}.jpg", seed=5000 + i, size=(160, 120))
    lib_dir = tmp_path / "lib"
    Library.create(lib_dir).close()
    env = {**os.environ, "ASSETLOOM_WORKERS": "2"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "assetloom.cli.main", "--library", str(lib_dir), "add", str(src)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=env,
    )
    survivors: set[int] = set()
    try:
        deadline = time.monotonic() + 120
        family: set[int] = set()
        # the fork server and its two pool workers (plus the resource tracker) are running
        while time.monotonic() < deadline and proc.poll() is None:
            family = _descendants(proc.pid)
            if len(family) >= 3:
                break
            time.sleep(0.05)
        assert proc.poll() is None and len(family) >= 3, "add must still be running its pool"

        os.kill(proc.pid, signal.SIGKILL)  # only the parent: its children are left to themselves
        proc.wait()
        deadline = time.monotonic() + 30
        survivors = {p for p in family if _alive(p)}
        while survivors and time.monotonic() < deadline:
            time.sleep(0.1)
            survivors = {p for p in survivors if _alive(p)}
        assert not survivors, f"processes outlived the killed add: {sorted(survivors)}"
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        for pid in survivors:  # this test's own orphans: do not leave them to other tests
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
