"""`assetloom meta`, `tag` and `export` as scripts run them: JSON and human output, exit codes
and error documents for bad input, label filters on `list` and `search`, and the audit log."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from assetloom.app.library import Library
from tests.cli_run import cli
from tests.media import make_photo


@pytest.fixture
def stocked(tmp_path: Path) -> tuple[Path, list[str]]:
    root = tmp_path / "lib"
    with Library.create(root) as lib:
        report = lib.add([make_photo(tmp_path / f"p{i}.jpg", 60 + i) for i in range(3)])
        ids = [a.asset_id for a in sorted(report.added, key=lambda a: a.file)]
        with lib.catalog.unit_of_work() as uow:  # what the tagger writes, without its models
            uow.add_tags(ids[0], [("person", 0.8, "zero-shot"), ("dog", 0.7, "zero-shot")])
    return root, ids


def _json(r: subprocess.CompletedProcess[str]) -> dict:
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


def _error(r: subprocess.CompletedProcess[str], code: str) -> dict:
    assert r.returncode == 1, (r.returncode, r.stdout, r.stderr)
    doc = json.loads(r.stdout)["error"]
    assert doc["code"] == code, doc
    assert "Traceback" not in r.stderr
    return doc


def test_meta_set_show_history(stocked: tuple[Path, list[str]]) -> None:
    root, (a, b, c) = stocked
    doc = _json(
        cli(
            "meta", "set", a[:8], "--title", "春季新品", "--keywords", "campaign，蓝色",
            "--rating", "4", "--status", "approved", "--expires", "2027-01-31",
            "--channels", "web,print", "--json",
            library=root,
        )
    )  # fmt: skip
    assert doc["asset_id"] == a and doc["title"] == "春季新品"
    assert doc["keywords"] == ["campaign", "蓝色"] and doc["rating"] == 4
    assert doc["usage"] == {"expires": "2027-01-31", "channels": ["web", "print"],
                            "approved_for": []}  # fmt: skip
    assert _json(cli("meta", "show", a, "--json", library=root)) == doc
    shown = cli("meta", "show", a, library=root)
    assert shown.returncode == 0 and "春季新品" in shown.stdout and "★★★★" in shown.stdout

    bulk = _json(cli("meta", "set", a, b, c, "--status", "in_review", "--json", library=root))
    assert bulk == {"updated": 3, "asset_ids": [a, b, c]}
    history = _json(cli("meta", "history", a, "--json", library=root))
    fields = [e["field"] for e in history["entries"]]
    assert fields[0] == "status" and "title" in fields and "usage.channels" in fields
    assert all(e["actor"].startswith("cli") for e in history["entries"])
    assert history["entries"][0]["old"] == "approved"
    human = cli("meta", "history", a, library=root)
    assert human.returncode == 0 and "in_review" in human.stdout

    log = _json(cli("audit-log", "--json", library=root))
    metas = [e for e in log["entries"] if e["action"] == "asset.meta"]
    assert len(metas) == 2 and metas[0]["client"] == "local"
    assert metas[0]["actor"].startswith("cli")


def test_bad_input_says_what_is_wrong(stocked: tuple[Path, list[str]]) -> None:
    root, (a, _, _) = stocked
    assert (
        "out of range"
        in _error(cli("meta", "set", a, "--rating", "7", "--json", library=root), "bad_metadata")[
            "message"
        ]
    )
    doc = _error(cli("meta", "set", a, "--status", "done", "--json", library=root), "bad_metadata")
    assert "in_review" in doc["hint"]
    doc = _error(cli("meta", "set", a, "--expires", "31/01/2027", "--json", library=root),
                 "bad_metadata")  # fmt: skip
    assert "YYYY-MM-DD" in doc["hint"]
    _error(cli("meta", "set", a, "--field", "sku=1", "--json", library=root), "unknown_field")
    _error(cli("meta", "set", a, "--reset", "colour", "--json", library=root), "unknown_field")
    human = cli("meta", "set", a, "--rating", "9", library=root)
    assert human.returncode == 1 and "rating 9 is out of range" in human.stderr
    assert _json(cli("meta", "history", a, "--json", library=root))["entries"] == []


def test_custom_fields(stocked: tuple[Path, list[str]]) -> None:
    root, (a, _, _) = stocked
    made = _json(cli("meta", "field", "add", "market", "--kind", "choice", "--choices",
                     "cn,eu", "--json", library=root))  # fmt: skip
    assert made == {"name": "market", "kind": "choice", "choices": ["cn", "eu"], "label": ""}
    listed = _json(cli("meta", "field", "list", "--json", library=root))
    assert [f["name"] for f in listed["fields"]] == ["market"]
    assert "market: choice" in cli("meta", "field", "list", library=root).stdout
    doc = _json(cli("meta", "set", a, "--field", "market=eu", "--json", library=root))
    assert doc["fields"] == {"market": "eu"}
    _error(cli("meta", "set", a, "--field", "market=us", "--json", library=root), "bad_metadata")
    _error(cli("meta", "field", "add", "x", "--kind", "colour", "--json", library=root),
           "bad_input")  # fmt: skip


def test_tags_by_hand_and_label_filters(stocked: tuple[Path, list[str]]) -> None:
    root, (a, b, c) = stocked
    added = _json(cli("tag", "add", "SKU-1234", a, b, "--json", library=root))
    assert added == {"updated": 2, "asset_ids": [a, b]}
    assert "tagged 1 of 1" in cli("tag", "add", "狗", c, library=root).stdout
    for label in ("狗", "dog"):
        listed = _json(cli("list", "--tag", label, "--json", library=root))
        assert {x["asset_id"] for x in listed["assets"]} == {a, c}, label
    listed = _json(cli("list", "--tag", "sku-1234", "--json", library=root))
    assert {x["asset_id"] for x in listed["assets"]} == {a, b}
    doc = _error(cli("list", "--tag", "dgo", "--json", library=root), "unknown_tag")
    assert "dog" in doc["hint"]
    doc = _error(cli("search", "photo", "--tag", "persn", "--json", library=root), "unknown_tag")
    assert "person" in doc["hint"]

    rejected = _json(cli("tag", "reject", "人", a, "--json", library=root))  # person, in Chinese
    assert rejected == {"asset_id": a, "tag": "person", "was_present": True}
    meta = _json(cli("meta", "show", a, "--json", library=root))
    assert meta["rejected_tags"] == ["person"]
    assert "person" not in {t["key"] for t in meta["tags"]}
    removed = _json(cli("tag", "remove", "sku-1234", a, b, c, "--json", library=root))
    assert removed["updated"] == 2
    _error(cli("tag", "remove", "nothing-like-it", a, "--json", library=root), "unknown_tag")
    actions = [e["action"] for e in _json(cli("audit-log", "--json", library=root))["entries"]]
    assert {"tag.add", "tag.reject", "tag.remove"} <= set(actions)


@pytest.mark.skipif(shutil.which("exiftool") is None, reason="exiftool not installed")
def test_export(stocked: tuple[Path, list[str]], tmp_path: Path) -> None:
    root, (a, b, _) = stocked
    cli("meta", "set", a, "--title", "Harbour at dawn", library=root)
    done = _json(cli("export", a, b, "--to", str(tmp_path / "out"), "--json", library=root))
    assert [f["asset_id"] for f in done["files"]] == [a, b]
    assert all(f["embedded"] for f in done["files"])
    read = subprocess.run(
        ["exiftool", "-json", "-XMP-dc:Title", done["files"][0]["path"]],
        capture_output=True,
        check=True,
    )
    assert json.loads(read.stdout)[0]["Title"] == "Harbour at dawn"
    human = cli("export", a, "--to", str(tmp_path / "out"), library=root)
    assert human.returncode == 0 and "XMP embedded" in human.stdout
    not_a_folder = tmp_path / "file"
    not_a_folder.write_text("x")
    _error(cli("export", a, "--to", str(not_a_folder), "--json", library=root), "bad_input")
