"""Collections, the trash and share links over HTTP: roles, audit, bulk calls, and that a link
shows what it covers and nothing else of the library."""

from __future__ import annotations

from typing import Any

from tests.api.conftest import Env, photo_bytes, upload


def _ids(env: Env, *seeds: int) -> list[str]:
    report = upload(env, *[(f"o{s}.jpg", photo_bytes(s)) for s in seeds])
    return [a["asset_id"] for a in report["added"]]


def _audit(env: Env, action: str) -> list[dict[str, Any]]:
    log = env.client.get("/api/v1/audit?limit=500", headers=env.auth("admin")).json()
    return [e for e in log["entries"] if e["action"] == action]


def test_collections_round_trip_with_roles_and_audit(env: Env) -> None:
    a, b, c = _ids(env, 301, 302, 303)
    viewer, editor = env.auth("viewer"), env.auth("editor")
    denied = env.client.post("/api/v1/collections", headers=viewer, json={"name": "Spring"})
    assert denied.status_code == 403
    made = env.client.post("/api/v1/collections", headers=editor, json={"name": "Spring"})
    assert made.status_code == 200, made.text
    assert made.json()["items"] == 0 and made.json()["created_by"] == "editor"
    again = env.client.post("/api/v1/collections", headers=editor, json={"name": "Spring"})
    assert again.status_code == 409 and again.json()["code"] == "collection_exists"
    sub = env.client.post(
        "/api/v1/collections", headers=editor, json={"name": "Spring 海报", "parent": "Spring"}
    )
    assert sub.json()["parent"] == "Spring"

    added = env.client.post(
        "/api/v1/collections/Spring/items", headers=editor, json={"ids": [c, a]}
    )
    assert added.json() == {
        "collection": "Spring",
        "added": 2,
        "already": 0,
        "removed": 0,
        "items": 2,
    }
    missing = env.client.post(
        "/api/v1/collections/Spring/items", headers=editor, json={"ids": [b, "0000ffff0000"]}
    )
    assert missing.status_code == 404 and missing.json()["code"] == "asset_not_found"
    env.client.post("/api/v1/collections/Spring/items", headers=editor, json={"ids": [b]})
    shown = env.client.get("/api/v1/collections/Spring", headers=viewer).json()
    assert [x["asset_id"] for x in shown["assets"]] == [c, a, b] and shown["total"] == 3
    assert shown["children"] == ["Spring 海报"] and shown["cover_asset_id"] == c

    patched = env.client.patch(
        "/api/v1/collections/Spring", headers=editor, json={"cover": b, "order": [b, a]}
    )
    assert patched.status_code == 200, patched.text
    assert patched.json()["cover_asset_id"] == b
    shown = env.client.get("/api/v1/collections/Spring", headers=viewer).json()
    assert [x["asset_id"] for x in shown["assets"]] == [b, a, c]
    removed = env.client.request(
        "DELETE", "/api/v1/collections/Spring/items", headers=editor, json={"ids": [a]}
    )
    assert removed.json()["removed"] == 1 and removed.json()["items"] == 2

    renamed = env.client.patch(
        "/api/v1/collections/Spring", headers=editor, json={"name": "Spring 2027"}
    )
    assert renamed.json()["name"] == "Spring 2027"
    listed = env.client.get("/api/v1/collections", headers=viewer).json()["collections"]
    assert [(x["name"], x["parent"]) for x in listed][:2] == [
        ("Spring 2027", None),
        ("Spring 海报", "Spring 2027"),
    ]
    assert env.client.get("/api/v1/collections/Spring", headers=viewer).status_code == 404
    assert {e["target"] for e in _audit(env, "collection.add")} == {"Spring"}
    assert [e["outcome"] for e in _audit(env, "collection.add")] == [
        "ok",
        "asset_not_found",
        "ok",
    ]
    deleted = env.client.delete("/api/v1/collections/Spring 2027", headers=editor)
    assert deleted.status_code == 200
    assert (
        env.client.get("/api/v1/collections/Spring 海报", headers=viewer).json()["parent"] is None
    )


def test_smart_collection_follows_its_search(env: Env) -> None:
    (memo,) = [
        a["asset_id"]
        for a in upload(env, ("quokka-memo.txt", b"The quokka shoot moves to Rottnest.\n"))["added"]
    ]
    made = env.client.post(
        "/api/v1/collections",
        headers=env.auth("editor"),
        json={"name": "quokkas", "query": {"text": "quokka"}},
    )
    assert made.json()["smart"] is True and made.json()["items"] is None
    shown = env.client.get("/api/v1/collections/quokkas", headers=env.auth("viewer")).json()
    assert [a["asset_id"] for a in shown["assets"]] == [memo]
    hand = env.client.post(
        "/api/v1/collections/quokkas/items", headers=env.auth("editor"), json={"ids": [memo]}
    )
    assert hand.status_code == 400 and "smart" in hand.json()["message"]
    env.client.delete(f"/api/v1/assets/{memo}", headers=env.auth("editor"))
    shown = env.client.get("/api/v1/collections/quokkas", headers=env.auth("viewer")).json()
    assert shown["assets"] == [], "a trashed asset leaves the search's results"


