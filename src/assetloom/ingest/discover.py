"""Expand the paths a user names into files to add, reporting what cannot be added and why."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterable, Iterator
from pathlib import Path

from assetloom.ingest.paths import display_path as _show
from assetloom.ingest.records import Skipped


def discover(paths: list[Path], *, recursive: bool) -> Iterator[Path | Skipped]:
    """Files in a stable order. Folder symlinks are followed once; loops are reported."""
    seen_dirs: set[tuple[int, int]] = set()
    seen_files: set[tuple[int, int]] = set()
    for path in paths:
        yield from _walk_top(path, recursive, seen_dirs, seen_files)


def missing_paths(paths: Iterable[Path]) -> dict[Path, str]:
    """The named paths that do not exist, with the reason `discover` gives: naming one is a
    mistake the command reports as an error, not as "nothing found"."""
    missing: dict[Path, str] = {}
    for path in paths:
        found = _stat_top(path)
        if isinstance(found, Skipped) and found.reason in _MISSING:
            missing[path] = found.reason
    return missing


def subfolders_not_descended(paths: Iterable[Path]) -> list[Path]:
    """Sub-folders of the named folders that `discover(..., recursive=False)` passes over, so
    the command can say how many it left out and how to include them."""
    left: list[Path] = []
    for path in paths:
        if not path.is_dir():
            continue
        try:
            entries = sorted(os.scandir(path), key=lambda e: os.fsencode(e.name))
        except OSError:
            continue  # discover reports the folder it cannot list
        for entry in entries:
            try:
                if not entry.name.startswith(".") and entry.is_dir():
                    left.append(Path(entry.path))
            except OSError:
                continue
    return left


_BROKEN_LINK = "broken symbolic link"
_NO_SUCH_PATH = "no such file or folder"
_MISSING = (_BROKEN_LINK, _NO_SUCH_PATH)


def _stat_top(path: Path) -> os.stat_result | Skipped:
    try:
        return path.stat()
    except FileNotFoundError:
        return Skipped(_show(path), _BROKEN_LINK if path.is_symlink() else _NO_SUCH_PATH)
    except OSError as exc:
        return Skipped(_show(path), f"cannot read ({exc.strerror or exc})")


def _walk_top(
    path: Path, recursive: bool, seen_dirs: set[tuple[int, int]], seen_files: set[tuple[int, int]]
) -> Iterator[Path | Skipped]:
    st = _stat_top(path)
    if isinstance(st, Skipped):
        yield st
        return
    if stat.S_ISDIR(st.st_mode):
        yield from _walk_dir(path, recursive, seen_dirs, seen_files, top=True)
    else:
        yield from _file(path, st, seen_files)


def _walk_dir(
    folder: Path,
    recursive: bool,
    seen_dirs: set[tuple[int, int]],
    seen_files: set[tuple[int, int]],
    *,
    top: bool = False,
) -> Iterator[Path | Skipped]:
    st = folder.stat()
    key = (st.st_dev, st.st_ino)
    if key in seen_dirs:
        if not top:
            yield Skipped(_show(folder), "folder link loop, not followed again")
        return
    seen_dirs.add(key)
    try:
        entries = sorted(os.scandir(folder), key=lambda e: os.fsencode(e.name))
    except OSError as exc:
        yield Skipped(_show(folder), f"cannot list ({exc.strerror or exc})")
        return
    for entry in entries:
        if entry.name.startswith("."):
            continue  # .DS_Store, .git, editor swap files: never assets
        child = Path(entry.path)
        try:
            cst = child.stat()
        except FileNotFoundError:
            yield Skipped(_show(child), "broken symbolic link")
            continue
        except OSError as exc:
            yield Skipped(_show(child), f"cannot read ({exc.strerror or exc})")
            continue
        if stat.S_ISDIR(cst.st_mode):
            if recursive:
                yield from _walk_dir(child, recursive, seen_dirs, seen_files)
        else:
            yield from _file(child, cst, seen_files)


def _file(path: Path, st: os.stat_result, seen: set[tuple[int, int]]) -> Iterator[Path | Skipped]:
    if not stat.S_ISREG(st.st_mode):
        yield Skipped(_show(path), "not a regular file")
        return
    key = (st.st_dev, st.st_ino)
    if key in seen:
        return  # the same file reached twice through links
    seen.add(key)
    yield path
