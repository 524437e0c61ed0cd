"""Every CLI failure goes through one handler: with --json one error document on stdout, else
a short message and hint on stderr; exit codes follow the documented table; a traceback only
in a log file or with --debug."""

from __future__ import annotations

import json
import os
import re
import sqlite3
from pathlib import Path

import pytest

from assetloom.app.library import Library
from tests.cli_run import cli
from tests.media import make_photo

REPO = Path(__file__).resolve().parents[1]
EXIT_CODES = {0, 1, 2, 3, 4, 5, 6}


@pytest.fixture
def lib_dir(tmp_path: Path) -> Path:
    """A library holding one photo."""
    root = tmp_path / "lib"
    with Library.create(root) as lib:
        lib.add([make_photo(tmp_path / "in" / "a.jpg", 800)])
    return root


def _error(r) -> dict[str, str]:
    doc = json.loads(r.stdout)
    assert set(doc) == {"error"} and {"code", "message", "hint"} <= doc["error"].keys(), doc
    return doc["error"]


# ------------------------------------------------------------------ usage errors (point 12)
@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["list", "--limit", "0", "--json"], "--limit"),
        (["list", "--bogus", "--json"], "--bogus"),
        (["add", "--json"], "paths"),
        (["list", "--type", "sound", "--json"], "--type"),
    ],
)
def test_usage_error_with_json_is_a_json_document(args: list[str], needle: str, lib_dir: Path):
    r = cli(*args, library=lib_dir)
    assert r.returncode == 2, r.stderr
    error = _error(r)
    assert error["code"] == "usage" and needle in error["message"].lower()
    assert "--help" in error["hint"]
    assert "╭" not in r.stderr and "Traceback" not in r.stderr


def test_usage_error_without_json_is_a_short_message(lib_dir: Path):
    r = cli("list", "--bogus", library=lib_dir)
    assert r.returncode == 2 and r.stdout == ""
    assert "error:" in r.stderr and "--bogus" in r.stderr and "--help" in r.stderr
    assert "╭" not in r.stderr and len(r.stderr.splitlines()) <= 3


def test_no_arguments_still_shows_help():
    r = cli()
    assert r.returncode == 2 and "Commands" in r.stdout + r.stderr


