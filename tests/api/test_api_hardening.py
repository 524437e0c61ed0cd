"""Issue 9, the server's part: each attack replayed as HTTP requests through the app.

Metric labels stay bounded under random methods and paths; malformed multipart bodies and
too many filters are 400s, never 500s; query uploads cannot decode a pixel or text bomb;
spoofed X-Forwarded-For cannot dodge the sign-in limit, and one address cannot lock everyone
out; user names, anonymous visitors, Range/422 errors, caching and the audit log of failed
sign-ins behave.
"""

from __future__ import annotations

import io
import random
import re
import string
import struct
import threading
import time
import zlib
from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient
from PIL import Image

from assetloom.accounts import AccountService, Role
from assetloom.app.library import Library
from assetloom.errors import BadInputError
from assetloom.store.account_tables import UserRow
from tests.api.conftest import PASSWORD, Env, photo_bytes, png_bytes, upload

# ---------------------------------------------------------------------- 1. metric labels


def _metric_lines(client: TestClient) -> list[str]:
    return client.get("/metrics").text.splitlines()


def _token(rng: random.Random, k: int = 10) -> str:
    return "".join(rng.choices(string.ascii_uppercase, k=k))


def test_random_methods_and_paths_do_not_grow_metrics(make_env) -> None:  # type: ignore[no-untyped-def]
    env = make_env()
    rng = random.Random(9)
    h = env.auth("viewer")
    # One of each kind first, so the series they fall into exist before counting.
    env.client.request(_token(rng), "/api/v1/assets", headers=h)
    env.client.get(f"/no/such/{_token(rng)}", headers=h)
    _metric_lines(env.client)
    before = _metric_lines(env.client)
    methods = [_token(rng) for _ in range(300)]
    for method in methods:
        r = env.client.request(method, "/api/v1/assets", headers=h)
        assert r.status_code == 405 and r.json()["code"] == "method_not_allowed"
    paths = [f"/no/such/{_token(rng)}" for _ in range(100)]
    for path in paths:
        assert env.client.get(path, headers=h).status_code == 404
    after = _metric_lines(env.client)
    assert len(after) == len(before), "random methods and paths added series"
    text = "\n".join(after)
    assert 'method="other"' in text
    assert not any(m in text for m in methods)
    assert not any(p.rsplit("/", 1)[1] in text for p in paths)
    assert 'route="unmatched"' in text


# ---------------------------------------------------------------------- 2. malformed bodies
B = "XyZbound"


def _part(headers: bytes, data: bytes = b"x") -> bytes:
    return f"--{B}\r\n".encode() + headers + b"\r\n\r\n" + data + f"\r\n--{B}--\r\n".encode()


def _disposition(field: str) -> bytes:
    return f'Content-Disposition: form-data; name="{field}"; filename="a.jpg"'.encode()


def _malformed(field: str) -> dict[str, tuple[str, bytes]]:
    """name -> (boundary in Content-Type, body): each variant the issue lists."""
    ok = _disposition(field)
    return {
        "header line over 4 KB": (
            B,
            _part(
                f'Content-Disposition: form-data; name="{field}"; filename="{"a" * 5000}"'.encode()
            ),
        ),
        "9 part headers": (B, _part(ok + b"\r\n" + b"\r\n".join(b"X-%d: y" % i for i in range(9)))),
        "header without a colon": (B, _part(b"Content-Disposition form-data")),
        "boundary mismatch": ("other", _part(ok)),
        "10k-character boundary": ("b" * 10_000, _part(ok)),
        "random bytes": (B, random.Random(2).randbytes(5000)),
    }


UPLOAD_ROUTES = [("/api/v1/assets", "files", "editor"), ("/api/v1/verify", "files", "viewer")]
UPLOAD_ROUTES += [("/api/v1/search?q=dog", "image", "viewer")]


@pytest.mark.parametrize(("path", "field", "role"), UPLOAD_ROUTES)
def test_malformed_multipart_is_a_400(env: Env, path: str, field: str, role: str) -> None:
    for name, (boundary, body) in _malformed(field).items():
        r = env.client.post(
            path,
            headers={
                **env.auth(role),
                "Content-Type": f"multipart/form-data; boundary={boundary}",
            },
            content=body,
        )
        assert r.status_code == 400, f"{name}: {r.status_code} {r.text}"
        doc = r.json()
        assert doc["code"] == "bad_input", name
        assert "multipart" in doc["message"] and doc["hint"] and doc["request_id"], name
    assert not any((env.root / "tmp" / "uploads").iterdir()), "nothing is left behind"


