"""A running server sees what other processes (the CLI) add to and remove from its library."""

from __future__ import annotations

import io
import json
import time
from pathlib import Path

from PIL import Image

from tests.api.conftest import Env, photo_bytes
from tests.test_cli import cli

PATIENCE_S = 30.0  # the keeper looks every 0.1 s here; this only bounds a broken run


def _verify_tier(env: Env, data: bytes) -> str:
    r = env.client.post(
        "/api/v1/verify",
        headers=env.auth("viewer"),
        files=[("files", ("suspect.jpg", data, "image/jpeg"))],
    )
    assert r.status_code == 200, r.text
    return r.json()["results"][0]["tier"]


def _until(env: Env, data: bytes, tier: str) -> str:
    deadline = time.monotonic() + PATIENCE_S
    seen = _verify_tier(env, data)
    while seen != tier and time.monotonic() < deadline:
        time.sleep(0.1)
        seen = _verify_tier(env, data)
    return seen


def test_cli_add_and_rm_reach_the_running_server(make_env, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    env: Env = make_env(index_refresh_s=0.1)
    assert _verify_tier(env, photo_bytes(1)) == "none"  # indexes loaded, nothing like it yet

    original = tmp_path / "campaign.jpg"
    original.write_bytes(photo_bytes(2, size=(640, 480)))
    smaller = io.BytesIO()
    Image.open(original).resize((320, 240)).save(smaller, "JPEG", quality=70)

    out = cli("add", str(original), "--json", env_library=env.root)
    assert out.returncode == 0, out.stderr
    asset_id = json.loads(out.stdout)["added"][0]["asset_id"]
    # A resized copy is found only through the in-memory PDQ index, not by its SHA-256.
    assert _until(env, smaller.getvalue(), "near-identical") == "near-identical"
    metrics = env.client.get("/metrics", headers=env.auth("admin")).text
    assert 'assetloom_index_entries{index="fingerprints/pdq"} 5.0' in metrics

    out = cli("rm", asset_id, "--json", env_library=env.root)
    assert out.returncode == 0, out.stderr
    assert _until(env, smaller.getvalue(), "none") == "none"
