"""An asset says where it came from (`source`): `show --json`, the API detail and the web page
all render it through `asset_json`; old uploads' staging paths show as just the file name."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import update

from assetloom.app.library import Library
from assetloom.app.results import asset_json, source_label
from assetloom.store.schema import AssetRow
from tests.media import make_photo


def test_added_file_shows_its_absolute_path(
    library: Library, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    make_photo(tmp_path / "shoot" / "a.jpg", 11)
    monkeypatch.chdir(tmp_path)
    asset_id = library.add([Path("shoot")]).added[0].asset_id  # a relative path on the command line
    asset = library.get(asset_id)
    assert asset.source == str(tmp_path / "shoot" / "a.jpg")
    assert asset_json(asset)["source"] == str(tmp_path / "shoot" / "a.jpg")
    assert "source" not in asset_json(asset, full=False), "lists stay compact"


def test_labelled_upload_shows_its_label(library: Library, tmp_path: Path):
    path = make_photo(tmp_path / "staged" / "0" / "beach.jpg", 12)
    added = library.add([path], sources={path: "upload by alice: beach.jpg"}).added
    assert asset_json(library.get(added[0].asset_id))["source"] == "upload by alice: beach.jpg"


def test_old_uploads_staging_path_shows_the_file_name(library: Library, tmp_path: Path):
    asset_id = library.add([make_photo(tmp_path / "x.jpg", 13)]).added[0].asset_id
    staged = f"{library.root}/tmp/uploads/up-k2j4_x9q/3/beach day.jpg"
    with library.write_session() as s, s.begin():
        s.execute(update(AssetRow).where(AssetRow.asset_id == asset_id).values(source_path=staged))
    asset = library.get(asset_id)
    assert asset.source == staged, "the domain object keeps what the catalog says"
    assert asset_json(asset)["source"] == "beach day.jpg"


@pytest.mark.parametrize(
    ("stored", "shown"),
    [
        ("/srv/lib/tmp/uploads/up-abc/0/a.jpg", "a.jpg"),
        ("/elsewhere/moved-lib/tmp/uploads/up-abc/12/b.png", "b.png"),  # library moved since
        ("/home/alice/photos/x.jpg", "/home/alice/photos/x.jpg"),
        ("/home/alice/tmp/uploads/x.jpg", "/home/alice/tmp/uploads/x.jpg"),  # not staging shape
        ("/srv/lib/tmp/uploads/mine/0/a.jpg", "/srv/lib/tmp/uploads/mine/0/a.jpg"),
        ("upload by bob: tmp/uploads/up-a/0/c.jpg", "upload by bob: tmp/uploads/up-a/0/c.jpg"),
        ("", ""),
        (None, None),
    ],
)
def test_source_label(stored: str | None, shown: str | None):
    assert source_label(stored) == shown


def test_old_asset_without_source_is_null(library: Library, tmp_path: Path):
    asset_id = library.add([make_photo(tmp_path / "y.jpg", 14)]).added[0].asset_id
    with library.write_session() as s, s.begin():
        s.execute(update(AssetRow).where(AssetRow.asset_id == asset_id).values(source_path=None))
    assert asset_json(library.get(asset_id))["source"] is None
