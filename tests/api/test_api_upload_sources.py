"""Uploads are recorded as "upload by <user>: <file name>", never as the server's staging path,
and leave nothing in `seen_files` (which only helps re-runs of `add` on the same folder)."""

from __future__ import annotations

from sqlalchemy import select

from assetloom.library import Library
from assetloom.store.schema import AssetRow, SeenFileRow
from tests.api.conftest import Env, photo_bytes


def _upload(env: Env, role: str, *files: tuple[str, bytes]) -> dict:
    r = env.client.post(
        "/api/v1/assets",
        headers=env.auth(role),
        files=[("files", (name, data, "application/octet-stream")) for name, data in files],
    )
    assert r.status_code == 200, r.text
    return r.json()


def test_upload_records_who_uploaded_what_and_remembers_no_temp_path(env: Env) -> None:
    data = photo_bytes(301)
    doc = _upload(env, "editor", ("../beach.jpg", data), ("dunes.jpg", photo_bytes(302)))
    beach, dunes = (x["asset_id"] for x in doc["added"])
    again = _upload(env, "admin", ("beach-again.jpg", data))
    assert [x["asset_id"] for x in again["present"]] == [beach]

    detail = env.client.get(f"/api/v1/assets/{beach}", headers=env.auth("viewer"))
    assert detail.status_code == 200
    assert "tmp/uploads" not in detail.text and str(env.root) not in detail.text

    with Library.open(env.root) as lib, lib.read_session() as s:
        sources = dict(s.execute(select(AssetRow.asset_id, AssetRow.source_path)).all())
        seen = s.scalars(select(SeenFileRow.path)).all()
    assert sources[beach] == "upload by editor: beach.jpg"
    assert sources[dunes] == "upload by editor: dunes.jpg"
    assert seen == []
