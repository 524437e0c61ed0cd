"""The ledger inside a library: every add and rm leaves a leaf, verify carries checked proofs,
and tampering with the catalog or the log is caught by `ledger audit`."""

from __future__ import annotations

import json
import sqlite3
import stat
import subprocess
import sys
from pathlib import Path

from assetloom.app.library import Library
from assetloom.provenance.leaves import parse_leaf
from tests.media import make_photo


def _cli(lib: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "assetloom.cli.main", "--library", str(lib), *args],
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_add_rm_append_leaves_and_verify_has_proof(library: Library, tmp_path: Path):
    paths = [make_photo(tmp_path / f"{i}.jpg", 300 + i) for i in range(3)]
    ids = [a.asset_id for a in library.add(paths).added]
    ledger = library.ledger()
    assert ledger.checkpoint().tree_size == 3
    proof = ledger.proof(ids[1])
    leaf = parse_leaf(proof.leaf.encode())
    assert leaf["type"] == "register" and leaf["asset_id"] == ids[1]
    assert leaf["sha256"] == library.get(ids[1]).sha256 and "pdq" in leaf["perceptual_hashes"]

    (result,) = library.verify([paths[1]])
    proof_json = result.to_json()["matches"][0]["ledger"]
    assert proof_json["verified"] is True and proof_json["leaf_index"] == proof.leaf_index

    library.remove(ids[0])
    assert ledger.checkpoint().tree_size == 4  # a tombstone, history unchanged
    assert library.audit_ledger().ok


def test_key_is_private_and_exportable(library: Library):
    key_files = [p for p in (library.root / "keys").iterdir() if p.is_file()]
    assert key_files
    assert any(stat.S_IMODE(p.stat().st_mode) == 0o600 for p in key_files)
    assert library.ledger().public_key.startswith(library.settings.ledger_origin + "+")


def test_cli_ledger_commands_and_tamper(tmp_path: Path):
    lib_dir = tmp_path / "lib"
    Library.create(lib_dir).close()
    for i in range(4):
        make_photo(tmp_path / "in" / f"{i}.jpg", 400 + i)
    added = json.loads(_cli(lib_dir, "add", str(tmp_path / "in"), "--json").stdout)["added"]
    asset_id = added[2]["asset_id"]

    proof = json.loads(_cli(lib_dir, "ledger", "proof", asset_id, "--json").stdout)
    assert {
        "asset_id",
        "leaf_index",
        "tree_size",
        "leaf",
        "leaf_hash",
        "inclusion_proof",
        "checkpoint",
        "public_key",
    } <= proof.keys()
    cons = json.loads(_cli(lib_dir, "ledger", "consistency", "2", "--json").stdout)
    assert cons["old_size"] == 2 and cons["new_size"] == 4 and cons["proof"]
    assert _cli(lib_dir, "ledger", "audit").returncode == 0

    bundle = tmp_path / "bundle"
    assert _cli(lib_dir, "ledger", "export", str(bundle), "--asset", asset_id).returncode == 0
    assert {"checkpoint", "public_key", "proofs", "verify.py"} <= {p.name for p in bundle.iterdir()}

    # Someone edits the catalog: the registered size of an asset changes.
    con = sqlite3.connect(lib_dir / "catalog.db")
    con.execute("UPDATE assets SET size = size + 1 WHERE asset_id = ?", (asset_id,))
    con.commit()
    con.close()
    audit = _cli(lib_dir, "ledger", "audit", "--json")
    assert audit.returncode == 5
    assert json.loads(audit.stdout)["first_bad_index"] == proof["leaf_index"]
