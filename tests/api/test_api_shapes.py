"""The CLI's `--json` and the API print the same documents, from the same models."""

from __future__ import annotations

import json

from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute

from assetloom.api.routers import accounts, assets, copies, ledger, search, system, tags
from tests.api.conftest import Env, photo_bytes, upload
from tests.cli_run import cli


def _compact(cli_stdout: str) -> bytes:
    """`--json` output as the API writes JSON: no spaces, UTF-8."""
    doc = json.loads(cli_stdout)
    return json.dumps(doc, ensure_ascii=False, separators=(",", ":")).encode()


def test_routes_with_a_response_model_render_as_the_cli_does() -> None:
    """FastAPI's own writer for response models spells floats its own way (1e-5, not the
    1e-05 `--json` prints); every such route must render through JSONResponse instead."""
    routes = [
        r
        for module in (accounts, assets, copies, ledger, search, system, tags)
        for r in module.router.routes
        if isinstance(r, APIRoute) and r.response_model
    ]
    assert len(routes) >= 12
    for route in routes:
        assert route.response_class is JSONResponse, route.path
        assert route.response_model.__module__ in (
            "assetloom.app.results",
            "assetloom.api.schemas",
        ), route.path


def test_list_show_and_duplicates_are_byte_for_byte_the_cli_documents(env: Env) -> None:
    photo = photo_bytes(4242)
    first = upload(env, ("shapes.jpg", photo))["added"][0]["asset_id"]
    upload(env, ("shapes-again.png", photo_bytes(4242, fmt="PNG")))
    viewer = env.auth("viewer")

    r = cli("-L", str(env.root), "list", "--json", "--limit", "3", "--newest")
    assert r.returncode == 0, r.stderr
    api = env.client.get("/api/v1/assets?limit=3&order=newest", headers=viewer)
    assert api.content == _compact(r.stdout)

    r = cli("-L", str(env.root), "duplicates", "--json")
    assert r.returncode == 0, r.stderr
    api = env.client.get("/api/v1/duplicates", headers=viewer)
    assert api.content == _compact(r.stdout)
    assert any(first in [a["asset_id"] for a in g["assets"]] for g in api.json()["groups"])

    r = cli("-L", str(env.root), "show", first, "--json")
    assert r.returncode == 0, r.stderr
    shown = json.loads(r.stdout)
    detail = env.client.get(f"/api/v1/assets/{first}", headers=viewer).json()
    assert list(shown)[-2:] == ["blob_path", "thumbnail_path"]
    assert list(detail)[-2:] == ["original_url", "thumbnail_url"]
    assert list(shown.items())[:-2] == list(detail.items())[:-2]