def test_trash_hides_everywhere_and_restore_brings_back(env: Env) -> None:
    keep, gone = _ids(env, 311, 312)
    editor = env.auth("editor")
    env.client.post("/api/v1/collections", headers=editor, json={"name": "trash-test"})
    env.client.post(
        "/api/v1/collections/trash-test/items", headers=editor, json={"ids": [keep, gone]}
    )
    r = env.client.delete(f"/api/v1/assets/{gone}", headers=editor)
    doc = r.json()
    assert doc["removed"] == [{"asset_id": gone, "original_name": "o312.jpg"}]
    assert doc["restore"] == {"method": "POST", "path": "/api/v1/trash/restore", "ids": [gone]}
    assert doc["purge_after"] > doc["trashed_at"]

    viewer = env.auth("viewer")
    assert env.client.get(f"/api/v1/assets/{gone}", headers=viewer).status_code == 404
    assert env.client.get(f"/api/v1/assets/{gone}/thumbnail", headers=viewer).status_code == 404
    assert env.client.get(f"/api/v1/assets/{gone}/similar", headers=viewer).status_code == 404
    listed = env.client.get("/api/v1/assets?limit=1000", headers=viewer).json()["assets"]
    assert gone not in {a["asset_id"] for a in listed}
    hits = env.client.get("/api/v1/search?q=o312", headers=viewer).json()["results"]
    assert gone not in {h["asset_id"] for h in hits}
    verify = env.client.post(
        "/api/v1/verify",
        headers=viewer,
        files=[("files", ("q.jpg", photo_bytes(312), "image/jpeg"))],
    ).json()
    assert verify["results"][0]["tier"] == "none"
    items = env.client.get("/api/v1/collections/trash-test", headers=viewer).json()
    assert [a["asset_id"] for a in items["assets"]] == [keep]

    assert env.client.get("/api/v1/trash", headers=viewer).status_code == 403
    trashed = env.client.get("/api/v1/trash", headers=editor).json()
    assert gone in {a["asset_id"] for a in trashed["assets"]} and trashed["keep_days"] == 30
    thumb = env.client.get(f"/api/v1/trash/{gone}/thumbnail", headers=editor)
    assert thumb.status_code == 200 and thumb.content[:4] == b"RIFF"

    back = env.client.post("/api/v1/trash/restore", headers=editor, json={"ids": [gone]})
    assert back.json() == {"restored": [{"asset_id": gone, "original_name": "o312.jpg"}]}
    items = env.client.get("/api/v1/collections/trash-test", headers=viewer).json()
    assert [a["asset_id"] for a in items["assets"]] == [keep, gone], "back in its place"
    hits = env.client.get("/api/v1/search?q=o312", headers=viewer).json()["results"]
    assert gone in {h["asset_id"] for h in hits}
    again = env.client.post("/api/v1/trash/restore", headers=editor, json={"ids": [gone]})
    assert again.status_code == 404

    bulk = env.client.post("/api/v1/trash", headers=editor, json={"ids": [keep, gone]})
    assert len(bulk.json()["removed"]) == 2
    assert env.client.delete("/api/v1/trash", headers=editor).status_code == 403
    emptied = env.client.delete("/api/v1/trash", headers=env.auth("admin")).json()
    assert {keep, gone} <= {a["asset_id"] for a in emptied["removed"]}
    assert (
        env.client.post("/api/v1/trash/restore", headers=editor, json={"ids": [gone]}).status_code
        == 404
    )
    assert [e["outcome"] for e in _audit(env, "trash.empty")] == ["ok"]
    too_many = env.client.post("/api/v1/trash", headers=editor, json={"ids": ["a"] * 10_001})
    assert too_many.status_code == 422


def _share(env: Env, **body: Any) -> dict[str, Any]:
    r = env.client.post("/api/v1/shares", headers=env.auth("editor"), json=body)
    assert r.status_code == 200, r.text
    return r.json()


