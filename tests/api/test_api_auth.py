"""Roles, tokens, sessions + CSRF, rate limiting, anonymous access, audit, error JSON."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from tests.api.conftest import PASSWORD, Env, photo_bytes


def _files(seed: int) -> list[tuple[str, tuple[str, bytes, str]]]:
    return [("files", (f"r{seed}.jpg", photo_bytes(seed), "image/jpeg"))]


def test_anonymous_is_refused_by_default(env: Env) -> None:
    r = env.client.get("/api/v1/assets")
    assert r.status_code == 401
    assert r.headers["www-authenticate"] == "Bearer"
    body = r.json()
    assert body["code"] == "unauthenticated" and body["message"]
    assert re.fullmatch(r"[0-9a-f]{16}", body["request_id"])
    assert r.headers["x-request-id"] == body["request_id"]


def test_bad_token_is_refused(env: Env) -> None:
    r = env.client.get("/api/v1/assets", headers={"Authorization": "Bearer alt_nope"})
    assert r.status_code == 401 and r.json()["code"] == "unauthenticated"


def test_roles(env: Env) -> None:
    assert (
        env.client.post("/api/v1/assets", headers=env.auth("viewer"), files=_files(201)).status_code
        == 403
    )
    assert (
        env.client.post("/api/v1/assets", headers=env.auth("editor"), files=_files(202)).status_code
        == 200
    )
    assert env.client.get("/api/v1/users", headers=env.auth("editor")).status_code == 403
    assert env.client.get("/api/v1/audit", headers=env.auth("editor")).json()["code"] == "forbidden"
    users = env.client.get("/api/v1/users", headers=env.auth("admin")).json()["users"]
    assert {u["name"]: u["role"] for u in users} == {
        "admin": "admin",
        "editor": "editor",
        "viewer": "viewer",
    }
    assert env.client.get("/api/v1/me", headers=env.auth("viewer")).json() == {
        "name": "viewer",
        "role": "viewer",
        "via": "token",
    }


def test_forbidden_upload_is_not_read(env: Env) -> None:
    """Authorisation happens before the body is streamed: nothing reaches the disk."""
    r = env.client.post("/api/v1/assets", headers=env.auth("viewer"), files=_files(203))
    assert r.status_code == 403
    assert not any((env.root / "tmp" / "uploads").glob("*/*"))


def test_tokens_are_shown_once_and_revocable(env: Env) -> None:
    made = env.client.post("/api/v1/tokens", headers=env.auth("viewer"), json={"label": "ci"})
    assert made.status_code == 200
    token = made.json()["token"]
    listed = env.client.get("/api/v1/tokens", headers=env.auth("viewer")).json()["tokens"]
    assert all("token" not in t for t in listed)
    assert any(t["prefix"] == token[:10] for t in listed)
    me = {"Authorization": f"Bearer {token}"}
    assert env.client.get("/api/v1/me", headers=me).status_code == 200
    other = env.client.post("/api/v1/tokens", headers=env.auth("viewer"), json={"user": "admin"})
    assert other.status_code == 403
    revoked = env.client.delete(f"/api/v1/tokens/{made.json()['id']}", headers=env.auth("viewer"))
    assert revoked.json()["revoked"] is True
    assert env.client.get("/api/v1/me", headers=me).status_code == 401


def test_user_management_by_admin(env: Env) -> None:
    h = env.auth("admin")
    r = env.client.post(
        "/api/v1/users", headers=h, json={"name": "carol", "role": "viewer", "password": "short"}
    )
    assert r.status_code == 400 and r.json()["code"] == "bad_input"
    r = env.client.post(
        "/api/v1/users", headers=h, json={"name": "carol", "role": "viewer", "password": PASSWORD}
    )
    assert r.status_code == 200 and r.json()["role"] == "viewer"
    assert (
        env.client.post(
            "/api/v1/users", headers=h, json={"name": "Carol", "role": "viewer"}
        ).status_code
        == 409
    )
    r = env.client.patch("/api/v1/users/carol", headers=h, json={"role": "editor"})
    assert r.json()["role"] == "editor"
    token = env.client.post("/api/v1/tokens", headers=h, json={"user": "carol"}).json()["token"]
    env.client.patch("/api/v1/users/carol", headers=h, json={"disabled": True})
    assert (
        env.client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}).status_code
        == 401
    )
    assert env.client.patch("/api/v1/users/nobody", headers=h, json={}).status_code == 404


def _login(client: TestClient, username: str, password: str, next_url: str = "/") -> object:
    form = client.get("/login")
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', form.text).group(1)
    return client.post(
        "/login",
        data={"username": username, "password": password, "csrf_token": csrf, "next": next_url},
        follow_redirects=False,
    )


def test_web_session_needs_csrf_for_writes(env: Env) -> None:
    client = TestClient(env.app)
    r = _login(client, "editor", PASSWORD, "/upload")
    assert r.status_code == 303 and r.headers["location"] == "/upload"
    cookie = r.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie
    page = client.get("/upload")
    assert page.status_code == 200
    csrf = re.search(r'name="csrf-token" content="([^"]+)"', page.text).group(1)
    assert client.get("/api/v1/me").json()["via"] == "session"
    forged = client.post("/api/v1/assets", files=_files(210))
    assert forged.status_code == 403 and forged.json()["code"] == "csrf_failed"
    wrong = client.post("/api/v1/assets", files=_files(210), headers={"X-CSRF-Token": "x" * 43})
    assert wrong.status_code == 403
    ok = client.post("/api/v1/assets", files=_files(210), headers={"X-CSRF-Token": csrf})
    assert ok.status_code == 200
    out = client.post("/logout", data={"csrf_token": csrf}, follow_redirects=False)
    assert out.status_code == 303
    assert client.get("/api/v1/me").status_code == 401


def test_login_form_is_csrf_protected_and_redirects_locally(env: Env) -> None:
    client = TestClient(env.app)
    client.get("/login")
    r = client.post(
        "/login",
        data={"username": "admin", "password": PASSWORD, "csrf_token": "forged"},
        follow_redirects=False,
    )
    assert r.status_code == 400
    r = _login(client, "admin", PASSWORD, "//evil.example/")
    assert r.status_code == 303 and r.headers["location"] == "/"
    assert client.get("/", follow_redirects=False).status_code == 200


def test_pages_redirect_to_sign_in(env: Env) -> None:
    client = TestClient(env.app)
    r = client.get("/search?q=dog", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/login?next=%2Fsearch%3Fq%3Ddog"


def test_login_rate_limit(make_env) -> None:  # type: ignore[no-untyped-def]
    env = make_env(login_failures_per_user=3)
    client = TestClient(env.app)
    for _ in range(3):
        assert _login(client, "viewer", "wrong password").status_code == 401
    limited = _login(client, "viewer", PASSWORD)
    assert limited.status_code == 429
    assert "Too many failed sign-ins" in limited.text
    assert _login(client, "editor", PASSWORD).status_code == 303, "other users are unaffected"
    log = env.client.get("/api/v1/audit", headers=env.auth("admin")).json()["entries"]
    failed = [e for e in log if e["action"] == "session.login" and e["outcome"] != "ok"]
    assert len(failed) == 3 and failed[0]["actor"] == "viewer"
    metrics = env.client.get("/metrics").text
    assert "assetloom_login_failures_total 3.0" in metrics


def test_public_read(make_env) -> None:  # type: ignore[no-untyped-def]
    env = make_env(public_read=True)
    anon = TestClient(env.app)
    assert anon.get("/api/v1/assets").status_code == 200
    assert anon.get("/api/v1/me").json()["via"] == "anonymous"
    assert anon.get("/", follow_redirects=False).status_code == 200
    assert anon.post("/api/v1/assets", files=_files(220)).status_code == 401
    assert anon.post("/api/v1/verify", files=_files(221)).status_code == 401
    assert anon.get("/api/v1/users").status_code == 401


def test_security_headers(env: Env) -> None:
    r = env.client.get("/login")
    assert r.headers["x-content-type-options"] == "nosniff"
    assert r.headers["x-frame-options"] == "DENY"
    assert "default-src 'self'" in r.headers["content-security-policy"]
    assert "frame-ancestors 'none'" in r.headers["content-security-policy"]
    assert "server" not in r.headers or "uvicorn" not in r.headers.get("server", "")


def test_error_json_shapes(env: Env) -> None:
    h = env.auth("viewer")
    r = env.client.get("/api/v1/nope", headers=h)
    assert r.status_code == 404 and r.json()["code"] == "not_found"
    r = env.client.get("/api/v1/assets?limit=0", headers=h)
    assert r.status_code == 422
    assert r.json()["code"] == "invalid_request" and "limit" in r.json()["message"]
    r = env.client.put("/api/v1/assets", headers=h)
    assert r.status_code == 405 and r.json()["code"] == "method_not_allowed"
    r = env.client.get("/api/v1/search", headers=h)
    assert r.status_code == 400 and r.json()["code"] == "bad_input"
    r = env.client.post(
        "/api/v1/assets",
        headers=env.auth("editor"),
        content=b"{}",
    )
    assert r.status_code == 415 and r.json()["code"] == "unsupported_media"
    r = env.client.post(
        "/api/v1/assets", headers=env.auth("editor"), files=[("other", ("x.jpg", b"x"))]
    )
    assert r.status_code == 400 and "unexpected file field" in r.json()["message"]
    r = env.client.post("/api/v1/assets", headers=env.auth("editor"), data={"a": "b"}, files=[])
    assert r.status_code in (400, 415)


def test_upload_limits(make_env) -> None:  # type: ignore[no-untyped-def]
    env = make_env(max_upload_files=2, max_request_bytes=200_000)
    h = env.auth("editor")
    three = [("files", (f"{i}.jpg", photo_bytes(230 + i), "image/jpeg")) for i in range(3)]
    r = env.client.post("/api/v1/assets", headers=h, files=three)
    assert r.status_code == 413 and r.json()["code"] == "too_large"
    big = [("files", ("big.bin", b"\0" * 300_000, "application/octet-stream"))]
    r = env.client.post("/api/v1/assets", headers=h, files=big)
    assert r.status_code == 413
    assert not any((env.root / "tmp" / "uploads").iterdir()), "nothing is left behind"
    assert env.client.get("/api/v1/assets", headers=h).json()["total"] == 0


def test_per_file_limit_is_the_library_setting(make_env, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("ASSETLOOM_MAX_FILE_BYTES", "5000")
    env = make_env()
    r = env.client.post(
        "/api/v1/assets",
        headers=env.auth("editor"),
        files=[("files", ("big.jpg", photo_bytes(240), "image/jpeg"))],
    )
    assert r.status_code == 413
    assert "big.jpg is over the 5000-byte limit" in r.json()["message"]
