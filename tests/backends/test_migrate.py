"""`assetloom migrate`: an embedded library moved onto PostgreSQL + S3 (real servers), checked
row for row and by use (list, verify with proofs, keyword search, rm, add, ledger audit), plus
its refusals and its resume after a run that stopped before the switch."""

from __future__ import annotations

import json
import random
import shutil
import sqlite3
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import sqlalchemy as sa
from PIL import Image

from assetloom.accounts import AccountService, Role
from assetloom.app import migrate as migration
from assetloom.app.library import Library
from assetloom.app.migrate import (
    MIGRATED,
    AlreadyOnServersError,
    MigrationError,
    PendingBlobsError,
    TargetHoldsCatalogError,
    migrate_library,
)
from assetloom.app.search import SearchQuery
from assetloom.blobs.base import BlobStoreError
from assetloom.core.assets import Tier
from assetloom.errors import BadInputError
from assetloom.store import fts, fts_postgres
from assetloom.store.base import NewVector
from tests.backends.pg_database import fresh_database
from tests.backends.servers import S3Server
from tests.cli_run import cli
from tests.media import make_photo

DOC = "海边的孩子 harbour launch brief\n"


@pytest.fixture
def aws(s3_bucket: S3Server, monkeypatch: pytest.MonkeyPatch) -> S3Server:
    """AWS_* set as in a user's shell (subprocesses see them too)."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", s3_bucket.access_key)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", s3_bucket.secret_key)
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", s3_bucket.endpoint)
    monkeypatch.setenv("AWS_REGION", s3_bucket.region)
    return s3_bucket


@pytest.fixture
def database(postgres_url: str) -> Iterator[str]:
    """A new database's URL as a user writes it (postgresql://, no driver)."""
    with fresh_database(postgres_url) as url:
        yield url.replace("postgresql+psycopg://", "postgresql://")


def _location(s3: S3Server) -> str:
    return f"s3://{s3.bucket}/mig-{uuid.uuid4().hex[:8]}"


def _objects(s3: S3Server, location: str, under: str) -> set[str]:
    prefix = f"{location.split('/', 3)[3]}/{under}/"
    pages = s3.client().get_paginator("list_objects_v2").paginate(Bucket=s3.bucket, Prefix=prefix)
    return {o["Key"][len(prefix) :] for page in pages for o in page.get("Contents", [])}


def _pg_rows(url: str, sql: str) -> list[tuple[Any, ...]]:
    engine = sa.create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))
    try:
        with engine.connect() as conn:
            return [tuple(r) for r in conn.exec_driver_sql(sql)]
    finally:
        engine.dispose()


def _sqlite_rows(db: Path, sql: str) -> list[tuple[Any, ...]]:
    conn = sqlite3.connect(db)
    try:
        return [tuple(r) for r in conn.execute(sql)]
    finally:
        conn.close()


def _inputs(folder: Path, n: int = 4) -> list[Path]:
    photos = [make_photo(folder / f"p{i}.jpg", 900 + i) for i in range(n)]
    (folder / "brief.md").write_text(DOC, encoding="utf-8")
    return photos


def _embedded(root: Path, inputs: Path) -> dict[str, Any]:
    """An embedded library with every kind of row: assets, a vector, tags, a defined tag, a
    user with a token and a web session, an audit entry, signed checkpoints and a tombstone."""
    with Library.create(root) as lib:
        lib.add([inputs], recursive=True)
        by_name = {a.original_name: a for a in lib.list().assets}
        photo = by_name["p0.jpg"]
        with lib.catalog.unit_of_work() as uow:
            vector = np.random.default_rng(1).standard_normal(16).astype(np.float32)
            uow.add_vectors([NewVector(photo.asset_id, "visual", "test", vector.tobytes())])
            uow.save_tag_definition("sunset", "sunset", "日落", 0.3, [photo.asset_id])
            uow.add_tags(photo.asset_id, [("sunset", 0.9, "user")])
            uow.set_keyword_tags(photo.asset_id, ["sunset 日落"])
        accounts = AccountService.of(lib)
        ann = accounts.add_user("ann", Role.VIEWER, None)
        _, token = accounts.create_token("ann", "laptop")
        accounts.start_session(ann, "test", timedelta(hours=1))
        accounts.record("ann", "token.create", "laptop")
        lib.ledger().checkpoint()
        lib.remove(by_name["p3.jpg"].asset_id)  # a tombstone leaf, and a blob gone
        checkpoint = lib.ledger().checkpoint()
        return {
            "assets": {a.asset_id: a for a in lib.list().assets},
            "token": token,
            "root_hash": checkpoint.root_hash,
            "tree_size": checkpoint.tree_size,
        }