def test_too_many_tag_filters_is_a_400(env: Env) -> None:
    tags = "&".join(f"tag=t{i}" for i in range(1100))
    for path in (f"/api/v1/assets?{tags}", f"/api/v1/search?q=dog&{tags}"):
        r = env.client.get(path, headers=env.auth("viewer"))
        assert r.status_code == 400, r.text
        assert r.json()["code"] == "bad_input" and "tag" in r.json()["message"]
    browser = TestClient(env.app)
    _login(browser, "viewer", PASSWORD)
    for path in (f"/?{tags}", f"/ui/tiles?{tags}"):
        assert browser.get(path).status_code == 400
    ok = env.client.get("/api/v1/assets?tag=a&tag=b", headers=env.auth("viewer"))
    assert ok.status_code == 200


# ---------------------------------------------------------------------- 3. query bombs


def _png_declaring(width: int, height: int) -> bytes:
    """A valid 1-bit PNG of `width` x `height` black pixels: tiny on disk, huge decoded."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(kind + data)
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)

    row = b"\0" * (1 + (width + 7) // 8)
    squeeze = zlib.compressobj(9)
    idat = b"".join(squeeze.compress(row) for _ in range(height)) + squeeze.flush()
    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")
    )


def test_pixel_bomb_queries_are_refused_before_decoding(env: Env) -> None:
    bomb = _png_declaring(14_000, 14_000)  # 196 MP declared, 25 KB sent
    assert len(bomb) < 100_000
    h = env.auth("viewer")
    r = env.client.post("/api/v1/verify", headers=h, files=[("files", ("bomb.png", bomb))])
    assert r.status_code == 413, r.text
    doc = r.json()
    assert doc["code"] == "too_large"
    assert doc["message"].startswith("bomb.png: 14000x14000 px (196 MP decoded)")
    assert "24 MP limit" in doc["message"] and doc["hint"]
    r = env.client.post("/api/v1/search", headers=h, files=[("image", ("bomb.png", bomb))])
    assert r.status_code == 413 and r.json()["code"] == "too_large"
    assert not any((env.root / "tmp" / "uploads").iterdir())


def test_query_pixels_count_after_reduced_decoding(make_env) -> None:  # type: ignore[no-untyped-def]
    """JPEGs decode at a reduced DCT scale, so only what is really decoded counts."""
    env = make_env(query_max_pixels=1_000_000)
    big = io.BytesIO()
    Image.new("RGB", (4096, 4096), (90, 120, 200)).save(big, "JPEG", quality=60)  # 16.8 MP
    png = io.BytesIO()
    Image.new("RGB", (1200, 1000), (90, 120, 200)).save(png, "PNG")  # 1.2 MP, no reduced decode
    h = env.auth("viewer")
    r = env.client.post("/api/v1/verify", headers=h, files=[("files", ("big.jpg", big.getvalue()))])
    assert r.status_code == 200, r.text
    r = env.client.post(
        "/api/v1/verify", headers=h, files=[("files", ("wide.png", png.getvalue()))]
    )
    assert r.status_code == 413 and "wide.png" in r.json()["message"]


def test_text_bomb_queries_are_refused(make_env) -> None:  # type: ignore[no-untyped-def]
    env = make_env(query_max_text_bytes=100_000)
    h = env.auth("viewer")
    line = b"a long document about foxes, dogs and lakes, line %d\n"
    big = b"".join(line % i for i in range(4000))  # ~200 KB
    small = b"".join(line % i for i in range(500))
    r = env.client.post("/api/v1/verify", headers=h, files=[("files", ("big.txt", big))])
    assert r.status_code == 413, r.text
    assert "big.txt" in r.json()["message"] and r.json()["code"] == "too_large"
    r = env.client.post("/api/v1/verify", headers=h, files=[("files", ("small.txt", small))])
    assert r.status_code == 200 and r.json()["results"][0]["file"] == "small.txt"


def test_query_decodes_wait_for_a_slot(make_env) -> None:  # type: ignore[no-untyped-def]
    """With every decode slot taken, a verify waits (seen in /metrics), then completes."""
    from assetloom.ingest.decode import query_decodes

    env = make_env(query_decode_slots=1)
    outcome: list[int] = []

    def verify() -> None:
        other = TestClient(env.app)
        r = other.post(
            "/api/v1/verify", headers=env.auth("viewer"), files=[("files", ("q.png", png_bytes()))]
        )
        outcome.append(r.status_code)

    with query_decodes.slot():
        worker = threading.Thread(target=verify)
        worker.start()
        deadline = time.monotonic() + 60
        waiting = 'assetloom_query_decodes{state="waiting"} 1.0'
        while waiting not in env.client.get("/metrics").text and time.monotonic() < deadline:
            time.sleep(0.05)
        assert waiting in env.client.get("/metrics").text
        assert worker.is_alive() and not outcome
    worker.join(timeout=60)
    assert outcome == [200]


# ---------------------------------------------------------------------- 4. sign-in limits


def _login(client: TestClient, username: str, password: str, **headers: str):  # type: ignore[no-untyped-def]
    form = client.get("/login")
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', form.text).group(1)
    return client.post(
        "/login",
        data={"username": username, "password": password, "csrf_token": csrf},
        headers=headers,
        follow_redirects=False,
    )


def _failed_logins(env: Env) -> list[dict]:
    log = env.client.get("/api/v1/audit?limit=1000", headers=env.auth("admin")).json()["entries"]
    return [e for e in log if e["action"] == "session.login" and e["outcome"] != "ok"]


def test_spoofed_forwarded_for_does_not_dodge_the_limit(make_env) -> None:  # type: ignore[no-untyped-def]
    """The proxy (here the test client) appends the peer it saw; the left part is the
    client's own claim, new on every try."""
    env = make_env(trust_proxy=True, trusted_proxies="testclient")
    client = TestClient(env.app)
    codes = [
        _login(
            client, "viewer", "wrong password", **{"X-Forwarded-For": f"10.{i}.0.1, 203.0.113.7"}
        ).status_code
        for i in range(40)
    ]
    assert codes[:5] == [401] * 5 and set(codes[5:]) == {429}
    right = _login(client, "viewer", PASSWORD, **{"X-Forwarded-For": "10.99.0.1, 203.0.113.7"})
    assert right.status_code == 429
    assert int(right.headers["retry-after"]) > 0
    assert {e["client"] for e in _failed_logins(env)} == {"203.0.113.7"}


