"""Where an asset came from: the path `add` was given, or a label for files staged elsewhere
(uploads); and `copies_of`, the one answer CLI, API and web give for an asset's copies."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image
from sqlalchemy import select

from assetloom.app.copies import copies_of
from assetloom.app.library import Library
from assetloom.store.schema import AssetRow, SeenFileRow
from tests.media import make_photo


def _source_paths(lib: Library) -> dict[str, str | None]:
    with lib.read_session() as s:
        return dict(s.execute(select(AssetRow.asset_id, AssetRow.source_path)).all())


def _seen(lib: Library) -> dict[str, tuple[int, int]]:
    with lib.read_session() as s:
        return {r.path: (r.size, r.mtime_ns) for r in s.scalars(select(SeenFileRow))}


def test_cli_style_add_records_the_path_and_remembers_it(library: Library, tmp_path: Path):
    path = make_photo(tmp_path / "in" / "a.jpg", 1)
    asset_id = library.add([path]).added[0].asset_id
    assert _source_paths(library) == {asset_id: str(path)}
    st = path.stat()
    assert _seen(library) == {str(path): (st.st_size, st.st_mtime_ns)}
    again = library.add([path])
    assert [p.asset_id for p in again.present] == [asset_id] and again.added == []


def test_labelled_files_record_the_label_and_are_not_remembered(
    library: Library, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    staged = make_photo(tmp_path / "staging" / "0" / "beach.jpg", 2)
    plain = make_photo(tmp_path / "in" / "plain.jpg", 3)
    monkeypatch.chdir(tmp_path)  # labels apply to the file whichever way its path is spelt
    report = library.add(
        [staged, Path("in/plain.jpg")],
        sources={Path("staging/0/beach.jpg"): "upload by alice: beach.jpg"},
    )
    by_file = {Path(o.file).name: o.asset_id for o in report.added}
    assert _source_paths(library) == {
        by_file["beach.jpg"]: "upload by alice: beach.jpg",
        by_file["plain.jpg"]: str(plain),
    }
    assert list(_seen(library)) == [str(plain)]

    # The same content labelled again is already present; nothing new is remembered.
    copy = tmp_path / "staging" / "1" / "beach.jpg"
    copy.parent.mkdir()
    copy.write_bytes(staged.read_bytes())
    again = library.add([copy], sources={copy: "upload by bob: beach.jpg"})
    assert [p.asset_id for p in again.present] == [by_file["beach.jpg"]]
    assert _source_paths(library)[by_file["beach.jpg"]] == "upload by alice: beach.jpg"
    assert list(_seen(library)) == [str(plain)]


def test_copies_of_excludes_the_asset_itself(library: Library, tmp_path: Path):
    big = make_photo(tmp_path / "big.jpg", 4, size=(640, 480))
    small = tmp_path / "small.jpg"
    Image.open(big).resize((320, 240)).save(small, "JPEG", quality=80)
    other = make_photo(tmp_path / "other.jpg", 5)
    ids = {Path(o.file).name: o.asset_id for o in library.add([big, small, other]).added}
    doc = copies_of(library, ids["big.jpg"][:8])
    assert doc["asset_id"] == ids["big.jpg"]
    assert [m["asset_id"] for m in doc["matches"]] == [ids["small.jpg"]]
    assert doc["matches"][0]["tier"] == "near-identical"
    assert doc["matches"][0]["ledger"]["verified"] is True
    assert copies_of(library, ids["other.jpg"])["matches"] == []
