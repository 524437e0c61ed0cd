"""Web pages render the library's answers (the browser tests drive them for real)."""

from __future__ import annotations

import re

from tests.api.conftest import Env, photo_bytes, signed_in


def test_library_grid_pages_and_filters(env: Env) -> None:
    files = [("files", (f"g{i}.jpg", photo_bytes(400 + i), "image/jpeg")) for i in range(65)]
    r = env.client.post("/api/v1/assets", headers=env.auth("editor"), files=files)
    assert len(r.json()["added"]) == 65
    client = signed_in(env, "viewer")
    page = client.get("/")
    assert page.status_code == 200
    assert page.text.count('class="tile"') == 60
    next_url = re.search(r'data-next="([^"]+)"', page.text).group(1)
    more = client.get(next_url.replace("&amp;", "&"))
    assert more.text.count('class="tile"') == 5 and "data-next" not in more.text
    assert client.get("/?type=text").text.count('class="tile"') == 0
    assert "Upload" not in page.text.split("</nav>")[0], "viewers get no upload link"


def test_asset_page_and_errors(env: Env) -> None:
    r = env.client.post(
        "/api/v1/assets",
        headers=env.auth("editor"),
        files=[("files", ("<img src=x onerror=alert(1)>.jpg", photo_bytes(480), "image/jpeg"))],
    )
    asset_id = r.json()["added"][0]["asset_id"]
    client = signed_in(env, "editor")
    page = client.get(f"/assets/{asset_id}")
    assert page.status_code == 200
    assert "&lt;img src=x onerror=alert(1)&gt;.jpg" in page.text and "<img src=x" not in page.text
    assert "<th>source</th><td>upload by editor: &lt;img src=x onerror=alert(1)&gt;.jpg</td>" in (
        page.text
    )
    assert f"/api/v1/ledger/proof/{asset_id}" in page.text
    assert 'data-delete="' in page.text
    missing = client.get("/assets/ffffffffff", headers={"Accept": "text/html"})
    assert missing.status_code == 404 and "Something went wrong" in missing.text


def test_admin_and_account_pages(env: Env) -> None:
    assert signed_in(env, "editor").get("/admin").status_code == 403
    admin = signed_in(env, "admin")
    page = admin.get("/admin")
    assert page.status_code == 200 and "session.login" in page.text
    assert admin.get("/account").status_code == 200


def test_docs_are_served_offline(env: Env) -> None:
    docs = env.client.get("/docs")
    assert docs.status_code == 200 and "/static/vendor/swagger-ui/swagger-ui-bundle.js" in docs.text
    assert env.client.get("/static/vendor/swagger-ui/swagger-ui-bundle.js").status_code == 200
    spec = env.client.get("/openapi.json").json()
    assert "/api/v1/assets" in spec["paths"] and "/login" not in spec["paths"]
