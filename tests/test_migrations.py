"""The Alembic migrations build exactly the schema the models declare."""

from __future__ import annotations

from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import text

from assetloom.app.library import Library
from assetloom.store.schema import Base


def test_migrated_catalog_matches_the_models(tmp_path: Path) -> None:
    with Library.create(tmp_path / "lib") as lib, lib._writer.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
        fts = [d for d in diff if "asset_text" in str(d)]  # FTS5 virtual table: raw SQL only
        assert [d for d in diff if d not in fts] == []


def test_listing_uses_the_order_index(tmp_path: Path) -> None:
    with Library.create(tmp_path / "lib") as lib, lib._reader.connect() as conn:
        plan = conn.execute(
            text(
                "EXPLAIN QUERY PLAN SELECT asset_id FROM assets "
                "WHERE registered_at >= '2026-01-01' ORDER BY registered_at, asset_id LIMIT 20"
            )
        ).all()
    details = " ".join(str(row[-1]) for row in plan)
    assert "ix_assets_registered_at_asset_id" in details
    assert "TEMP B-TREE" not in details


def test_head_revision_constant_is_alembics_head(tmp_path: Path) -> None:
    """Library.open skips Alembic when the catalog is at HEAD_REVISION: it must be the head."""
    from alembic.script import ScriptDirectory

    from assetloom.store.db import HEAD_REVISION, alembic_config, current_revision

    with Library.create(tmp_path / "lib") as lib:
        script = ScriptDirectory.from_config(alembic_config(lib._writer))
        assert script.get_current_head() == HEAD_REVISION
        assert current_revision(lib._reader) == HEAD_REVISION


def test_an_old_catalog_is_still_migrated_on_open(tmp_path: Path) -> None:
    from alembic import command

    from assetloom.store.db import HEAD_REVISION, alembic_config, current_revision

    Library.create(tmp_path / "lib").close()
    with Library.open(tmp_path / "lib") as lib:
        command.downgrade(alembic_config(lib._writer), "0004")
        assert current_revision(lib._reader) == "0004"
    with Library.open(tmp_path / "lib") as lib:
        assert current_revision(lib._reader) == HEAD_REVISION
