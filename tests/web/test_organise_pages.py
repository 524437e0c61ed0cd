"""The collections, trash and share pages as a browser gets them (HTML forms, CSRF, roles,
zh-CN), and the visitor's pages of a link."""

from __future__ import annotations

import re
from urllib.parse import quote

from fastapi.testclient import TestClient

from assetloom.web import i18n
from tests.api.conftest import Env, photo_bytes, signed_in, upload

ORGANISE_TEMPLATES = [
    "collections.html",
    "collection.html",
    "share_made.html",
    "trash.html",
    "share_password.html",
    "share_visit.html",
    "share_asset.html",
    "_save_search.html",
    "_trash_button.html",
    "shares.html",
]


def _csrf(page: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert found, "the page has a form with the session's CSRF token"
    return found.group(1)


def test_every_organise_string_has_a_chinese_translation() -> None:
    merged = i18n.catalog("zh-CN")
    folder = i18n.LOCALES_DIR.parent / "templates"
    missing = []
    for name in ORGANISE_TEMPLATES:
        text = (folder / name).read_text(encoding="utf-8")
        for found in re.findall(r"""_\((["'])((?:(?!\1).)*)\1""", text):
            if found[1] not in merged:
                missing.append(f"{name}: {found[1]}")
    assert missing == []


def test_collection_pages_forms_and_roles(env: Env) -> None:
    ids = [
        a["asset_id"]
        for a in upload(env, *[(f"w{i}.jpg", photo_bytes(700 + i)) for i in range(3)])["added"]
    ]
    editor = signed_in(env, "editor")
    page = editor.get("/collections")
    assert page.status_code == 200 and 'id="new-collection"' in page.text
    token = _csrf(page.text)
    no_csrf = editor.post("/collections", data={"name": "Harbour"}, headers={"Accept": "text/html"})
    assert no_csrf.status_code == 403
    made = editor.post(
        "/collections", data={"name": "Harbour", "csrf_token": token}, follow_redirects=False
    )
    assert made.status_code == 303 and made.headers["location"] == "/collections/Harbour"
    env.client.post(
        "/api/v1/collections/Harbour/items", headers=env.auth("editor"), json={"ids": ids}
    )

    shown = editor.get("/collections/Harbour")
    assert all(f'data-item="{i}"' in shown.text for i in ids)
    assert "data-trash=" in shown.text and "/static/organise.js" in shown.text
    editor.post("/collections/Harbour/cover", data={"asset_id": ids[2], "csrf_token": token})
    editor.post("/collections/Harbour/remove", data={"asset_id": ids[0], "csrf_token": token})
    doc = env.client.get("/api/v1/collections/Harbour", headers=env.auth("viewer")).json()
    assert doc["cover_asset_id"] == ids[2] and [a["asset_id"] for a in doc["assets"]] == ids[1:]

    link = editor.post(
        "/collections/Harbour/share/new",
        data={"csrf_token": token, "expires": "7d", "allow_download": "true"},
    )
    shown_url = re.search(r'value="(http[^"]+/s/(als_[^"]+))"', link.text)
    assert shown_url, "the new link is shown once"
    visitor = TestClient(env.app)
    visit = visitor.get(f"/s/{shown_url.group(2)}", headers={"Accept": "text/html"})
    assert visit.status_code == 200 and "Harbour" in visit.text and ids[1] in visit.text
    assert ids[0] not in visit.text, "an item taken out is not shown"
    page = editor.get("/collections/Harbour")
    share_id = re.search(r'data-share="(\d+)"', page.text).group(1)
    editor.post(
        f"/shares/{share_id}/revoke",
        data={"csrf_token": token, "back": "/collections/Harbour"},
    )
    assert visitor.get(f"/s/{shown_url.group(2)}").status_code == 404

    renamed = editor.post(
        "/collections/Harbour/rename",
        data={"new_name": "Harbour 港口", "csrf_token": token},
        follow_redirects=False,
    )
    assert renamed.headers["location"] == "/collections/" + quote("Harbour 港口", safe="")
    viewer = signed_in(env, "viewer")
    assert 'id="new-collection"' not in viewer.get("/collections").text
    assert "data-trash=" not in viewer.get("/collections/Harbour 港口").text
    denied = viewer.post(
        "/collections", data={"name": "nope", "csrf_token": token}, headers={"Accept": "text/html"}
    )
    assert denied.status_code == 403
    gone = editor.post(
        "/collections/Harbour 港口/delete", data={"csrf_token": token}, follow_redirects=False
    )
    assert gone.headers["location"] == "/collections"
    assert (
        env.client.get("/api/v1/collections/Harbour 港口", headers=env.auth("viewer")).status_code
        == 404
    )


def test_save_a_search_as_a_smart_collection(env: Env) -> None:
    upload(env, ("okapi-notes.txt", b"Okapi sightings for the spring campaign.\n"))
    editor = signed_in(env, "editor")
    token = _csrf(editor.get("/collections").text)
    saved = editor.post(
        "/collections",
        data={"name": "okapis", "q": "okapi", "csrf_token": token},
        follow_redirects=False,
    )
    assert saved.status_code == 303
    page = editor.get("/collections/okapis")
    assert 'id="saved-search"' in page.text and "okapi-notes.txt" in page.text
    rendered = i18n.catalog("zh-CN")["Save this search"]
    assert rendered == "保存此搜索"


def test_trash_page_restores_and_empties(env: Env) -> None:
    (one, two) = [
        a["asset_id"]
        for a in upload(env, ("t1.jpg", photo_bytes(720)), ("t2.jpg", photo_bytes(721)))["added"]
    ]
    env.client.post("/api/v1/trash", headers=env.auth("editor"), json={"ids": [one, two]})
    viewer = signed_in(env, "viewer")
    assert viewer.get("/trash", headers={"Accept": "text/html"}).status_code == 403
    editor = signed_in(env, "editor", **{"Accept-Language": "zh-CN"})
    page = editor.get("/trash")
    assert page.status_code == 200 and "回收站" in page.text
    assert f'data-asset="{one}"' in page.text and f"/api/v1/trash/{one}/thumbnail" in page.text
    assert 'id="empty-form"' not in page.text, "only admins empty the trash"
    token = _csrf(page.text)
    editor.post("/trash/restore", data={"ids": [one], "csrf_token": token})
    listed = env.client.get("/api/v1/trash", headers=env.auth("editor")).json()["assets"]
    assert one not in {a["asset_id"] for a in listed} and two in {a["asset_id"] for a in listed}
    assert env.client.get(f"/api/v1/assets/{one}", headers=env.auth("viewer")).status_code == 200
    denied = editor.post(
        "/trash/empty", data={"csrf_token": token}, headers={"Accept": "text/html"}
    )
    assert denied.status_code == 403
    admin = signed_in(env, "admin")
    admin_page = admin.get("/trash")
    assert 'id="empty-form"' in admin_page.text
    admin.post("/trash/empty", data={"csrf_token": _csrf(admin_page.text)})
    assert env.client.get("/api/v1/trash", headers=env.auth("editor")).json()["total"] == 0


def test_visitor_pages_in_chinese_and_the_password_form(env: Env) -> None:
    (one,) = [a["asset_id"] for a in upload(env, ("v1.jpg", photo_bytes(730)))["added"]]
    link = env.client.post(
        "/api/v1/shares",
        headers=env.auth("editor"),
        json={"asset_id": one, "password": "open sesame"},
    ).json()
    visitor = TestClient(env.app, headers={"Accept-Language": "zh-CN", "Accept": "text/html"})
    locked = visitor.get(f"/s/{link['token']}")
    assert "与你分享" in locked.text and "v1.jpg" not in locked.text
    wrong = visitor.post(f"/s/{link['token']}", data={"password": "nope nope"})
    assert wrong.status_code == 401 and "密码不正确" in wrong.text
    opened = visitor.post(f"/s/{link['token']}", data={"password": "open sesame"})
    assert opened.status_code == 200 and "v1.jpg" in opened.text
    assert "下载原文件" not in visitor.get(f"/s/{link['token']}/a/{one}").text
    missing = visitor.get("/s/als_not-a-real-token")
    assert missing.status_code == 404 and "<html" in missing.text


def test_password_guesses_are_limited_and_audited(env: Env) -> None:
    (one,) = [a["asset_id"] for a in upload(env, ("v2.jpg", photo_bytes(731)))["added"]]
    link = env.client.post(
        "/api/v1/shares",
        headers=env.auth("editor"),
        json={"asset_id": one, "password": "right one!"},
    ).json()
    visitor = TestClient(env.app, headers={"Accept": "text/html"})
    for _ in range(5):
        assert visitor.post(f"/s/{link['token']}", data={"password": "guess"}).status_code == 401
    limited = visitor.post(f"/s/{link['token']}", data={"password": "right one!"})
    assert limited.status_code == 429 and int(limited.headers["retry-after"]) > 0
    log = env.client.get("/api/v1/audit?limit=500", headers=env.auth("admin")).json()["entries"]
    wrong = [
        e for e in log if e["action"] == "share.unlock" and e["actor"] == f"share:{link['prefix']}"
    ]
    assert len(wrong) == 5 and {e["outcome"] for e in wrong} == {"unauthenticated"}
    listed = env.client.get("/api/v1/shares", headers=env.auth("editor")).json()["shares"]
    assert next(s for s in listed if s["id"] == link["id"])["uses"] == 0, "guesses are no uses"


def test_the_share_links_page_lists_and_revokes(env: Env) -> None:
    (one,) = [a["asset_id"] for a in upload(env, ("v3.jpg", photo_bytes(732)))["added"]]
    link = env.client.post(
        "/api/v1/shares", headers=env.auth("editor"), json={"asset_id": one}
    ).json()
    assert (
        signed_in(env, "viewer").get("/shares", headers={"Accept": "text/html"}).status_code == 403
    )
    editor = signed_in(env, "editor", **{"Accept-Language": "zh-CN"})
    page = editor.get("/shares")
    assert page.status_code == 200 and "分享链接" in page.text
    assert f'data-share="{link["id"]}"' in page.text and link["token"] not in page.text
    editor.post(
        f"/shares/{link['id']}/revoke", data={"csrf_token": _csrf(page.text), "back": "/shares"}
    )
    assert TestClient(env.app).get(f"/s/{link['token']}").status_code == 404
