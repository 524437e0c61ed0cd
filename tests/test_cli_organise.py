"""`assetloom collection|share|trash` and the trash behind `rm`, as scripts use them (--json,
exit codes), and the audit trail every CLI write now leaves (add and rm included)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from assetloom.cli.main import app
from tests.media import make_photo

runner = CliRunner()


def run(lib: Path, *args: str, code: int = 0, input: str | None = None) -> Any:
    result = runner.invoke(app, ["--library", str(lib), *args], input=input)
    assert result.exit_code == code, result.output
    if "--json" in args:
        text = result.stdout
        return json.loads(text[text.index("{") :])
    return result.stdout


def _library(tmp_path: Path, n: int = 4) -> tuple[Path, list[str]]:
    lib = tmp_path / "lib"
    runner.invoke(app, ["init", str(lib)])
    files = [
        str(make_photo(tmp_path / f"c{i}.jpg", seed=600 + i, size=(320, 240))) for i in range(n)
    ]
    added = run(lib, "add", *files, "--json")["added"]
    return lib, [a["asset_id"] for a in added]


def test_collections_from_the_command_line(tmp_path: Path) -> None:
    lib, ids = _library(tmp_path)
    made = run(lib, "collection", "create", "Launch", "--description", "spring", "--json")
    assert (
        made["name"] == "Launch" and made["smart"] is False and made["created_by"].startswith("cli")
    )
    run(lib, "collection", "create", "Launch", "--json", code=1)
    run(lib, "collection", "create", "Launch/day one", code=1)  # no slashes in names
    run(lib, "collection", "create", "Day one", "--in", "Launch")
    added = run(lib, "collection", "add", "Launch", ids[2], ids[0][:8], ids[1], "--json")
    assert (added["added"], added["already"], added["items"]) == (3, 0, 3)
    again = run(lib, "collection", "add", "Launch", ids[1], ids[3], "--json")
    assert (again["added"], again["already"]) == (1, 1)
    missing = run(lib, "collection", "add", "Launch", "deadbeefdead", "--json", code=3)
    assert missing["error"]["code"] == "asset_not_found"
    run(lib, "collection", "add", "Nope", ids[0], "--json", code=3)

    run(lib, "collection", "order", "Launch", ids[3], ids[0])
    run(lib, "collection", "cover", "Launch", ids[1])
    shown = run(lib, "collection", "show", "Launch", "--json")
    assert [a["asset_id"] for a in shown["assets"]] == [ids[3], ids[0], ids[2], ids[1]]
    assert shown["cover_asset_id"] == ids[1] and shown["children"] == ["Day one"]
    not_an_item = run(lib, "collection", "cover", "Day one", ids[0], "--json", code=1)
    assert "not an item" in not_an_item["error"]["message"]

    removed = run(lib, "collection", "remove", "Launch", ids[0], "--json")
    assert removed["removed"] == 1 and removed["items"] == 3
    run(lib, "collection", "rename", "Launch", "Launch 发布")
    run(lib, "collection", "move", "Day one")
    listed = run(lib, "collection", "list", "--json")["collections"]
    assert [(c["name"], c["parent"], c["items"]) for c in listed] == [
        ("Day one", None, 0),
        ("Launch 发布", None, 3),
    ]
    assert "Launch 发布" in run(lib, "collection", "list")
    smart = run(lib, "collection", "create", "images", "--type", "image", "--json")
    assert smart["smart"] is True and smart["query"]["media_type"] == "image"
    assert run(lib, "collection", "show", "images", "--json")["total"] == 4
    run(lib, "collection", "create", "nothing", "--query", "  ", "--json", code=1)
    run(lib, "collection", "delete", "Day one")
    assert len(run(lib, "collection", "list", "--json")["collections"]) == 2


def test_rm_moves_to_the_trash_and_empty_removes_for_good(tmp_path: Path) -> None:
    lib, ids = _library(tmp_path, 3)
    run(lib, "collection", "create", "keep")
    run(lib, "collection", "add", "keep", *ids)
    trashed = run(lib, "rm", ids[0], ids[1][:6], "--json")
    assert [a["asset_id"] for a in trashed["removed"]] == ids[:2]
    assert trashed["restore"]["ids"] == ids[:2] and trashed["purge_after"]
    assert run(lib, "list", "--json")["total"] == 1
    assert run(lib, "collection", "show", "keep", "--json")["total"] == 1
    run(lib, "show", ids[0], "--json")  # the owner can still look at what is in the trash
    again = run(lib, "rm", ids[0], "--json", code=3)
    assert again["error"]["code"] == "asset_not_found"
    half = run(lib, "rm", ids[2], "0000000000", "--json", code=3)
    assert "0000000000" in half["error"]["message"]
    assert run(lib, "list", "--json")["total"] == 1, "all or nothing"

    listed = run(lib, "trash", "list", "--json")
    assert listed["total"] == 2 and listed["keep_days"] == 30
    assert {a["asset_id"] for a in listed["assets"]} == set(ids[:2])
    restored = run(lib, "trash", "restore", ids[1], "--json")
    assert restored["restored"][0]["asset_id"] == ids[1]
    assert run(lib, "collection", "show", "keep", "--json")["total"] == 2

    assert run(lib, "trash", "empty", "--expired", "--json")["removed"] == []
    blob = next((lib / "blobs").rglob("*"), None)
    assert blob is not None
    emptied = run(lib, "trash", "empty", "--json")
    assert [a["asset_id"] for a in emptied["removed"]] == [ids[0]]
    run(lib, "show", ids[0], "--json", code=3)
    run(lib, "trash", "restore", ids[0], "--json", code=3)
    audit = run(lib, "ledger", "audit", "--json")
    assert audit["ok"] is True and audit["tree_size"] == 4  # three registrations, one removal


def test_share_links_from_the_command_line(tmp_path: Path) -> None:
    lib, ids = _library(tmp_path, 2)
    run(lib, "collection", "create", "press")
    run(lib, "collection", "add", "press", ids[0])
    made = run(lib, "share", "create", "--collection", "press", "--expires", "7d", "--json")
    assert made["url"] == f"http://127.0.0.1:8420/s/{made['token']}" and made["expires_at"]
    assert made["password"] is False and made["allow_download"] is False
    locked = run(
        lib,
        "share",
        "create",
        "--asset",
        ids[1][:8],
        "--password",
        "--allow-download",
        "--expires",
        "never",
        "--json",
        input="a long passphrase\na long passphrase\n",
    )
    assert locked["password"] is True and locked["expires_at"] is None
    assert locked["asset_id"] == ids[1]
    bad = run(
        lib, "share", "create", "--collection", "press", "--expires", "soon", "--json", code=1
    )
    assert "--expires" in bad["error"]["message"]
    run(lib, "share", "create", "--json", code=1)

    listed = run(lib, "share", "list", "--json")["shares"]
    assert [s["id"] for s in listed] == [locked["id"], made["id"]]
    assert all("token" not in s for s in listed)
    run(lib, "share", "revoke", made["url"])
    run(lib, "share", "revoke", str(locked["id"]))
    states = {s["id"]: s["state"] for s in run(lib, "share", "list", "--json")["shares"]}
    assert states == {made["id"]: "revoked", locked["id"]: "revoked"}
    run(lib, "share", "revoke", "als_nothing-like-it", "--json", code=3)


def test_every_cli_write_is_audited(tmp_path: Path) -> None:
    lib, ids = _library(tmp_path, 1)
    run(lib, "collection", "create", "a")
    run(lib, "collection", "add", "a", "feedfacefeed", code=3)
    run(lib, "rm", ids[0])
    run(lib, "trash", "restore", ids[0])
    run(lib, "share", "create", "--asset", ids[0])
    run(lib, "index", "embed")
    entries = run(lib, "audit-log", "--json")["entries"]
    seen = [(e["action"], e["outcome"]) for e in reversed(entries)]
    assert seen == [
        ("asset.add", "ok"),
        ("collection.create", "ok"),
        ("collection.add", "asset_not_found"),
        ("asset.remove", "ok"),
        ("trash.restore", "ok"),
        ("share.create", "ok"),
        ("index.embed", "ok"),
    ]
    assert all(e["actor"].startswith("cli") and e["client"] == "local" for e in entries)
    assert entries[-1]["detail"]["added"] == ids


def test_trash_empty_expired_takes_only_what_is_past_trash_days(tmp_path: Path) -> None:
    import sqlite3
    from datetime import UTC, datetime, timedelta

    lib, ids = _library(tmp_path, 2)
    run(lib, "rm", *ids)
    old = (datetime.now(UTC) - timedelta(days=31)).replace(tzinfo=None)
    with sqlite3.connect(lib / "catalog.db") as db:  # trashed 31 days ago, as far as it knows
        db.execute(
            "UPDATE assets SET trashed_at = ? WHERE asset_id = ?", (old.isoformat(" "), ids[0])
        )
    emptied = run(lib, "trash", "empty", "--expired", "--json")
    assert [a["asset_id"] for a in emptied["removed"]] == [ids[0]]
    assert [a["asset_id"] for a in run(lib, "trash", "list", "--json")["assets"]] == [ids[1]]
    (lib / "assetloom.toml").write_text(
        (lib / "assetloom.toml").read_text() + "trash_days = 0\n", encoding="utf-8"
    )
    assert run(lib, "trash", "list", "--json")["assets"][0]["purge_after"] is None
    assert run(lib, "trash", "empty", "--expired", "--json")["removed"] == []
