"""The search page's filter form: empty fields mean any; a bad field is said on the page."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from tests.api.conftest import Env, signed_in, upload


def test_search_page_filters(env: Env) -> None:
    upload(
        env, ("memo-a.txt", b"quarterly memo about boats\n"), ("memo-b.txt", b"memo on trains\n")
    )
    client = signed_in(env, "viewer")
    names = lambda page: re.findall(r'<span class="name">([^<]+)</span>', page.text)  # noqa: E731
    every = client.get("/search", params={"q": "memo", "type": "", "status": "", "since": ""})
    assert every.status_code == 200 and sorted(names(every)) == ["memo-a.txt", "memo-b.txt"]
    assert 'class="doc snippet"' in every.text, "text hits show their words"
    images = client.get("/search", params={"q": "memo", "type": "image"})
    assert names(images) == []
    approved = client.get("/search", params={"q": "memo", "status": "approved"})
    assert names(approved) == [] and 'value="approved" selected' in approved.text
    bad = client.get("/search", params={"q": "memo", "since": "soon", "min_width": "x"})
    assert bad.status_code == 200 and 'role="alert"' in bad.text and "not a date" in bad.text
    wrong = client.get("/search", params={"q": "memo", "status": "lost"})
    assert "no status" in wrong.text


def test_favicon(env: Env) -> None:
    icon = TestClient(env.app).get("/favicon.ico")
    assert icon.status_code == 200 and icon.headers["content-type"].startswith("image/svg+xml")
    assert b"<svg" in icon.content
