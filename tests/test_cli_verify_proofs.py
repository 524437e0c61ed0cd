"""`verify` on a library whose ledger was tampered with: the failed proof is shown in red with
its reason, the JSON carries it once, and the exit code is 5 (integrity)."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from assetloom.app.library import Library
from assetloom.errors import IntegrityError
from tests.cli_run import cli
from tests.media import make_photo

RED = ("\x1b[31m", "\x1b[1;31m", "\x1b[91m")


@pytest.fixture
def tampered(tmp_path: Path) -> tuple[Path, Path]:
    """A library of two photos whose first registration leaf was edited in the catalog."""
    lib_dir = tmp_path / "lib"
    photos = [make_photo(tmp_path / f"{i}.jpg", 700 + i) for i in range(2)]
    with Library.create(lib_dir) as lib:
        lib.add(photos)
    con = sqlite3.connect(lib_dir / "catalog.db")
    with con:
        (data,) = con.execute("SELECT data FROM ledger_leaves WHERE idx = 0").fetchone()
        forged = data.replace(b'"type":"register"', b'"type":"registeR"')
        assert forged != data
        con.execute("UPDATE ledger_leaves SET data = ? WHERE idx = 0", (forged,))
    con.close()
    return lib_dir, photos[0]


def test_failed_proof_is_red_with_reason_and_exits_5(tampered: tuple[Path, Path]) -> None:
    lib_dir, photo = tampered
    doc = json.loads(cli("verify", str(photo), "--json", library=lib_dir).stdout)
    reason = doc["results"][0]["matches"][0]["ledger"]["error"]
    r = cli("verify", str(photo), library=lib_dir, env={"FORCE_COLOR": "1", "TERM": "xterm"})
    assert r.returncode == IntegrityError.exit_code == 5, r.stderr
    failed = [line for line in r.stdout.splitlines() if "ledger proof failed" in line]
    assert len(failed) == 1 and reason in failed[0], r.stdout
    assert any(code in failed[0] for code in RED), repr(failed[0])
    assert "ledger audit" in r.stderr and "Traceback" not in r.stderr


def test_failed_proof_json_once_and_exit_5(tampered: tuple[Path, Path], tmp_path: Path) -> None:
    lib_dir, photo = tampered
    good = tmp_path / "1.jpg"
    r = cli("verify", str(photo), str(good), "--json", library=lib_dir)
    assert r.returncode == 5, r.stderr
    doc = json.loads(r.stdout)  # exactly one document: a second one would not parse
    first, second = doc["results"]
    assert first["matches"][0]["ledger"]["verified"] is False
    assert first["matches"][0]["ledger"]["error"]
    assert second["matches"][0]["ledger"]["verified"] is True


def test_intact_ledger_verifies_with_exit_0(tmp_path: Path) -> None:
    photo = make_photo(tmp_path / "ok.jpg", 710)
    with Library.create(tmp_path / "lib") as lib:
        lib.add([photo])
    r = cli("verify", str(photo), library=tmp_path / "lib", env={"FORCE_COLOR": "1"})
    assert r.returncode == 0, r.stderr
    assert "ledger proof failed" not in r.stdout
