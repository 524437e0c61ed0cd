"""Uploads are recorded as "upload by <user>: <file name>", never as the server's staging path,
and leave nothing in `seen_files` (which only helps re-runs of `add` on the same folder)."""

from __future__ import annotations

import sqlite3

from sqlalchemy import select

from assetloom.app.library import CATALOG, Library
from assetloom.store.schema import AssetRow, SeenFileRow
from tests.api.conftest import Env, photo_bytes, upload


def test_upload_records_who_uploaded_what_and_remembers_no_temp_path(env: Env) -> None:
    data = photo_bytes(301)
    doc = upload(env, ("../beach.jpg", data), ("dunes.jpg", photo_bytes(302)))
    beach, dunes = (x["asset_id"] for x in doc["added"])
    again = upload(env, ("beach-again.jpg", data), role="admin")
    assert [x["asset_id"] for x in again["present"]] == [beach]

    detail = env.client.get(f"/api/v1/assets/{beach}", headers=env.auth("viewer"))
    assert detail.status_code == 200
    assert "tmp/uploads" not in detail.text and str(env.root) not in detail.text
    assert detail.json()["source"] == "upload by editor: beach.jpg", "the first uploader's"
    listing = env.client.get("/api/v1/assets", headers=env.auth("viewer")).json()
    assert all("source" not in a for a in listing["assets"]), "lists stay compact"

    with Library.open(env.root) as lib, lib.read_session() as s:
        sources = dict(s.execute(select(AssetRow.asset_id, AssetRow.source_path)).all())
        seen = s.scalars(select(SeenFileRow.path)).all()
    assert sources[beach] == "upload by editor: beach.jpg"
    assert sources[dunes] == "upload by editor: dunes.jpg"
    assert seen == []


def test_old_libraries_staging_paths_show_as_the_file_name(env: Env) -> None:
    """Before uploads were labelled, an upload's source was its deleted staging path."""
    (asset_id,) = (x["asset_id"] for x in upload(env, ("old.jpg", photo_bytes(303)))["added"])
    staged = f"{env.root}/tmp/uploads/up-8f3kq1/0/old.jpg"
    with sqlite3.connect(env.root / CATALOG, timeout=30) as db:
        db.execute("UPDATE assets SET source_path = ? WHERE asset_id = ?", (staged, asset_id))
    db.close()

    detail = env.client.get(f"/api/v1/assets/{asset_id}", headers=env.auth("viewer"))
    assert detail.json()["source"] == "old.jpg"
    assert "tmp/uploads" not in detail.text and str(env.root) not in detail.text
