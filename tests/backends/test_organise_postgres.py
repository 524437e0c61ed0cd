"""Collections, the trash and share links on a library whose catalog is PostgreSQL (a real
server): the same use cases the CLI and the API call."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from assetloom.app import collections, shares, trash
from assetloom.app.collections import SavedSearch
from assetloom.app.library import Library
from assetloom.app.search import SearchQuery
from assetloom.core.listing import ListQuery
from assetloom.errors import AssetNotFoundError, ShareNotFoundError
from tests.backends.pg_database import fresh_database
from tests.media import make_photo


@pytest.fixture
def database(postgres_url: str) -> Iterator[str]:
    with fresh_database(postgres_url) as url:
        yield url.replace("postgresql+psycopg://", "postgresql://")


def test_organise_on_postgresql(database: str, tmp_path: Path) -> None:
    photos = [make_photo(tmp_path / f"pg{i}.jpg", seed=650 + i, size=(320, 240)) for i in range(3)]
    memo = tmp_path / "walrus-memo.txt"
    memo.write_text("The walrus shoot moves to Thursday.\n", encoding="utf-8")
    with Library.create(tmp_path / "lib", catalog=database) as lib:
        assert lib.catalog.dialect == "postgresql"
        lib.add([*photos, memo])
        ids = {a.original_name: a.asset_id for a in lib.list().assets}
        a, b, c = ids["pg0.jpg"], ids["pg1.jpg"], ids["pg2.jpg"]
        collections.create(lib, "A", by="test")
        collections.create(lib, "A2", by="test", parent="A")
        collections.create(lib, "B", by="test")
        assert collections.add(lib, "A", [b, a[:8]]).added == 2
        collections.add(lib, "B", [c])
        smart = collections.create(lib, "walrus", by="test", query=SavedSearch(text="walrus"))
        assert smart.smart
        shown = collections.show(lib, "walrus")
        assert [x.original_name for x in shown.assets] == ["walrus-memo.txt"]

        link = shares.create(lib, by="test", base_url="https://dam.example", collection="A")
        record = shares.open_link(lib, link.token)
        assert {x.asset_id for x in shares.covered(lib, record)[1]} == {a, b}
        with pytest.raises(ShareNotFoundError):
            shares.covered_asset(lib, record, c)

        trash.move_to_trash(lib, [b, ids["walrus-memo.txt"]])
        assert lib.count(ListQuery()) == 2
        assert [x.asset_id for x in collections.show(lib, "A").assets] == [a]
        assert collections.show(lib, "walrus").assets == []
        assert not lib.search(SearchQuery(text="walrus"))
        with pytest.raises(ShareNotFoundError):
            shares.covered_asset(lib, record, b)
        with pytest.raises(AssetNotFoundError):
            lib.get_for(b, reviewer=True)

        trash.restore(lib, [b])
        assert [x.asset_id for x in collections.show(lib, "A").assets] == [b, a]
        emptied = trash.empty(lib)
        assert [x.asset_id for x in emptied.removed] == [ids["walrus-memo.txt"]]
        audit = lib.audit_ledger()
        assert audit.ok and audit.tree_size == 5  # four registrations, one removal
