"""The metadata routes: roles, audit, bulk calls, shapes in OpenAPI, errors, history, export."""

from __future__ import annotations

import io
import json
import shutil
import subprocess
import zipfile
from pathlib import Path

import pytest

from assetloom.accounts import AccountService
from assetloom.app.library import Library
from tests.api.conftest import Env, photo_bytes, upload


def _ids(env: Env, *seeds: int) -> list[str]:
    report = upload(env, *((f"m{s}.jpg", photo_bytes(900 + s)) for s in seeds))
    return [a["asset_id"] for a in report["added"]]


def test_patch_get_and_history(env: Env) -> None:
    (a,) = _ids(env, 1)
    r = env.client.patch(
        f"/api/v1/assets/{a}",
        headers=env.auth("editor"),
        json={
            "title": "春季新品",
            "keywords": ["campaign", "蓝色"],
            "usage": {"expires": "2027-01-31", "approved_for": ["CN market"]},
            "rating": 5,
            "status": "in_review",
        },
    )
    assert r.status_code == 200, r.text
    doc = r.json()
    assert doc["title"] == "春季新品" and doc["rating"] == 5 and doc["status"] == "in_review"
    assert doc["usage"]["approved_for"] == ["CN market"] and doc["updated_by"] == "editor"
    got = env.client.get(f"/api/v1/assets/{a}/meta", headers=env.auth("viewer"))
    assert got.status_code == 200 and got.json() == doc
    history = env.client.get(f"/api/v1/assets/{a}/history", headers=env.auth("viewer")).json()
    assert history["asset_id"] == a
    assert {e["field"] for e in history["entries"]} >= {"title", "rating", "status"}
    assert {e["actor"] for e in history["entries"]} == {"editor"}
    with Library.open(env.root) as lib:
        _, entries = AccountService.of(lib).audit_log(limit=20, actor="editor")
    assert any(e.action == "asset.meta" and e.target == a for e in entries)


def test_roles_and_bad_input(env: Env) -> None:
    (a,) = _ids(env, 2)
    r = env.client.patch(f"/api/v1/assets/{a}", headers=env.auth("viewer"), json={"rating": 1})
    assert r.status_code == 403
    assert env.client.get(f"/api/v1/assets/{a}/meta").status_code == 401
    for body, code, words in (
        ({"rating": 7}, "bad_metadata", "rating 7 is out of range"),
        ({"status": "done"}, "bad_metadata", "unknown status"),
        ({"usage": {"expires": "tomorrow"}}, "bad_metadata", "is not a date"),
        ({"fields": {"sku": "1"}}, "unknown_field", "unknown custom field"),
    ):
        r = env.client.patch(f"/api/v1/assets/{a}", headers=env.auth("editor"), json=body)
        assert r.status_code == 400, (body, r.text)
        assert r.json()["code"] == code and words in r.json()["message"], r.json()
    r = env.client.patch(f"/api/v1/assets/{a}", headers=env.auth("editor"), json={"colour": 1})
    assert r.status_code == 422  # not a key of the patch document
    r = env.client.patch("/api/v1/assets/ffffffffffff", headers=env.auth("editor"), json={})
    assert r.status_code == 404


def test_bulk_meta_and_tags_and_reject(env: Env) -> None:
    ids = _ids(env, 3, 4, 5)
    r = env.client.post(
        "/api/v1/assets/meta",
        headers=env.auth("editor"),
        json={"ids": ids, "set": {"status": "approved", "copyright": "© 2026 Example"}},
    )
    assert r.status_code == 200 and r.json() == {"updated": 3, "asset_ids": ids}
    r = env.client.post(
        "/api/v1/assets/tags",
        headers=env.auth("editor"),
        json={"ids": ids, "add": ["SKU-1234", "狗"]},
    )
    assert r.status_code == 200 and r.json()["updated"] == 3
    listed = env.client.get("/api/v1/assets?tag=sku-1234", headers=env.auth("viewer")).json()
    assert {x["asset_id"] for x in listed["assets"]} == set(ids)
    r = env.client.post(
        "/api/v1/assets/tags",
        headers=env.auth("editor"),
        json={"ids": ids[:1], "remove": ["sku-1234"]},
    )
    assert r.json() == {"updated": 1, "asset_ids": ids[:1]}
    with Library.open(env.root) as lib, lib.catalog.unit_of_work() as uow:
        uow.add_tags(ids[1], [("sky", 0.9, "zero-shot")])
    r = env.client.post(f"/api/v1/assets/{ids[1]}/tags/天空/reject", headers=env.auth("editor"))
    assert r.status_code == 200 and r.json() == {
        "asset_id": ids[1],
        "tag": "sky",
        "was_present": True,
    }
    meta = env.client.get(f"/api/v1/assets/{ids[1]}/meta", headers=env.auth("viewer")).json()
    assert meta["rejected_tags"] == ["sky"]
    r = env.client.post(f"/api/v1/assets/{ids[1]}/tags/skyy/reject", headers=env.auth("editor"))
    assert r.status_code == 400 and r.json()["code"] == "unknown_tag"
    assert "sky" in r.json()["hint"]
    too_many = {"ids": [f"{i:032x}" for i in range(10_001)], "set": {"rating": 1}}
    r = env.client.post("/api/v1/assets/meta", headers=env.auth("editor"), json=too_many)
    assert r.status_code == 422