_TABLES = {
    "assets": "asset_id, sha256, size, original_name, registered_at",
    "fingerprints": "id, asset_id, kind, value, quality",
    "embeddings": "id, asset_id, space, model, vector",
    "tags": "asset_id, tag, score, source",
    "tag_definitions": "key, name_en, name_zh, threshold, builtin",
    "users": "id, name, role, password_hash",
    "api_tokens": "id, user_id, label, token_hash",
    "web_sessions": "id_hash, user_id, csrf_token",
    "audit_log": "id, actor, action, target",
    "ledger_leaves": "idx, data, leaf_hash, kind, asset_id",
    "ledger_nodes": "node_id, hash",
    "ledger_head": "id, tree_size, root_hash",
    "ledger_checkpoints": "tree_size, root_hash, note",
    "seen_files": "path, size, mtime_ns, sha256",
}


def _normal(value: Any) -> Any:
    """PostgreSQL's values as sqlite3 gives them (SQLite keeps UTC wall time as text)."""
    if isinstance(value, datetime):
        return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
    return value


def _table(rows: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    return sorted(tuple(_normal(v) for v in r) for r in rows)


def test_migrate_moves_every_row_and_file_and_the_library_works_on_servers(
    aws: S3Server, database: str, tmp_path: Path
) -> None:
    root = tmp_path / "lib"
    photos = _inputs(tmp_path / "in")
    before = _embedded(root, tmp_path / "in")
    source_rows = {
        t: _table(_sqlite_rows(root / "catalog.db", f"SELECT {cols} FROM {t}"))
        for t, cols in _TABLES.items()
    }
    blobs = _location(aws)
    shutil.copytree(root, tmp_path / "backup")

    report = migrate_library(root, catalog=database, blobs=blobs)

    assert report.to_json()["ledger"] == {
        "tree_size": before["tree_size"],
        "root_hash": before["root_hash"],
    }
    assert (report.assets, report.blobs_copied, report.derived_copied) == (4, 4, 3)
    assert report.kept == [MIGRATED, "blobs/", "derived/"]
    assert not (root / "catalog.db").exists() and (root / MIGRATED).is_file()
    assert (root / "blobs").is_dir() and (root / "derived").is_dir()
    settings = (root / "assetloom.toml").read_text()
    assert "ledger_origin" in settings and f'blobs = "{blobs}"' in settings
    assert 'catalog = "postgresql+psycopg://' in settings

    # Row for row, ids included (sequences and the keyword table aside).
    pg = database.replace("postgresql://", "postgresql+psycopg://", 1)
    for table, cols in _TABLES.items():
        sql = f"SELECT {cols} FROM {table}"
        assert _table(_pg_rows(pg, sql)) == source_rows[table], table
    assert _pg_rows(pg, "SELECT count(*) FROM embeddings WHERE embedding IS NULL") == [(0,)]
    assert _pg_rows(pg, "SELECT count(*) FROM pending_blobs") == [(0,)]
    # Every original and thumbnail of a remaining asset is in the bucket; the removed one not.
    shas = {a.sha256 for a in before["assets"].values()}
    assert {k.rsplit("/", 1)[1] for k in _objects(aws, blobs, "blobs")} == shas
    assert {k.split("/")[0] for k in _objects(aws, blobs, "derived")} < shas

    with Library.open(root) as lib:
        assert lib.catalog.dialect == "postgresql" and lib.blobs.describe() == f"{blobs}/blobs"
        assert {a.asset_id for a in lib.list().assets} == set(before["assets"])
        audit = lib.audit_ledger()
        assert audit.ok and audit.tree_size == before["tree_size"]
        assert lib.ledger().checkpoint().root_hash == before["root_hash"]
        edited = tmp_path / "edited.jpg"
        with Image.open(photos[1]) as im:
            im.resize((im.width // 2, im.height // 2)).save(edited, quality=70)
        exact, near = lib.verify([photos[0], edited])
        assert exact.tier is Tier.EXACT and near.tier is Tier.NEAR_IDENTICAL
        assert all(r.to_json()["matches"][0]["ledger"]["verified"] for r in (exact, near))
        for query, name in (("harbour", "brief.md"), ("海边", "brief.md"), ("日落", "p0.jpg")):
            hits = lib.search(SearchQuery(text=query))
            assert [h.asset.original_name for h in hits][:1] == [name], query
        principal = AccountService.of(lib).principal_for_token(before["token"])
        assert principal.name == "ann"
        # Writes go on: new rows get ids past the copied ones, rm and add keep the log sound.
        top = _pg_rows(pg, "SELECT max(id) FROM fingerprints")[0][0]
        added = lib.add([make_photo(tmp_path / "new.jpg", 990)]).added[0].asset_id
        new_ids = _pg_rows(pg, f"SELECT id FROM fingerprints WHERE asset_id = '{added}'")
        assert new_ids and min(new_ids)[0] > top
        doomed = next(a for a in before["assets"].values() if a.original_name == "p2.jpg")
        lib.remove(doomed.asset_id)
        assert lib.count() == 4 and lib.audit_ledger().ok
        assert lib.ledger().consistency(before["tree_size"]).new_size == before["tree_size"] + 2

    with pytest.raises(AlreadyOnServersError, match="already on a server"):
        migrate_library(root, catalog=database)
    with pytest.raises(AlreadyOnServersError, match="already in"):
        migrate_library(root, blobs=_location(aws))
    # A backup of the folder (still embedded) must not copy its old catalog over the new one.
    with pytest.raises(TargetHoldsCatalogError, match="holds this library's catalog since"):
        migrate_library(tmp_path / "backup", catalog=database)


def test_keyword_rows_match_a_library_made_on_postgresql(
    postgres_url: str, database: str, tmp_path: Path
) -> None:
    """Migrated keyword rows are what an add on PostgreSQL writes, long Chinese text included
    (FTS5 keeps it segmented, three times as long: past the 200,000-character cut)."""
    inputs = tmp_path / "in"
    _inputs(inputs, n=1)
    rng = random.Random(7)
    long_text = "".join(rng.choice("海边孩子日落科技感产品图 abcé") for _ in range(100_000))
    assert len(fts.segment(long_text)) > 200_000
    (inputs / "long.txt").write_text(long_text, encoding="utf-8")
    with Library.create(tmp_path / "embedded") as lib:
        lib.add([inputs], recursive=True)
    migrate_library(tmp_path / "embedded", catalog=database)
    with fresh_database(postgres_url) as native:
        with Library.create(tmp_path / "native", catalog=native.replace("+psycopg", "", 1)) as lib:
            lib.add([inputs], recursive=True)
        sql = (
            f"SELECT a.sha256, {', '.join(f't.{f}' for f in fts.FIELDS)} "
            "FROM asset_text t JOIN assets a USING (asset_id)"
        )
        want = sorted(_pg_rows(native, sql))
    got = sorted(_pg_rows(database, sql))
    assert len(got) == 3 and got == want
    assert fts_postgres.tokens(long_text) in {r[-1] for r in got}  # kept whole


def test_a_stopped_migrate_leaves_the_library_embedded_and_a_rerun_resumes(
    aws: S3Server, database: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = tmp_path / "lib"
    _inputs(tmp_path / "in", n=2)
    with Library.create(root) as lib:
        lib.add([tmp_path / "in"], recursive=True)
    blobs = _location(aws)
    settings = (root / "assetloom.toml").read_text()

    def crash(*_: object) -> None:
        raise RuntimeError("killed after the copy, before the switch")

    monkeypatch.setattr(migration, "_check_copy", crash)
    with pytest.raises(RuntimeError, match="before the switch"):
        migrate_library(root, catalog=database, blobs=blobs)
    assert (root / "assetloom.toml").read_text() == settings
    assert (root / "catalog.db").is_file() and not (root / MIGRATED).exists()
    assert len(_objects(aws, blobs, "blobs")) == 3  # copied, and kept for the re-run
    with Library.open(root) as lib:  # still embedded, and writable
        assert lib.catalog.dialect == "sqlite"
        lib.add([make_photo(tmp_path / "later.jpg", 950)])
        assert lib.count() == 4

    # The re-run, as a user would type it (a new process: no crash patched in).
    done = cli("migrate", "--to", database, "--blobs", blobs, "--json", library=root)
    assert done.returncode == 0, done.stderr
    doc = json.loads(done.stdout)
    assert set(doc) == {
        "library", "catalog", "blobs", "assets", "blobs_copied", "blobs_skipped",
        "derived_copied", "derived_skipped", "ledger", "kept",
    }  # fmt: skip
    assert doc["library"] == str(root) and doc["blobs"] == blobs
    assert doc["catalog"].startswith("postgresql+psycopg://")
    assert (doc["assets"], doc["blobs_copied"], doc["blobs_skipped"]) == (4, 1, 3)
    assert (doc["derived_copied"], doc["derived_skipped"]) == (1, 2)
    assert set(doc["ledger"]) == {"tree_size", "root_hash"} and doc["ledger"]["tree_size"] == 4
    assert doc["kept"] == ["catalog.db.migrated", "blobs/", "derived/"]
    rows = _pg_rows(database, "SELECT kind, state FROM jobs")
    assert rows == [("migrate", "done")]  # the marker row, one, finished
    with Library.open(root) as lib:
        assert lib.count() == 4 and lib.audit_ledger().ok
        assert sorted(a.original_name for a in lib.list().assets) == [
            "brief.md", "later.jpg", "p0.jpg", "p1.jpg",
        ]  # fmt: skip


def test_migrate_refuses_a_database_that_holds_a_catalog(database: str, tmp_path: Path) -> None:
    Library.create(tmp_path / "other", catalog=database).close()
    with Library.create(tmp_path / "lib") as lib:
        lib.add([make_photo(tmp_path / "p.jpg", 960)])
    settings = (tmp_path / "lib" / "assetloom.toml").read_text()
    with pytest.raises(TargetHoldsCatalogError, match="already holds an AssetLoom catalog"):
        migrate_library(tmp_path / "lib", catalog=database)
    assert (tmp_path / "lib" / "assetloom.toml").read_text() == settings
    assert (tmp_path / "lib" / "catalog.db").is_file()
    assert _pg_rows(database, "SELECT count(*) FROM assets") == [(0,)]


def test_blobs_alone_move_to_s3_and_the_catalog_stays_embedded(
    aws: S3Server, tmp_path: Path
) -> None:
    root = tmp_path / "lib"
    photo = make_photo(tmp_path / "p.jpg", 980)
    with Library.create(root) as lib:
        lib.add([photo])
    blobs = _location(aws)
    moved = cli("migrate", "--blobs", blobs, library=root)  # the human output
    assert moved.returncode == 0, moved.stderr
    assert "originals 1 copied, 0 already there; derived 1 copied" in moved.stdout
    assert "Kept in" in moved.stdout and "blobs/, derived/" in moved.stdout
    assert (root / "catalog.db").is_file() and not (root / MIGRATED).exists()
    with Library.open(root) as lib:
        assert lib.catalog.dialect == "sqlite" and lib.blobs.describe() == f"{blobs}/blobs"
        (asset,) = lib.list().assets
        assert lib.original_download(asset, expires_s=60).url is not None
        assert lib.verify([photo])[0].tier is Tier.EXACT
    again = cli("migrate", "--blobs", blobs, "--json", library=root)
    assert again.returncode == 1
    assert json.loads(again.stdout)["error"]["code"] == "already_on_servers"


# --- without servers -------------------------------------------------------------------------


def test_migrate_refusals_that_need_no_server(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with Library.create(tmp_path / "lib") as lib:
        lib.add([make_photo(tmp_path / "p.jpg", 970)])
        with lib.catalog.unit_of_work() as uow:
            uow.mark_pending(["ab" * 32], 1, lib.list().assets[0].registered_at)
    root = tmp_path / "lib"
    with pytest.raises(BadInputError, match="holds a password"):
        migrate_library(root, catalog="postgresql://u:secret@127.0.0.1:1/x")
    with pytest.raises(BadInputError, match="nothing to migrate"):
        migrate_library(root)
    with pytest.raises(PendingBlobsError, match="add that has not finished"):
        migrate_library(root, catalog="postgresql://u@127.0.0.1:1/x")
    with Library.open(root) as lib, lib.catalog.unit_of_work() as uow:
        uow.drop_pending("ab" * 32)
    with pytest.raises(MigrationError, match="cannot connect to the database"):
        migrate_library(root, catalog="postgresql://u@127.0.0.1:1/x")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "nobody")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "nothing")
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", "http://127.0.0.1:9")
    with pytest.raises(BlobStoreError, match="cannot reach the S3 endpoint"):
        migrate_library(root, blobs="s3://bucket/lib")
    assert "blobs" not in (root / "assetloom.toml").read_text()
    assert "catalog" not in (root / "assetloom.toml").read_text()
    failed = cli("migrate", "--blobs", "/mnt/nas", "--json", library=root)
    assert failed.returncode == 1
    assert json.loads(failed.stdout)["error"]["code"] == "bad_input"


def test_unsegment_undoes_what_fts5_stored() -> None:
    rng = random.Random(3)
    alphabet = "海边孩子の日本語한국어 abcÉé_-.1  \t\n"
    samples = ["", " ", "海", " 海 ", "a海b", "海  边", "harbour 海边的孩子!"]
    samples += ["".join(rng.choice(alphabet) for _ in range(rng.randrange(40))) for _ in range(300)]
    for value in samples:
        assert fts.unsegment(fts.segment(value)) == value
        assert fts_postgres.tokens(fts.unsegment(fts.segment(value))) == fts_postgres.tokens(value)
