"""Whisper weights from their pip packages: base assembled once into the model cache, whole or
not at all, even with two workers starting together."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from assetloom.models.asr import weights
from assetloom.models.asr.weights import (
    MARKER,
    PackagedFile,
    packaged_file,
    whisper_base_dir,
    whisper_tiny_en_dir,
)
from assetloom.models.errors import ModelError, ModelNotInstalledError

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def cache(tmp_path: Path) -> Iterator[Path]:
    """A fresh model cache, removed afterwards (an assembled base is 145 MB)."""
    yield tmp_path / "models"
    shutil.rmtree(tmp_path / "models", ignore_errors=True)


def _parts() -> list[PackagedFile]:
    return [packaged_file(d, r) for d, r in weights.BASE_PARTS]


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def test_two_workers_assemble_one_folder(cache: Path) -> None:
    code = (
        "import sys; from pathlib import Path; "
        "from assetloom.models.asr.weights import whisper_base_dir; "
        "print(whisper_base_dir(Path(sys.argv[1])))"
    )
    env = {**os.environ, "PYTHONPATH": str(REPO / "src")}
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", code, str(cache)], stdout=subprocess.PIPE, text=True, env=env
        )
        for _ in range(2)
    ]
    outs = [p.communicate(timeout=120)[0].strip() for p in procs]
    assert [p.returncode for p in procs] == [0, 0]
    assert outs[0] == outs[1]
    folder = Path(outs[0])
    assert folder.parent == cache / "whisper"
    # Nothing half-written is left beside it, and it is exactly the two parts joined.
    assert sorted(p.name for p in folder.parent.iterdir()) == [folder.name, folder.name + ".lock"]
    assert sorted(p.name for p in folder.iterdir()) == sorted(
        [MARKER, "config.json", "model.bin", "tokenizer.json", "vocabulary.txt"]
    )
    joined = hashlib.sha256()
    for part in _parts():
        joined.update(part.path.read_bytes())
    marker = json.loads((folder / MARKER).read_text())
    assert marker["model.bin"]["sha256"] == joined.hexdigest() == _sha256(folder / "model.bin")


def test_assembled_once_then_reused(cache: Path) -> None:
    folder = whisper_base_dir(cache)
    before = (folder / "model.bin").stat()
    assert whisper_base_dir(cache) == folder
    after = (folder / "model.bin").stat()
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)


def test_a_damaged_folder_is_assembled_again(cache: Path) -> None:
    folder = whisper_base_dir(cache)
    with (folder / "model.bin").open("r+b") as fh:
        fh.truncate(1000)  # a disk filled up, a user's stray edit
    stale = folder.parent / f".{folder.name}.99999.deadbeef.tmp"  # a crashed worker's
    stale.mkdir()
    assert whisper_base_dir(cache) == folder
    assert (folder / "model.bin").stat().st_size == sum(p.size for p in _parts())
    assert not stale.exists()


def test_a_part_not_matching_its_record_is_refused(tmp_path: Path) -> None:
    bad = tmp_path / "model.bin.part1"
    bad.write_bytes(b"not the weights")
    target = tmp_path / "whisper" / "base-x"
    target.parent.mkdir()
    with pytest.raises(ModelError, match="does not match the digest"):
        weights._assemble(target, [PackagedFile(bad, bad.stat().st_size, "0" * 64)], [])
    assert list(target.parent.iterdir()) == []


def test_missing_package_says_how_to_install() -> None:
    with pytest.raises(ModelNotInstalledError) as err:
        packaged_file("assetloom-no-such-weights", "data/model.bin")
    assert "requirements/models.txt" in (err.value.hint or "")


def test_tiny_en_is_used_where_pip_put_it() -> None:
    folder = whisper_tiny_en_dir()
    assert (folder / "model.bin").is_file() and (folder / "tokenizer.json").is_file()
    assert "site-packages" in folder.parts or "dist-packages" in folder.parts
