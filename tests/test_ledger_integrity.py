"""What a verify shows about provenance comes from the signed leaf, never from an editable
catalog row; proofs are reads; an asset's export proves that asset and nothing else."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from assetloom.app.library import Library
from assetloom.errors import IntegrityError
from assetloom.provenance.ledger_service import CatalogMismatchError
from tests.media import make_photo


def _edit_catalog(lib: Library, sql: str, *params: object) -> None:
    con = sqlite3.connect(lib.root / "catalog.db")
    con.execute(sql, params)
    con.commit()
    con.close()


@pytest.fixture
def registered(library: Library, tmp_path: Path) -> tuple[Library, Path, str]:
    photo = make_photo(tmp_path / "a.jpg", 11)
    make_photo(tmp_path / "b.jpg", 12)
    report = library.add([photo, tmp_path / "b.jpg"])
    return library, photo, report.added[0].asset_id


def test_backdated_row_fails_the_proof_and_verify_shows_the_signed_time(registered):
    lib, photo, asset_id = registered
    signed = lib.get(asset_id).registered_at
    _edit_catalog(
        lib, "UPDATE assets SET registered_at = '2020-01-01 00:00:00' WHERE asset_id = ?", asset_id
    )
    assert lib.get(asset_id).registered_at.year == 2020

    with pytest.raises(CatalogMismatchError, match='registered_at is "2020-01-01T00:00:00Z"'):
        lib.registration_proof(asset_id)

    (result,) = lib.verify([photo])
    match = result.to_json()["matches"][0]
    assert match["asset_id"] == asset_id
    assert match["registered_at"].startswith(str(signed.year))  # the leaf's time, not 2020
    assert match["registered_at"] != "2020-01-01T00:00:00Z"
    assert match["ledger"]["verified"] is False
    assert "catalog disagrees with the signed ledger leaf" in match["ledger"]["error"]
    assert json.loads(match["ledger"]["leaf"])["asset_id"] == asset_id  # proof kept beside it


@pytest.mark.parametrize(
    ("column", "value"),
    [("sha256", "0" * 64), ("size", 1), ("media_type", "text")],
)
def test_any_edited_registration_field_is_an_integrity_error(registered, column, value):
    lib, _, asset_id = registered
    _edit_catalog(lib, f"UPDATE assets SET {column} = ? WHERE asset_id = ?", value, asset_id)
    with pytest.raises(IntegrityError, match=f"{column} is "):
        lib.registration_proof(asset_id)


def test_untouched_catalog_proves_and_takes_no_write_lock(registered):
    lib, photo, asset_id = registered
    first = lib.registration_proof(asset_id)  # signs the head once
    with sqlite3.connect(lib.root / "catalog.db", timeout=0.1) as con:
        before = con.execute("SELECT count(*) FROM ledger_checkpoints").fetchone()[0]
    lib.settings = lib.settings.model_copy(update={"busy_timeout_s": 0.2})
    slow = Library(lib.root, lib.settings)  # short busy timeout: a write would fail fast
    blocker = sqlite3.connect(lib.root / "catalog.db", isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")  # another process is writing (an ingest)
    try:
        (result,) = slow.verify([photo])
        again = slow.registration_proof(asset_id)
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()
        slow.close()
    assert result.to_json()["matches"][0]["ledger"]["verified"] is True
    assert again.checkpoint == first.checkpoint
    with sqlite3.connect(lib.root / "catalog.db") as con:
        assert con.execute("SELECT count(*) FROM ledger_checkpoints").fetchone()[0] == before


def test_cli_export_for_an_asset_publishes_only_its_leaf(registered, tmp_path: Path):
    lib, _, asset_id = registered
    other = next(a.asset_id for a in lib.list().assets if a.asset_id != asset_id)
    bundle = tmp_path / "bundle"
    done = subprocess.run(
        [sys.executable, "-m", "assetloom.cli.main", "-L", str(lib.root), "ledger", "export",
         str(bundle), "--asset", asset_id[:8], "--json"],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    doc = json.loads(done.stdout)
    assert (doc["leaves"], doc["proofs"]) == (0, 1)
    assert not (bundle / "leaves.jsonl").exists()
    text = "".join(
        p.read_text() for p in bundle.rglob("*") if p.is_file() and p.name != "verify.py"
    )
    assert asset_id in text and other not in text
    assert lib.get(other).sha256 not in text
    check = subprocess.run(
        [sys.executable, "-I", str(bundle / "verify.py"), str(bundle), "--asset", asset_id],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert check.returncode == 0, check.stdout