# ------------------------------------------------------------------ database errors (point 12)
def test_locked_catalog_is_library_busy(lib_dir: Path, tmp_path: Path):
    photo = make_photo(tmp_path / "new.jpg", 801)
    holder = sqlite3.connect(lib_dir / "catalog.db", isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")  # another writer holds the lock
    try:
        env = {"ASSETLOOM_BUSY_TIMEOUT_S": "0.2"}
        r = cli("add", str(photo), "--json", library=lib_dir, env=env)
        human = cli("add", str(photo), library=lib_dir, env=env)
    finally:
        holder.rollback()
        holder.close()
    assert r.returncode == 4, r.stderr
    assert _error(r)["code"] == "library_busy"
    assert human.returncode == 4 and "busy" in human.stderr and "Traceback" not in human.stderr


def _garbage(lib_dir: Path) -> None:
    (lib_dir / "catalog.db").write_bytes(os.urandom(8192))


def _malformed(lib_dir: Path) -> None:
    """Keep the header page, overwrite every other page: SQLite opens it, then reads garbage."""
    path = lib_dir / "catalog.db"
    size = path.stat().st_size
    with path.open("r+b") as fh:
        fh.seek(4096)
        fh.write(os.urandom(size - 4096))


@pytest.mark.parametrize("damage", [_garbage, _malformed])
def test_damaged_catalog_is_an_integrity_error_with_a_hint(damage, lib_dir: Path, tmp_path: Path):
    for leftover in ("catalog.db-wal", "catalog.db-shm"):
        (lib_dir / leftover).unlink(missing_ok=True)
    damage(lib_dir)
    r = cli("list", "--json", library=lib_dir, home=tmp_path)
    assert r.returncode == 5, r.stderr
    error = _error(r)
    assert error["code"] == "catalog_corrupt" and "catalog.db" in error["message"]
    assert "backup" in error["hint"] and "index rebuild" in error["hint"]
    human = cli("list", library=lib_dir, home=tmp_path)
    assert human.returncode == 5 and "backup" in human.stderr
    assert "Traceback" not in human.stderr and len(human.stderr.splitlines()) <= 4


# ------------------------------------------------------------------ unexpected errors (point 12)
@pytest.fixture
def broken_row(lib_dir: Path) -> Path:
    """A catalog row whose metadata is not JSON: reading it fails somewhere nobody expected."""
    con = sqlite3.connect(lib_dir / "catalog.db")
    with con:
        con.execute("UPDATE assets SET metadata_json = '{not json'")
    con.close()
    return lib_dir


def test_unexpected_error_is_logged_not_dumped(broken_row: Path, tmp_path: Path):
    home = tmp_path / "home"
    r = cli("list", "--json", library=broken_row, home=home)
    assert r.returncode == 1, r.stderr
    error = _error(r)
    assert error["code"] == "internal" and "JSONDecodeError" in error["message"]
    logs = list((home / ".cache" / "assetloom" / "logs").glob("*.log"))
    assert len(logs) == 1 and str(logs[0]) in error["hint"]
    assert "Traceback" in logs[0].read_text() and "JSONDecodeError" in logs[0].read_text()

    human = cli("list", library=broken_row, home=home)
    assert human.returncode == 1 and "Traceback" not in human.stderr
    assert "--debug" in human.stderr and len(human.stderr.splitlines()) <= 4


def test_debug_prints_the_traceback(broken_row: Path, tmp_path: Path):
    r = cli("--debug", "list", library=broken_row, home=tmp_path / "home")
    assert r.returncode == 1
    assert "Traceback" in r.stderr and "JSONDecodeError" in r.stderr


# ------------------------------------------------------------------ named paths (point 13)
def test_verify_missing_file_is_an_error(lib_dir: Path, tmp_path: Path):
    missing = tmp_path / "nonexistent.jpg"
    present = tmp_path / "in" / "a.jpg"
    r = cli("verify", str(missing), str(present), "--json", library=lib_dir)
    assert r.returncode == 1, r.stderr
    gone, found = json.loads(r.stdout)["results"]
    assert gone["file"] == str(missing) and gone["matches"] == []
    assert gone["error"] == "no such file or folder"
    assert found["tier"] == "exact"

    human = cli("verify", str(missing), library=lib_dir)
    assert human.returncode == 1
    assert "no match" not in human.stdout and "no such file or folder" in human.stdout
    assert "does not exist" in human.stderr


def test_add_missing_path_is_an_error(lib_dir: Path, tmp_path: Path):
    missing = tmp_path / "nonexistent"
    other = make_photo(tmp_path / "b.jpg", 802)
    r = cli("add", str(missing), str(other), "--json", library=lib_dir)
    assert r.returncode == 1, r.stderr
    doc = json.loads(r.stdout)
    assert doc["skipped"] == [{"file": str(missing), "reason": "no such file or folder"}]
    assert [Path(a["file"]).name for a in doc["added"]] == ["b.jpg"]  # the others still go in
    human = cli("add", str(missing), library=lib_dir)
    assert human.returncode == 1 and "does not exist" in human.stderr


def test_add_folder_without_recursive_says_what_it_left_out(lib_dir: Path, tmp_path: Path):
    top = tmp_path / "shoot"
    make_photo(top / "top.jpg", 803)
    make_photo(top / "day1" / "x.jpg", 804)
    make_photo(top / "day2" / "y.jpg", 805)
    (top / ".cache").mkdir()  # hidden folders are never assets: not counted
    r = cli("add", str(top), "--json", library=lib_dir)
    assert r.returncode == 0, r.stderr
    assert len(json.loads(r.stdout)["added"]) == 1
    assert "2 sub-folders" in r.stderr and "--recursive" in r.stderr
    r = cli("add", str(top), "--recursive", library=lib_dir)
    assert r.returncode == 0 and "sub-folder" not in r.stderr


# ------------------------------------------------------------------ exit codes (point 14)
def test_help_documents_the_exit_codes():
    r = cli("--help", env={"COLUMNS": "200"})
    assert r.returncode == 0
    text = r.stdout
    assert "Exit codes" in text
    for code, word in [
        (1, "bad input"),
        (2, "usage"),
        (3, "not found"),
        (4, "busy"),
        (5, "integrity"),
        (6, "auth"),
    ]:
        assert re.search(rf"\b{code}\b[^0-9]*{word}", text), (code, word)


def test_readme_documents_the_exit_codes():
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    section = readme.split("### Exit codes", 1)[1].split("\n#", 1)[0]
    rows = {int(m) for m in re.findall(r"^\| `?(\d+)`? \|", section, flags=re.M)}
    assert rows >= EXIT_CODES


def test_usage_and_no_library_share_exit_2(tmp_path: Path):
    usage = cli("list", "--bogus", "--json")
    no_library = cli("list", "--json")
    assert usage.returncode == no_library.returncode == 2
    assert _error(usage)["code"] == "usage" and _error(no_library)["code"] == "not_a_library"


def test_already_there_is_bad_input_not_usage(tmp_path: Path):
    """Exit 2 means one thing (usage / no library): an existing library is bad input."""
    assert cli("init", str(tmp_path / "lib")).returncode == 0
    again = cli("init", str(tmp_path / "lib"), "--json")
    assert again.returncode == 1 and _error(again)["code"] == "library_exists"
