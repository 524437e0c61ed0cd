"""`add`, `list`, `show`, `rm` through the Library with real files and a real SQLite catalog."""

from __future__ import annotations

import os
import shutil
import sqlite3
from pathlib import Path

import pytest
from PIL import Image

from assetloom.app.library import Library
from assetloom.core.assets import MediaType
from assetloom.errors import AssetNotFoundError, LibraryExistsError, NotALibraryError
from tests.media import make_photo


def test_add_folder_is_idempotent_and_stores_each_blob_once(library: Library, tmp_path: Path):
    src = tmp_path / "photos"
    for i in range(5):
        make_photo(src / f"p{i}.jpg", seed=i)
    make_photo(src / "sub" / "deep.png", seed=99, fmt="PNG")
    shutil.copy(src / "p0.jpg", src / "sub" / "copy-of-p0.jpg")

    report = library.add([src], recursive=True)
    assert len(report.added) == 6
    assert [p.file for p in report.present] == [str(src / "sub" / "copy-of-p0.jpg")]
    assert report.skipped == []

    again = library.add([src], recursive=True)
    assert again.added == [] and len(again.present) == 7
    assert library.count() == 6
    blobs = list((library.root / "blobs").glob("??/??/*"))
    assert len(blobs) == 6


def test_without_recursive_only_top_level_files(library: Library, tmp_path: Path):
    make_photo(tmp_path / "in" / "a.jpg", 1)
    make_photo(tmp_path / "in" / "sub" / "b.jpg", 2)
    report = library.add([tmp_path / "in"])
    assert [Path(p.file).name for p in report.added] == ["a.jpg"]


def test_show_has_metadata_fingerprints_and_thumbnail(library: Library, tmp_path: Path):
    path = make_photo(tmp_path / "x.jpg", 3, size=(1200, 800))
    asset_id = library.add([path]).added[0].asset_id
    asset = library.get(asset_id[:8])  # a unique prefix works like git
    assert asset.asset_id == asset_id
    assert asset.media_type is MediaType.IMAGE and asset.mime == "image/jpeg"
    assert (asset.width, asset.height) == (1200, 800)
    kinds = {f.kind for f in asset.fingerprints}
    assert {"pdq", "phash"} <= kinds
    thumb = library.thumbnail_location(asset)  # a file path in the embedded default
    assert thumb is not None
    with Image.open(thumb) as t:
        assert t.format == "WEBP" and max(t.size) == 256


def test_type_is_sniffed_from_content_not_extension(library: Library, tmp_path: Path):
    png_bytes_named_jpg = make_photo(tmp_path / "really-a-png.jpg", 4, fmt="PNG")
    text_named_png = tmp_path / "notes.png"
    text_named_png.write_text("meeting notes\nbuy more coffee\n", encoding="utf-8")
    report = library.add([png_bytes_named_jpg, text_named_png])
    by_name = {Path(p.file).name: library.get(p.asset_id) for p in report.added}
    assert by_name["really-a-png.jpg"].mime == "image/png"
    assert by_name["notes.png"].media_type is MediaType.TEXT


@pytest.mark.parametrize(
    ("encoding", "text"),
    [
        ("utf-8", "Brand guide: 蓝色调的科技感产品图\n"),
        ("utf-16", "Brand guide: 蓝色调的科技感产品图\n"),
        ("gb18030", "品牌指南：蓝色调的科技感产品图，适用于所有电商渠道的主图与详情页。\n" * 3),
    ],
)
def test_text_encodings_detected(library: Library, tmp_path: Path, encoding: str, text: str):
    path = tmp_path / f"doc-{encoding}.md"
    path.write_bytes(text.encode(encoding))
    asset = library.get(library.add([path]).added[0].asset_id)
    assert asset.media_type is MediaType.TEXT and asset.mime == "text/markdown"
    assert asset.metadata["encoding"] == encoding
    assert "蓝色调" in asset.metadata["excerpt"]


def test_rm_removes_blob_and_thumbnail(library: Library, tmp_path: Path):
    a = library.add([make_photo(tmp_path / "a.jpg", 5)]).added[0].asset_id
    asset = library.get(a)
    blob, thumb = Path(library.blob_location(asset)), library.thumbnail_location(asset)
    assert blob.exists() and thumb is not None and Path(thumb).exists()
    library.remove(a)
    assert not blob.exists() and not Path(thumb).exists()
    with pytest.raises(AssetNotFoundError):
        library.get(a)
    # Re-adding the same file after removal registers it again.
    assert len(library.add([tmp_path / "a.jpg"]).added) == 1


def test_open_refuses_folder_that_is_not_a_library(tmp_path: Path):
    (tmp_path / "random").mkdir()
    with pytest.raises(NotALibraryError, match="not an AssetLoom library"):
        Library.open(tmp_path / "random")
    with Library.create(tmp_path / "lib"):
        pass
    with pytest.raises(LibraryExistsError):
        Library.create(tmp_path / "lib")


def test_catalog_uses_wal(library: Library):
    con = sqlite3.connect(library.root / "catalog.db")
    assert con.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    con.close()


def test_unchanged_files_are_not_reread(library: Library, tmp_path: Path):
    path = make_photo(tmp_path / "a.jpg", 6)
    library.add([path])
    os.chmod(path, 0)  # unreadable now: a re-run must still know it from (path, size, mtime)
    try:
        report = library.add([path])
    finally:
        os.chmod(path, 0o644)
    if os.geteuid() != 0:
        assert len(report.present) == 1 and report.skipped == []
    else:  # root reads anyway; the answer is the same
        assert len(report.present) == 1


def test_heic_is_added_and_matches_its_jpeg(library: Library, tmp_path: Path):
    from pillow_heif import register_heif_opener

    register_heif_opener()
    jpeg = make_photo(tmp_path / "phone.jpg", 31, size=(640, 480))
    heic = tmp_path / "IMG_0001.HEIC"
    with Image.open(jpeg) as im:
        im.save(heic, format="HEIF", quality=80)
    asset = library.get(library.add([heic]).added[0].asset_id)
    assert asset.mime == "image/heic" and (asset.width, asset.height) == (640, 480)
    (result,) = library.verify([jpeg])
    assert result.matches and result.matches[0].asset_id == asset.asset_id


def test_adding_never_scans_the_keyword_table(library: Library, tmp_path: Path):
    """FTS5 cannot index asset_id: a DELETE by it scans every row, so an add that issued one
    per new asset grew quadratically with the library (100k assets: minutes per batch)."""
    from sqlalchemy import event

    statements: list[str] = []
    engine = library.catalog.writer

    def seen(conn, cursor, statement, *args) -> None:  # type: ignore[no-untyped-def]
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", seen)
    try:
        library.add([make_photo(tmp_path / f"{i}.jpg", 80 + i) for i in range(3)])
    finally:
        event.remove(engine, "before_cursor_execute", seen)
    assert any("INSERT INTO asset_text" in s for s in statements)
    assert not [s for s in statements if "DELETE FROM asset_text" in s]