def test_a_link_shows_its_collection_and_nothing_else(env: Env) -> None:
    """Leakage: a link for A never reveals B, by id, prefix, search, thumbnails or the API."""
    a1, a2, b1 = _ids(env, 321, 322, 323)
    editor = env.auth("editor")
    for name, ids in (("A", [a1, a2]), ("B", [b1])):
        env.client.post("/api/v1/collections", headers=editor, json={"name": name})
        env.client.post(f"/api/v1/collections/{name}/items", headers=editor, json={"ids": ids})
    link = _share(env, collection="A", expires="2d")
    token = link["token"]
    assert link["url"].endswith(f"/s/{token}") and link["expires_at"]
    assert link["kind"] == "collection" and link["allow_download"] is False

    visitor = env.client
    visitor.cookies.clear()
    page = visitor.get(f"/s/{token}", headers={"Accept": "text/html"})
    assert page.status_code == 200
    assert page.headers["referrer-policy"] == "no-referrer"
    assert a1 in page.text and a2 in page.text and "o321.jpg" in page.text
    assert b1 not in page.text and "o323.jpg" not in page.text
    assert "/api/v1/" not in page.text, "a visitor's page links nothing of the API"
    assert visitor.get(f"/s/{token}/a/{a1}/thumbnail").status_code == 200
    assert visitor.get(f"/s/{token}/a/{a1}").status_code == 200

    for guess in (
        f"/s/{token}/a/{b1}",
        f"/s/{token}/a/{b1}/thumbnail",
        f"/s/{token}/a/{b1}/previews/strip.webp",
        f"/s/{token}/a/{b1}/original",
        f"/s/{token}/a/{a1[:8]}/thumbnail",  # no prefixes
        f"/s/{token}/a/{a1}/original",  # downloads not allowed
        f"/s/{token}x",
        f"/s/{token[:-1]}",
        f"/s/{token}/a/{a1}/previews/..%2F..%2Fcatalog.db",
    ):
        r = visitor.get(guess)
        assert r.status_code == 404, guess
        assert b1 not in r.text and "o323" not in r.text
    for api in (
        f"/api/v1/assets/{b1}",
        f"/api/v1/assets/{a1}",
        f"/api/v1/assets/{b1}/thumbnail",
        "/api/v1/assets",
        "/api/v1/search?q=o323",
        "/api/v1/collections",
        "/api/v1/collections/B",
        "/api/v1/shares",
    ):
        assert visitor.get(api).status_code == 401, api

    used = [s for s in env.client.get("/api/v1/shares", headers=editor).json()["shares"]]
    mine = next(s for s in used if s["id"] == link["id"])
    assert mine["uses"] == 2 and mine["state"] == "active" and "token" not in mine
    views = [e for e in _audit(env, "share.view") if e["actor"] == f"share:{link['prefix']}"]
    assert len(views) == 2 and views[0]["client"] == "testclient"

    # An item moved to the trash leaves the link; restored, it is back.
    env.client.delete(f"/api/v1/assets/{a2}", headers=editor)
    assert visitor.get(f"/s/{token}/a/{a2}/thumbnail").status_code == 404
    env.client.post("/api/v1/trash/restore", headers=editor, json={"ids": [a2]})
    assert visitor.get(f"/s/{token}/a/{a2}/thumbnail").status_code == 200

    revoked = env.client.delete(f"/api/v1/shares/{link['id']}", headers=editor)
    assert revoked.json()["state"] == "revoked"
    assert visitor.get(f"/s/{token}").status_code == 404
    assert visitor.get(f"/s/{token}/a/{a1}/thumbnail").status_code == 404


def test_asset_links_downloads_passwords_and_expiry(env: Env) -> None:
    (one, other) = _ids(env, 331, 332)
    link = _share(env, asset_id=one[:10], allow_download=True, password="sesame-sesame")
    token = link["token"]
    visitor = env.client
    visitor.cookies.clear()
    locked = visitor.get(f"/s/{token}", headers={"Accept": "text/html"})
    assert locked.status_code == 200 and 'type="password"' in locked.text and one not in locked.text
    assert visitor.get(f"/s/{token}/a/{one}/thumbnail").status_code == 404
    wrong = visitor.post(f"/s/{token}", data={"password": "not-it-at-all"})
    assert wrong.status_code == 401
    right = visitor.post(f"/s/{token}", data={"password": "sesame-sesame"}, follow_redirects=False)
    assert right.status_code == 303
    original = visitor.get(f"/s/{token}/a/{one}/original")
    assert original.status_code == 200 and original.content == photo_bytes(331)
    assert visitor.get(f"/s/{token}/a/{other}/original").status_code == 404
    visitor.cookies.clear()
    assert visitor.get(f"/s/{token}/a/{one}/original").status_code == 404
    downloads = [e for e in _audit(env, "share.download") if e["target"] == one]
    assert len(downloads) == 1

    bad = env.client.post(
        "/api/v1/shares", headers=env.auth("editor"), json={"asset_id": one, "expires": "soon"}
    )
    assert bad.status_code == 400 and "expires" in bad.json()["message"]
    both = env.client.post(
        "/api/v1/shares", headers=env.auth("editor"), json={"asset_id": one, "collection": "A"}
    )
    assert both.status_code == 400
    assert (
        env.client.post(
            "/api/v1/shares", headers=env.auth("viewer"), json={"asset_id": one}
        ).status_code
        == 403
    )


def test_an_expired_link_answers_404(env: Env) -> None:
    from datetime import UTC, datetime, timedelta

    from assetloom.app import shares
    from assetloom.app.library import Library

    (one,) = _ids(env, 341)
    with Library.open(env.root) as lib:
        made = shares.create(lib, by="test", base_url="", asset_id=one, expires="1m")
        with lib.organise.write_session() as s, s.begin():
            from sqlalchemy import text

            past = datetime.now(UTC) - timedelta(minutes=5)
            s.execute(
                text("UPDATE shares SET expires_at = :at WHERE id = :id"),
                {"at": past, "id": made.id},
            )
    env.client.cookies.clear()
    assert env.client.get(f"/s/{made.token}").status_code == 404
    states = {
        s["id"]: s["state"]
        for s in env.client.get("/api/v1/shares", headers=env.auth("editor")).json()["shares"]
    }
    assert states[made.id] == "expired"
