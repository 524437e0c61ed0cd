"""A library folder only its owner can read: 0700 folders, 0600 files.

`catalog.db` (and SQLite's `-wal`/`-shm`, which take the database file's mode) holds password
hashes, session CSRF tokens, the audit log and GPS metadata; blobs are the team's unreleased
work. The library is created under umask 077, and opening one made before that (or copied with
looser modes) tightens the folder and its top-level entries, which is enough: nothing inside a
0700 folder is reachable by others, so the blobs need no walk.
"""

from __future__ import annotations

import logging
import os
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

log = logging.getLogger("assetloom.library")

PRIVATE_UMASK = 0o077
PRIVATE_DIR = 0o700
_OPEN_TO_OTHERS = stat.S_IRWXG | stat.S_IRWXO


@contextmanager
def private_umask() -> Iterator[None]:
    """Create files and folders for the owner only (the umask is per process: held briefly)."""
    previous = os.umask(PRIVATE_UMASK)
    try:
        yield
    finally:
        os.umask(previous)


def tighten(root: Path) -> list[Path]:
    """Take group and other permissions off `root`, its top-level entries and `keys/`;
    return what changed (after a warning naming them)."""
    candidates = [root, *_entries(root), *_entries(root / "keys")]
    changed = []
    for path in candidates:
        try:
            st = path.lstat()
        except FileNotFoundError:
            continue  # a -wal or -shm that SQLite removed meanwhile
        if stat.S_ISLNK(st.st_mode) or not st.st_mode & _OPEN_TO_OTHERS:
            continue
        os.chmod(path, stat.S_IMODE(st.st_mode) & ~_OPEN_TO_OTHERS)
        changed.append(path)
    if changed:
        names = ", ".join(str(p.relative_to(root)) if p != root else str(root) for p in changed)
        log.warning(
            "the library was readable by other users; made these private (owner only): %s",
            names,
        )
    return changed


def _entries(folder: Path) -> list[Path]:
    try:
        return list(folder.iterdir())
    except (FileNotFoundError, NotADirectoryError):
        return []
