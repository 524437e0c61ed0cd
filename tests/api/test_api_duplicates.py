"""Duplicate decisions over the API and the CLI: editors dismiss a group's pairs, `duplicates`
leaves them apart from then on (the same answer on both), restore brings them back."""

from __future__ import annotations

import json

from tests.api.conftest import Env, photo_bytes, upload
from tests.cli_run import cli


def _groups(env: Env) -> list[list[str]]:
    doc = env.client.get("/api/v1/duplicates", headers=env.auth("viewer")).json()
    return [sorted(a["asset_id"] for a in g["assets"]) for g in doc["groups"]]


def test_dismiss_and_restore_from_the_api_and_the_cli(env: Env) -> None:
    photo = photo_bytes(5151)
    a = upload(env, ("dup-a.jpg", photo))["added"][0]["asset_id"]
    b = upload(env, ("dup-b.png", photo_bytes(5151, fmt="PNG")))["added"][0]["asset_id"]
    pair = sorted([a, b])
    assert pair in _groups(env)

    body = {"asset_ids": [a[:10], b]}
    viewer = env.client.post("/api/v1/duplicates/dismiss", json=body, headers=env.auth("viewer"))
    assert viewer.status_code == 403
    r = env.client.post("/api/v1/duplicates/dismiss", json=body, headers=env.auth("editor"))
    assert r.status_code == 200, r.text
    assert r.json() == {"asset_ids": [a, b], "pairs": 1, "changed": 1, "decision": "distinct"}
    assert pair not in _groups(env)
    shown = cli("-L", str(env.root), "duplicates", "--json")
    assert shown.returncode == 0, shown.stderr
    assert pair not in [
        sorted(x["asset_id"] for x in g["assets"]) for g in json.loads(shown.stdout)["groups"]
    ]

    restored = cli("-L", str(env.root), "duplicates", "restore", a, b[:10], "--json")
    assert restored.returncode == 0, restored.stderr
    assert json.loads(restored.stdout)["decision"] == "none"
    assert pair in _groups(env)

    log = env.client.get("/api/v1/audit", headers=env.auth("admin")).json()["entries"]
    actions = [e["action"] for e in log if e["action"].startswith("duplicates.")]
    assert "duplicates.dismiss" in actions and "duplicates.restore" in actions


def test_bad_dismissals_say_what_is_wrong(env: Env) -> None:
    editor = env.auth("editor")
    one = env.client.post("/api/v1/duplicates/dismiss", json={"asset_ids": ["abc"]}, headers=editor)
    assert one.status_code == 422 and one.json()["code"] == "invalid_request"
    a = upload(env, ("dup-lone.jpg", photo_bytes(6262)))["added"][0]["asset_id"]
    same = env.client.post(
        "/api/v1/duplicates/dismiss", json={"asset_ids": [a, a[:12]]}, headers=editor
    )
    assert same.status_code == 400 and "at least two" in same.json()["message"]
    missing = env.client.post(
        "/api/v1/duplicates/dismiss", json={"asset_ids": [a, "ffffffffff"]}, headers=editor
    )
    assert missing.status_code == 404
    r = cli("-L", str(env.root), "duplicates", "forget", a, a)
    assert r.returncode != 0 and "unknown duplicates action" in r.stderr + r.stdout