def test_forwarded_for_is_ignored_from_an_untrusted_peer(make_env) -> None:  # type: ignore[no-untyped-def]
    env = make_env(trust_proxy=True)  # trusts loopback proxies only; the test client is not one
    client = TestClient(env.app)
    _login(client, "viewer", "wrong password", **{"X-Forwarded-For": "198.51.100.1"})
    assert [e["client"] for e in _failed_logins(env)] == ["testclient"]


def test_one_account_is_limited_across_addresses(make_env) -> None:  # type: ignore[no-untyped-def]
    """Guesses from many real addresses (each appended by the proxy) still add up."""
    env = make_env(trust_proxy=True, trusted_proxies="testclient")
    client = TestClient(env.app)
    codes = [
        _login(client, "viewer", "wrong", **{"X-Forwarded-For": f"198.51.100.{i}"}).status_code
        for i in range(40)
    ]
    assert codes[:10] == [401] * 10 and set(codes[10:]) == {429}
    fresh = _login(client, "viewer", PASSWORD, **{"X-Forwarded-For": "192.0.2.200"})
    assert fresh.status_code == 429 and int(fresh.headers["retry-after"]) > 0
    other = _login(client, "editor", PASSWORD, **{"X-Forwarded-For": "192.0.2.200"})
    assert other.status_code == 303, "other accounts are unaffected"


def test_a_shared_address_does_not_lock_everyone_out(make_env) -> None:  # type: ignore[no-untyped-def]
    """Everyone behind one proxy or NAT has one address: 40 failures from it (over many
    names) leave people who type their password right able to sign in."""
    env = make_env()
    client = TestClient(env.app)
    for i in range(40):
        assert _login(client, f"guess{i}", "wrong").status_code == 401
    assert _login(client, "editor", PASSWORD).status_code == 303
    again = _login(client, "guess0", "wrong")
    assert again.status_code == 429, "a busy address gets one try per account"
    assert int(again.headers["retry-after"]) > 0


# ---------------------------------------------------------------------- 8. the rest


def test_user_names_are_validated(env: Env) -> None:
    h = env.auth("admin")
    for bad in ("dave\n", "da\x00ve", "dave\u202e", "anonymous", "Anonymous", "é" * 3, " dave"):
        r = env.client.post("/api/v1/users", headers=h, json={"name": bad, "role": "viewer"})
        assert r.status_code == 400, bad
        assert r.json()["code"] == "bad_input" and r.json()["hint"]
    r = env.client.post("/api/v1/users", headers=h, json={"name": "Dave.K", "role": "viewer"})
    assert r.status_code == 200
    r = env.client.post("/api/v1/users", headers=h, json={"name": "dave.k", "role": "viewer"})
    assert r.status_code == 409


def test_user_names_are_validated_for_the_command_line(tmp_path) -> None:  # type: ignore[no-untyped-def]
    with Library.create(tmp_path / "lib") as lib:
        accounts = AccountService.of(lib)
        for bad in ("eve\n", "anonymous", "ANONYMOUS"):
            with pytest.raises(BadInputError):
                accounts.add_user(bad, Role.VIEWER, None)
        assert accounts.add_user("eve", Role.VIEWER, None).name == "eve"


