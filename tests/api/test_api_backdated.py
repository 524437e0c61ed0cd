"""A catalog row edited after registration never borrows a valid proof over HTTP."""

from __future__ import annotations

import json
import sqlite3

from tests.api.conftest import Env, photo_bytes


def test_backdated_row_is_an_integrity_error_and_verify_shows_the_signed_time(env: Env) -> None:
    photo = photo_bytes(321)
    r = env.client.post(
        "/api/v1/assets",
        headers=env.auth("editor"),
        files=[("files", ("p.jpg", photo, "image/jpeg"))],
    )
    asset_id = r.json()["added"][0]["asset_id"]
    h = env.auth("viewer")
    good = env.client.get(f"/api/v1/ledger/proof/{asset_id}", headers=h)
    assert good.status_code == 200
    signed_at = json.loads(good.json()["leaf"])["registered_at"]

    with sqlite3.connect(env.root / "catalog.db") as con:
        con.execute(
            "UPDATE assets SET registered_at = '2020-01-01 00:00:00' WHERE asset_id = ?",
            (asset_id,),
        )
    bad = env.client.get(f"/api/v1/ledger/proof/{asset_id}", headers=h)
    assert bad.status_code == 500 and bad.json()["code"] == "catalog_mismatch"
    assert "registered_at" in bad.json()["message"]

    r = env.client.post(
        "/api/v1/verify", headers=h, files=[("files", ("q.jpg", photo, "image/jpeg"))]
    )
    match = r.json()["results"][0]["matches"][0]
    assert match["asset_id"] == asset_id
    assert match["registered_at"] == signed_at
    assert match["ledger"]["verified"] is False
