"""API fixtures: a library with one user per role, an app over it, and a live server."""

from __future__ import annotations

import io
import re
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from PIL import Image

from assetloom.accounts import AccountService, Role
from assetloom.api.config import ServerSettings
from assetloom.app.library import Library
from assetloom.server.app import create_app
from tests.live_app import serving
from tests.media import make_photo

PASSWORD = "correct horse battery"


@dataclass
class Env:
    root: Path
    app: FastAPI
    client: TestClient
    tokens: dict[str, str] = field(default_factory=dict)

    def auth(self, role: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[role]}"}


def make_library(root: Path) -> dict[str, str]:
    """A new library with users admin/editor/viewer (password PASSWORD); returns their tokens."""
    with Library.create(root) as lib:
        accounts = AccountService.of(lib)
        tokens = {}
        for role in Role:
            accounts.add_user(role.value, role, PASSWORD)
            tokens[role.value] = accounts.create_token(role.value, "tests")[1]
    return tokens


def upload(env: Env, *files: tuple[str, bytes], role: str = "editor") -> dict:
    """POST files to /api/v1/assets as `role`; the add report."""
    r = env.client.post(
        "/api/v1/assets",
        headers=env.auth(role),
        files=[("files", (name, data, "application/octet-stream")) for name, data in files],
    )
    assert r.status_code == 200, r.text
    return r.json()


def photo_bytes(seed: int, size: tuple[int, int] = (320, 240), fmt: str = "JPEG") -> bytes:
    with tempfile.TemporaryDirectory() as folder:
        return make_photo(Path(folder) / f"p.{fmt.lower()}", seed, size, fmt).read_bytes()


def png_bytes(colour: tuple[int, int, int] = (200, 30, 30)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (64, 48), colour).save(buf, "PNG")
    return buf.getvalue()


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Env]:
    """One app per test module (tests upload distinct files, so they do not interfere)."""
    root = tmp_path_factory.mktemp("api") / "lib"
    tokens = make_library(root)
    app = create_app(root, ServerSettings())
    with TestClient(app) as client:
        yield Env(root, app, client, tokens)


@pytest.fixture
def make_env(tmp_path: Path) -> Iterator[callable]:  # type: ignore[valid-type]
    """A fresh library and app with custom server settings."""
    clients: list[TestClient] = []

    def make(**settings: object) -> Env:
        root = tmp_path / f"lib{len(clients)}"
        tokens = make_library(root)
        app = create_app(root, ServerSettings(**settings))
        client = TestClient(app)
        client.__enter__()
        clients.append(client)
        return Env(root, app, client, tokens)

    yield make
    for client in clients:
        client.__exit__(None, None, None)


@dataclass
class LiveServer:
    url: str
    env: Env


@pytest.fixture(scope="module")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """The app under a real uvicorn on a free loopback port (threads, sockets, streaming)."""
    root = tmp_path_factory.mktemp("live") / "lib"
    tokens = make_library(root)
    app = create_app(root, ServerSettings())
    with serving(app, lifespan="on") as url:
        yield LiveServer(url, Env(root, app, TestClient(app, base_url=url), tokens))


def signed_in(env: Env, user: str, **headers: str) -> TestClient:
    """A web client signed in as `user` (a session cookie, as a browser has it)."""
    client = TestClient(env.app, headers=headers)
    form = client.get("/login")
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', form.text).group(1)
    r = client.post(
        "/login",
        data={"username": user, "password": PASSWORD, "csrf_token": csrf},
        follow_redirects=False,
    )
    assert r.status_code == 303
    return client