def test_user_add_command_checks_the_name_before_the_password(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import json

    import typer
    from typer.testing import CliRunner

    from assetloom.cli import common
    from assetloom.cli.accounts import user_app

    Library.create(tmp_path / "lib").close()
    monkeypatch.setattr(common.state, "library", tmp_path / "lib")
    cli = typer.Typer()
    cli.add_typer(user_app, name="user")
    args = ["user", "add", "anonymous", "--role", "viewer", "--password-stdin", "--json"]
    result = CliRunner().invoke(cli, args, input="")
    assert result.exit_code != 0
    error = json.loads(result.stdout)["error"]
    assert error["code"] == "bad_input" and "reserved" in error["message"]


def test_anonymous_visitors_never_list_tokens(make_env) -> None:  # type: ignore[no-untyped-def]
    """Even if a user row named `anonymous` exists (made before names were checked)."""
    env = make_env(public_read=True)
    lib = env.app.state.services.lib
    with lib.write_session.begin() as s:
        s.add(
            UserRow(name="anonymous", role="viewer", disabled=False, created_at=datetime.now(UTC))
        )
    AccountService.of(lib).create_token("anonymous", "made-before-the-check")
    anon = TestClient(env.app)
    assert anon.get("/api/v1/me").json()["via"] == "anonymous"
    assert anon.get("/api/v1/tokens").json() == {"tokens": []}
    assert "made-before-the-check" not in anon.get("/account").text


def test_range_errors_are_json(env: Env) -> None:
    asset_id = upload(env, ("range.jpg", photo_bytes(901)))["added"][0]["asset_id"]
    url = f"/api/v1/assets/{asset_id}/original"
    h = env.auth("viewer")
    r = env.client.get(url, headers={**h, "Range": "bytes=999999999-"})
    assert r.status_code == 416
    assert r.json()["code"] == "range_not_satisfiable" and r.json()["request_id"]
    assert re.fullmatch(r"bytes \*/\d+", r.headers["content-range"])
    for bad in ("bytes=5-2", "items=0-1", "nonsense"):
        r = env.client.get(url, headers={**h, "Range": bad})
        assert r.status_code == 400, bad
        assert r.headers["content-type"] == "application/json"
        assert r.json()["code"] == "bad_request" and r.json()["request_id"]
    r = env.client.get(url, headers={**h, "Range": "bytes=0-9"})
    assert r.status_code == 206 and len(r.content) == 10
    r = env.client.get(url, headers={**h, "Range": "bytes=999999999-", "If-Range": '"other"'})
    assert r.status_code == 200, "a stale If-Range means the whole file, not an error"


def test_422_is_documented_as_the_error_shape(env: Env) -> None:
    doc = env.app.openapi()
    refs = {
        op["responses"]["422"]["content"]["application/json"]["schema"]["$ref"]
        for item in doc["paths"].values()
        for op in item.values()
        if "422" in op["responses"]
    }
    assert refs == {"#/components/schemas/ValidationErrorOut"}
    schema = doc["components"]["schemas"]["ValidationErrorOut"]
    assert {"code", "message", "request_id", "errors"} <= set(schema["required"])
    assert "HTTPValidationError" not in doc["components"]["schemas"]
    body = env.client.get("/api/v1/assets?limit=0", headers=env.auth("viewer")).json()
    assert set(schema["required"]) <= set(body)


def test_cache_control(env: Env) -> None:
    asset_id = upload(env, ("cache.jpg", photo_bytes(902)))["added"][0]["asset_id"]
    browser = TestClient(env.app)
    _login(browser, "viewer", PASSWORD)
    for page in ("/", f"/assets/{asset_id}", "/account", "/login"):
        assert browser.get(page).headers["cache-control"] == "no-store", page
    assert browser.get("/api/v1/me").headers["cache-control"] == "no-store"
    for suffix in ("original", "thumbnail"):
        r = browser.get(f"/api/v1/assets/{asset_id}/{suffix}")
        assert r.headers["cache-control"].startswith("private"), suffix
    assert "no-store" not in browser.get("/static/app.css").headers.get("cache-control", "")


def test_failed_sign_in_names_are_escaped_and_capped(make_env) -> None:  # type: ignore[no-untyped-def]
    env = make_env()
    client = TestClient(env.app)
    name = "\x1b[2J\x1b[31mroot\r\nfake line\u202e" + "x" * 39
    assert len(name) <= 64
    assert _login(client, name, "wrong").status_code == 401
    entry = _failed_logins(env)[0]
    for value in (entry["actor"], entry["target"]):
        assert value.isprintable() and len(value) <= 64
        assert value.startswith("\\x1b[2J\\x1b[31mroot\\r\\nfake line\\u202e")
