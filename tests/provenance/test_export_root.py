"""`assetloom ledger export-root`: the root verifiers add to their trust anchors."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

from assetloom.app.library import Library
from assetloom.provenance import credentials
from tests.cli_run import cli


def test_export_root_prints_writes_and_describes_the_root(tmp_path: Path) -> None:
    with Library.create(tmp_path / "lib") as lib:
        creds = credentials.load(lib.root / "keys")
    printed = cli("ledger", "export-root", library=tmp_path / "lib", home=tmp_path)
    assert printed.returncode == 0, printed.stderr
    assert printed.stdout == creds.root_pem

    target = tmp_path / "root.pem"
    done = cli(
        "ledger",
        "export-root",
        "--out",
        str(target),
        "--json",
        library=tmp_path / "lib",
        home=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    doc = json.loads(done.stdout)
    assert target.read_text() == creds.root_pem == doc["pem"]
    assert doc["sha256"] == creds.root_fingerprint() and doc["file"] == str(target)
    assert "CN=AssetLoom C2PA root" in doc["subject"]
    assert dt.datetime.fromisoformat(doc["not_after"]) > dt.datetime.now(dt.UTC)

    refused = cli(
        "ledger",
        "export-root",
        "--out",
        str(tmp_path / "no" / "such" / "dir" / "r.pem"),
        library=tmp_path / "lib",
        home=tmp_path,
    )
    assert refused.returncode == 1 and "cannot write" in refused.stderr
    assert "Traceback" not in refused.stderr