def test_custom_fields(env: Env) -> None:
    r = env.client.post(
        "/api/v1/meta/fields",
        headers=env.auth("editor"),
        json={"name": "campaign", "kind": "choice", "choices": ["spring", "autumn"]},
    )
    assert r.status_code == 200 and r.json()["choices"] == ["spring", "autumn"]
    listed = env.client.get("/api/v1/meta/fields", headers=env.auth("viewer")).json()
    assert "campaign" in [f["name"] for f in listed["fields"]]
    r = env.client.post(
        "/api/v1/meta/fields", headers=env.auth("viewer"), json={"name": "x", "kind": "text"}
    )
    assert r.status_code == 403


def test_routes_are_in_openapi(env: Env) -> None:
    spec = env.client.get("/openapi.json").json()
    paths = spec["paths"]
    assert "patch" in paths["/api/v1/assets/{asset_id}"]
    for path in (
        "/api/v1/assets/{asset_id}/meta",
        "/api/v1/assets/{asset_id}/history",
        "/api/v1/assets/{asset_id}/export",
        "/api/v1/meta/fields",
    ):
        assert "get" in paths[path], path
    for path in ("/api/v1/assets/meta", "/api/v1/assets/tags", "/api/v1/meta/fields"):
        assert "post" in paths[path], path
    assert "MetaOut" in spec["components"]["schemas"]


@pytest.mark.skipif(shutil.which("exiftool") is None, reason="exiftool not installed")
def test_export_download(env: Env, tmp_path: Path) -> None:
    (a,) = _ids(env, 6)
    env.client.patch(f"/api/v1/assets/{a}", headers=env.auth("editor"), json={"title": "Dawn"})
    r = env.client.get(f"/api/v1/assets/{a}/export", headers=env.auth("viewer"))
    assert r.status_code == 200 and r.headers["content-type"] == "image/jpeg"
    assert 'filename="m6.jpg"' in r.headers["content-disposition"]
    copy = tmp_path / "m6.jpg"
    copy.write_bytes(r.content)
    read = subprocess.run(
        ["exiftool", "-json", "-XMP-dc:Title", str(copy)], capture_output=True, check=True
    )
    assert json.loads(read.stdout)[0]["Title"] == "Dawn"
    original = env.client.get(f"/api/v1/assets/{a}/original", headers=env.auth("viewer"))
    assert original.content != r.content  # the stored original is served unchanged
    # A format that cannot hold XMP comes as a zip: the original and its sidecar.
    text = upload(env, ("notes.txt", b"Launch notes for the spring campaign.\n"))
    t = text["added"][0]["asset_id"]
    env.client.patch(f"/api/v1/assets/{t}", headers=env.auth("editor"), json={"title": "Notes"})
    r = env.client.get(f"/api/v1/assets/{t}/export", headers=env.auth("viewer"))
    assert r.status_code == 200 and r.headers["content-type"] == "application/zip"
    with zipfile.ZipFile(io.BytesIO(r.content)) as z:
        assert sorted(z.namelist()) == ["notes.txt", "notes.xmp"]
        assert z.read("notes.txt") == b"Launch notes for the spring campaign.\n"
        assert b"Notes" in z.read("notes.xmp")


def test_the_same_routes_on_postgresql(tmp_path: Path, postgres_url: str) -> None:
    """PATCH, bulk tags, reject and history against a PostgreSQL catalog."""
    from fastapi.testclient import TestClient

    from assetloom.accounts import Role
    from assetloom.server.app import create_app
    from tests.backends.pg_database import fresh_database

    with fresh_database(postgres_url) as url:
        root = tmp_path / "lib"
        with Library.create(root, catalog=url) as lib:
            accounts = AccountService.of(lib)
            accounts.add_user("ed", Role.EDITOR, "correct horse battery")
            secret = accounts.create_token("ed", "tests")[1]
        auth = {"Authorization": f"Bearer {secret}"}
        with TestClient(create_app(root)) as client:
            r = client.post(
                "/api/v1/assets",
                headers=auth,
                files=[
                    ("files", (f"g{i}.jpg", photo_bytes(950 + i), "image/jpeg")) for i in range(2)
                ],
            )
            ids = [a["asset_id"] for a in r.json()["added"]]
            r = client.patch(
                f"/api/v1/assets/{ids[0]}", headers=auth, json={"title": "港口", "rating": 3}
            )
            assert r.status_code == 200 and r.json()["title"] == "港口"
            r = client.post("/api/v1/assets/tags", headers=auth, json={"ids": ids, "add": ["狗"]})
            assert r.json()["updated"] == 2
            r = client.post(f"/api/v1/assets/{ids[0]}/tags/dog/reject", headers=auth)
            assert r.json()["was_present"] is True
            history = client.get(f"/api/v1/assets/{ids[0]}/history", headers=auth).json()
            assert {e["field"] for e in history["entries"]} >= {"title", "rating", "tags"}
            hits = client.get("/api/v1/search?q=港口", headers=auth).json()
            assert hits["results"][0]["asset_id"] == ids[0]
