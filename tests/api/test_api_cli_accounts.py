"""`user`, `token` and `audit-log` commands; a token made on the command line works over HTTP."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import typer
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from assetloom.app.library import Library
from assetloom.cli import common
from assetloom.cli.accounts import audit_log, token_app, user_app
from assetloom.server.app import create_app

cli = typer.Typer()
cli.add_typer(user_app, name="user")
cli.add_typer(token_app, name="token")
cli.command("audit-log")(audit_log)


@pytest.fixture
def root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "lib"
    Library.create(path).close()
    monkeypatch.setattr(common.state, "library", path)
    return path


def _run(*args: str, stdin: str | None = None) -> tuple[int, dict]:
    result = CliRunner().invoke(cli, [*args, "--json"], input=stdin)
    return result.exit_code, json.loads(result.stdout) if result.stdout.strip() else {}


def test_first_admin_token_and_audit(root: Path) -> None:
    code, user = _run(
        "user", "add", "root", "--role", "admin", "--password-stdin", stdin="s3cret-pass\n"
    )
    assert code == 0 and user["role"] == "admin" and user["has_password"]
    code, again = _run("user", "add", "ROOT", "--role", "viewer", "--no-password")
    assert code == 1 and again["error"]["code"] == "user_exists"
    code, bad = _run("user", "add", "x", "--role", "viewer", "--password-stdin", stdin="short\n")
    assert code == 1 and "8 characters" in bad["error"]["message"]

    code, made = _run("token", "create", "root", "--label", "nightly")
    assert code == 0 and made["token"].startswith("alt_") and made["label"] == "nightly"
    with TestClient(create_app(root)) as client:
        me = client.get("/api/v1/me", headers={"Authorization": f"Bearer {made['token']}"})
        assert me.json() == {"name": "root", "role": "admin", "via": "token"}
        code, listed = _run("token", "list")
        assert [t["id"] for t in listed["tokens"]] == [made["id"]]
        assert made["token"] not in json.dumps(listed)
        code, revoked = _run("token", "revoke", str(made["id"]))
        assert code == 0 and revoked["revoked"]
        me = client.get("/api/v1/me", headers={"Authorization": f"Bearer {made['token']}"})
        assert me.status_code == 401
    code, missing = _run("token", "revoke", "999")
    assert code == 3 and missing["error"]["code"] == "token_not_found"

    code, changed = _run("user", "set", "root", "--role", "editor", "--disable")
    assert changed["role"] == "editor" and changed["disabled"]
    code, log = _run("audit-log")
    actions = [e["action"] for e in log["entries"]]
    assert actions == ["user.update", "token.revoke", "token.create", "user.add"]
    assert all(e["actor"].startswith("cli") and e["client"] == "local" for e in log["entries"])
    code, users = _run("user", "list")
    assert [u["name"] for u in users["users"]] == ["root"]
