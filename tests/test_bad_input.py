"""Bad input gets a clear, specific reason and never loses or corrupts anything."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from PIL import Image

from assetloom.app.library import Library
from assetloom.errors import BadInputError
from tests.media import make_photo


def _reasons(report) -> dict[str, str]:
    return {Path(s.file).name: s.reason for s in report.skipped}


def test_empty_truncated_and_garbage_files(library: Library, tmp_path: Path):
    (tmp_path / "empty.jpg").write_bytes(b"")
    good = make_photo(tmp_path / "good.jpg", 1, size=(800, 600))
    data = good.read_bytes()
    (tmp_path / "truncated.jpg").write_bytes(data[: len(data) // 2])
    (tmp_path / "garbage.jpg").write_bytes(os.urandom(4096))
    (tmp_path / "archive.zip").write_bytes(b"PK\x03\x04" + b"\x00" * 100)
    report = library.add([tmp_path])
    reasons = _reasons(report)
    assert "empty file" in reasons["empty.jpg"]
    assert "damaged image" in reasons["truncated.jpg"]
    assert "unrecognised or damaged" in reasons["garbage.jpg"]
    assert "not an image or text" in reasons["archive.zip"]
    assert [Path(a.file).name for a in report.added] == ["good.jpg"]


def test_corrupt_jpeg_from_imagededup(library: Library, shared: Path):
    corrupt = shared / "data/nearduplicate/imagededup-tests/tests/data/mixed_images"
    report = library.add([corrupt / "ukbench09268_corrupt.jpg", corrupt / "ukbench09268.jpg"])
    assert len(report.added) == 1
    assert "ukbench09268_corrupt.jpg" in _reasons(report)


def test_format_variants_from_imagededup(library: Library, shared: Path):
    formats = shared / "data/nearduplicate/imagededup-tests/tests/data/formats_images"
    report = library.add([formats])
    names = {Path(a.file).name for a in report.added} | {Path(a.file).name for a in report.present}
    # JPEG bytes under .png/.bmp/.svg names are the same content: one asset, others present.
    assert {"copyleft.tiff", "giphy.gif", "ukbench09380.webp", "baboon.pgm"} <= names
    mimes = {library.get(a.asset_id).mime for a in report.added}
    assert {"image/tiff", "image/gif", "image/webp", "image/jpeg"} <= mimes


def test_decompression_bomb_refused(tmp_path: Path):
    with Library.create(tmp_path / "lib") as lib:
        lib.settings.max_image_pixels = 1_000_000
        bomb = tmp_path / "bomb.png"
        Image.new("L", (4000, 4000)).save(bomb)  # 16 MP of zeros: a few KB on disk
        report = lib.add([bomb])
    assert "decompression bomb" in report.skipped[0].reason


def test_broken_symlinks_loops_and_unreadable(library: Library, tmp_path: Path):
    root = tmp_path / "tree"
    make_photo(root / "ok.jpg", 2)
    (root / "dangling.jpg").symlink_to(root / "nowhere.jpg")
    (root / "loop").symlink_to(root)
    secret = make_photo(root / "secret.jpg", 3)
    secret.chmod(0)
    try:
        report = library.add([root], recursive=True)
    finally:
        secret.chmod(0o644)
    reasons = _reasons(report)
    assert "broken symbolic link" in reasons["dangling.jpg"]
    assert "loop" in reasons["loop"]
    if os.geteuid() != 0:
        assert "permission denied" in reasons["secret.jpg"]


def test_non_utf8_file_name(library: Library, tmp_path: Path):
    raw = os.path.join(os.fsencode(tmp_path), b"caf\xe9-latin1.jpg")
    shutil.copy(make_photo(tmp_path / "src.jpg", 4), raw)
    report = library.add([Path(os.fsdecode(raw))])
    assert len(report.added) == 1
    asset = library.get(report.added[0].asset_id)
    assert asset.original_name == "caf\\xe9-latin1.jpg"


@pytest.mark.parametrize("content", [b"not toml [[[", None])
def test_library_path_that_is_not_a_library(tmp_path: Path, content: bytes | None):
    from assetloom.errors import NotALibraryError

    folder = tmp_path / "fake"
    folder.mkdir()
    if content is not None:
        (folder / "assetloom.toml").write_bytes(content)
        (folder / "catalog.db").write_bytes(b"")
    with pytest.raises(NotALibraryError):
        Library.open(folder)


def test_bad_setting_is_named_not_a_traceback(tmp_path: Path) -> None:
    from assetloom.settings import load_settings

    Library.create(tmp_path / "lib").close()
    with (tmp_path / "lib" / "assetloom.toml").open("a") as f:
        f.write('busy_timeout_s = "soon"\n')
    with pytest.raises(BadInputError, match=r"busy_timeout_s = 'soon' .*assetloom.toml"):
        load_settings(tmp_path / "lib")


def test_eval_captions_must_be_a_list_of_strings(tmp_path: Path) -> None:
    from assetloom.app.evaluation import load_pairs

    data = tmp_path / "dev.jsonl"
    data.write_text('{"image": "a.jpg", "captions_en": 5}\n')
    with pytest.raises(BadInputError, match=r"dev.jsonl:1: expected"):
        load_pairs(data, "en")
