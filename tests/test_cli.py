"""The `assetloom` command end to end, as scripts use it: --json shapes, exit codes, errors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from PIL import Image, ImageOps

from tests.media import make_photo


def cli(*args: str, env_library: Path | None = None) -> subprocess.CompletedProcess[str]:
    import os

    env = dict(os.environ)
    env.pop("ASSETLOOM_LIBRARY", None)
    if env_library is not None:
        env["ASSETLOOM_LIBRARY"] = str(env_library)
    return subprocess.run(
        [sys.executable, "-m", "assetloom.cli.main", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )


def test_json_workflow(tmp_path: Path):
    lib = tmp_path / "lib"
    init = cli("init", str(lib), "--json")
    assert init.returncode == 0, init.stderr
    assert json.loads(init.stdout)["created"] is True

    src = tmp_path / "photos"
    for i in range(4):
        make_photo(src / f"{i}.jpg", seed=50 + i, size=(400, 300))
    (src / "empty.jpg").write_bytes(b"")
    add = cli("--library", str(lib), "add", str(src), "--json")
    assert add.returncode == 0, add.stderr
    doc = json.loads(add.stdout)
    assert {"added", "present", "skipped"} <= doc.keys()
    assert len(doc["added"]) == 4 and {"file", "asset_id"} <= doc["added"][0].keys()
    assert doc["skipped"] == [{"file": str(src / "empty.jpg"), "reason": "empty file (0 bytes)"}]

    listing = json.loads(cli("list", "--json", env_library=lib).stdout)
    assert listing["total"] == 4
    asset_id = doc["added"][0]["asset_id"]

    show = json.loads(cli("show", asset_id[:10], "--json", env_library=lib).stdout)
    assert show["asset_id"] == asset_id
    assert {"sha256", "media_type", "original_name", "metadata", "fingerprints"} <= show.keys()
    assert show["source"] == doc["added"][0]["file"] == str(src / f"{show['original_name']}")
    assert Path(show["source"]).is_absolute()
    assert "source" not in listing["assets"][0]

    suspect = tmp_path / "suspect.jpg"
    with Image.open(src / "0.jpg") as im:
        ImageOps.mirror(im).resize((200, 150)).save(suspect, quality=40)
    unrelated = make_photo(tmp_path / "other.jpg", seed=999)
    verify = cli(
        "verify", str(src / "1.jpg"), str(suspect), str(unrelated), "--json", env_library=lib
    )
    results = json.loads(verify.stdout)["results"]
    assert [r["tier"] for r in results] == ["exact", "near-identical", "none"]
    best = results[1]["matches"][0]
    assert best["asset_id"] == asset_id and best["original_name"] == "0.jpg"
    assert {"asset_id", "tier", "distance", "registered_at", "original_name"} <= best.keys()

    rm = cli("rm", asset_id, "--json", env_library=lib)
    assert json.loads(rm.stdout)["removed"][0]["asset_id"] == asset_id
    assert json.loads(cli("list", "--json", env_library=lib).stdout)["total"] == 3


def test_errors_are_messages_not_tracebacks(tmp_path: Path):
    not_lib = tmp_path / "nope"
    not_lib.mkdir()
    r = cli("--library", str(not_lib), "list", "--json")
    assert r.returncode == 2
    assert json.loads(r.stdout)["error"]["code"] == "not_a_library"
    assert "Traceback" not in r.stderr and "assetloom init" in r.stderr

    lib = tmp_path / "lib"
    cli("init", str(lib))
    r = cli("show", "deadbeef", env_library=lib)
    assert r.returncode == 3 and "no asset" in r.stderr and "Traceback" not in r.stderr

    r = cli("list")
    assert r.returncode == 2 and "ASSETLOOM_LIBRARY" in r.stderr


def test_human_output(tmp_path: Path):
    lib = tmp_path / "lib"
    cli("init", str(lib))
    make_photo(tmp_path / "a.jpg", 7)
    r = cli("add", str(tmp_path / "a.jpg"), env_library=lib)
    assert r.returncode == 0 and "1 added" in r.stdout
    r = cli("verify", str(tmp_path / "a.jpg"), env_library=lib)
    assert "exact" in r.stdout and "a.jpg" in r.stdout


def test_demo_runs_on_bundled_photos(tmp_path: Path):
    r = cli("demo", str(tmp_path / "demo"), "--json")
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    assert doc["added"] == 5
    assert [c["tier"] for c in doc["checks"]] == ["near-identical", "exact", "none"]
