"""Moderation with the real Open-NSFW model and the real policy: benign photos score low; a
threshold of 0.0 forces them over it, so the quarantine path runs on benign pictures.
Quarantined assets are hidden from lists, counts, searches and similar until an admin approves
or rejects them (CLI, API, web page), and every decision is in the audit log."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from assetloom.accounts import AccountService, Role
from assetloom.app.library import Library
from assetloom.app.search import SearchQuery
from assetloom.cli.main import app as cli_app
from assetloom.errors import AssetNotFoundError
from assetloom.models.registry import get_moderator
from assetloom.server.app import create_app
from assetloom.settings import Settings
from tests.media import make_photo
from tests.ocr.pictures import example

PASSWORD = "correct horse battery"
DEFAULT = Settings.model_fields["moderation_threshold"].default


def test_benign_photos_score_low() -> None:
    photos = [example(n) for n in ("chelsea.jpg", "coffee.jpg", "astronaut.jpg", "rocket.jpg")]
    scores = get_moderator().score(photos)
    assert len(scores) == 4
    assert all(0.0 <= s < 0.1 for s in scores), scores
    assert max(scores) < DEFAULT


@dataclass
class Held:
    root: Path
    ids: dict[str, str]
    """file stem -> asset id"""


@pytest.fixture(scope="module")
def held(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Held]:
    """`visible` added under the default policy; the others under quarantine at 0.0; `flagged`
    under flag at 0.0. Users admin and editor."""
    root = tmp_path_factory.mktemp("moderation")
    files = {"visible": root / "visible.jpg", "zebra-held": root / "zebra-held.jpg"}
    example("chelsea.jpg").save(files["visible"])
    example("coffee.jpg").save(files["zebra-held"])
    for i, name in enumerate(("approve-me", "reject-me", "web-me", "flagged")):
        files[name] = make_photo(root / f"{name}.jpg", 900 + i)
    with pytest.MonkeyPatch.context() as env:
        env.setenv("ASSETLOOM_UNDERSTANDING", "true")
        env.setenv("ASSETLOOM_OCR", "off")
        with Library.create(root / "lib") as lib:
            base = lib.settings.model_copy(update={"workers": 1})
            lib.settings = base
            lib.add([files["visible"]])
            lib.settings = base.model_copy(
                update={"moderation": "quarantine", "moderation_threshold": 0.0}
            )
            lib.add([files[n] for n in ("zebra-held", "approve-me", "reject-me", "web-me")])
            lib.settings = base.model_copy(
                update={"moderation": "flag", "moderation_threshold": 0.0}
            )
            lib.add([files["flagged"]])
            accounts = AccountService.of(lib)
            for role in (Role.ADMIN, Role.EDITOR):
                accounts.add_user(role.value, role, PASSWORD)
            ids = {a.original_name.removesuffix(".jpg"): a.asset_id for a in _all(lib)}
    yield Held(root / "lib", ids)


def _all(lib: Library) -> list:
    """Every asset, held ones included (the review queue and the visible list together)."""
    queued = {i.asset_id for i in lib.review_queue().assets}
    return [*lib.list().assets, *lib.get_many(queued).values()]


def test_quarantined_assets_are_hidden_until_reviewed(held: Held) -> None:
    with Library.open(held.root) as lib:
        listed = {a.asset_id for a in lib.list().assets}
        assert held.ids["visible"] in listed and held.ids["flagged"] in listed
        assert held.ids["zebra-held"] not in listed
        assert lib.count() == len(listed)
        found = {h.asset.asset_id for h in lib.search(SearchQuery(text="zebra held"))}
        assert found and held.ids["zebra-held"] not in found  # its name alone would match
        similar = {h.asset.asset_id for h in lib.search(SearchQuery(like=held.ids["visible"]))}
        assert held.ids["flagged"] in similar and held.ids["zebra-held"] not in similar
        queue = {i.asset_id: i for i in lib.review_queue().assets}
        assert queue[held.ids["zebra-held"]].state == "quarantined"
        assert queue[held.ids["flagged"]].state == "flagged"
        assert held.ids["visible"] not in queue
        item = queue[held.ids["zebra-held"]]
        assert item.model == "open-nsfw" and item.nsfw is not None and item.nsfw < 0.1
        meta = lib.get(held.ids["visible"]).metadata["moderation"]
        assert "verdict" not in meta and meta["nsfw"] < DEFAULT


def _cli(*args: str) -> tuple[int, dict]:
    result = CliRunner().invoke(cli_app, [*args, "--json"])
    return result.exit_code, json.loads(result.stdout)


def test_review_approve_from_the_cli(held: Held, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ASSETLOOM_LIBRARY", str(held.root))
    asset_id = held.ids["approve-me"]
    code, queue = _cli("review", "list")
    assert code == 0 and asset_id in [i["asset_id"] for i in queue["assets"]]
    code, decided = _cli("review", "approve", asset_id[:8])
    assert code == 0
    assert decided == {
        "asset_id": asset_id,
        "original_name": "approve-me.jpg",
        "decision": "approved",
        "was": "quarantined",
    }
    code, again = _cli("review", "approve", asset_id)
    assert code == 1 and again["error"]["code"] == "not_under_review"
    with Library.open(held.root) as lib:
        assert asset_id in {a.asset_id for a in lib.list().assets}
        _, entries = AccountService.of(lib).audit_log(limit=20)
    [entry] = [e for e in entries if e.action == "review.approve" and e.target == asset_id]
    assert entry.actor.startswith("cli") and entry.client == "local"


def _token(root: Path, user: str) -> dict[str, str]:
    with Library.open(root) as lib:
        return {"Authorization": f"Bearer {AccountService.of(lib).create_token(user)[1]}"}


def test_review_over_the_api_is_for_admins(held: Held) -> None:
    admin, editor = _token(held.root, "admin"), _token(held.root, "editor")
    asset_id = held.ids["reject-me"]
    with TestClient(create_app(held.root)) as client:
        assert client.get("/api/v1/review", headers=editor).status_code == 403
        refused = client.post(f"/api/v1/review/{asset_id}/reject", headers=editor)
        assert refused.status_code == 403 and refused.json()["code"] == "forbidden"
        queue = client.get("/api/v1/review", headers=admin).json()["assets"]
        assert asset_id in [i["asset_id"] for i in queue]
        # Held back from everyone but reviewers, by id as in lists and searches.
        for path in ("", "/original", "/thumbnail"):
            assert client.get(f"/api/v1/assets/{asset_id}{path}", headers=editor).status_code == 404
        assert client.get(f"/api/v1/assets/{asset_id}", headers=admin).status_code == 200
        rejected = client.post(f"/api/v1/review/{asset_id}/reject", headers=admin)
        assert rejected.status_code == 200 and rejected.json()["decision"] == "rejected"
        never = client.post(f"/api/v1/review/{held.ids['visible']}/approve", headers=admin)
        assert never.status_code == 400 and never.json()["code"] == "not_under_review"
        assert client.get(f"/api/v1/assets/{asset_id}", headers=admin).status_code == 404
    with Library.open(held.root) as lib:
        with pytest.raises(AssetNotFoundError):
            lib.get(asset_id)
        _, entries = AccountService.of(lib).audit_log(limit=50)
    mine = [(e.actor, e.outcome) for e in entries if e.target == asset_id]
    assert ("admin", "ok") in mine
    assert [e.action for e in entries if e.target == held.ids["visible"]] == ["review.approve"]


def test_the_admin_review_page(held: Held) -> None:
    asset_id = held.ids["web-me"]
    with TestClient(create_app(held.root)) as client:
        for user in ("editor", "admin"):
            form = client.get("/login")
            csrf = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
            assert csrf is not None
            client.post(
                "/login",
                data={"username": user, "password": PASSWORD, "csrf_token": csrf.group(1)},
                follow_redirects=False,
            )
            page = client.get("/admin/review")
            if user == "editor":
                assert page.status_code == 403
        assert page.status_code == 200 and "web-me.jpg" in page.text
        token = re.search(r'name="csrf-token" content="([^"]+)"', page.text)
        assert token is not None
        no_token = client.post(f"/admin/review/{asset_id}/approve", follow_redirects=False)
        assert no_token.status_code == 403
        done = client.post(
            f"/admin/review/{asset_id}/approve",
            data={"csrf_token": token.group(1)},
            follow_redirects=False,
        )
        assert done.status_code == 303 and done.headers["location"] == "/admin/review"
        assert "web-me.jpg" not in client.get("/admin/review").text
    with Library.open(held.root) as lib:
        _, entries = AccountService.of(lib).audit_log(limit=50)
    assert ("admin", "review.approve", "ok") in [
        (e.actor, e.action, e.outcome) for e in entries if e.target == asset_id
    ]
