"""The metadata store on SQLite and PostgreSQL: edited values and history in one transaction,
manual and rejected tags, custom fields, and keyword rows updated field by field."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from assetloom.core.assets import Asset, MediaType, Segment
from assetloom.store.base import NewVector
from assetloom.store.catalog import SqlCatalog
from assetloom.store.metadata import MetadataWrites, SqlMetadataStore

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def _id(i: int) -> str:
    return f"{i:06x}" + "d" * 26


def _add(catalog: SqlCatalog, n: int) -> list[str]:
    assets = [
        Asset(
            asset_id=_id(i),
            sha256=f"{i:064x}",
            media_type=MediaType.IMAGE,
            mime="image/jpeg",
            size=1000 + i,
            original_name=f"photo-{i}.jpg",
            registered_at=T0 + timedelta(minutes=i),
            width=640,
            height=480,
            metadata={},
            fingerprints=[],
        )
        for i in range(n)
    ]
    with catalog.unit_of_work() as uow:
        uow.add_assets((a, False) for a in assets)
        for a in assets:
            uow.upsert_keywords(
                a.asset_id,
                {"name": a.original_name, "content": "harbour at dawn 港口"},
                new=True,
            )
            uow.add_tags(a.asset_id, [("dog", 0.9, "zero-shot"), ("sky", 0.7, "zero-shot")])
    return [a.asset_id for a in assets]


def test_values_and_history_commit_together(catalog: SqlCatalog) -> None:
    ids = _add(catalog, 3)
    store = SqlMetadataStore(catalog.read_session)
    now = datetime.now(UTC)
    with catalog.unit_of_work() as uow:
        writes = MetadataWrites(uow.session)
        states = writes.states(ids)
        assert all(not s.has_row and s.values["title"] is None for s in states.values())
        for s in states.values():
            s.values.update(title="Spring launch", rating=4, status="approved")
            s.values["usage"] = {"expires": "2027-01-31", "channels": ["web"], "approved_for": []}
        writes.save(states.values(), [(a, "title", "", "Spring launch") for a in ids], "alice", now)
    after = store.states(ids)
    assert {s.values["title"] for s in after.values()} == {"Spring launch"}
    assert {(s.values["rating"], s.values["status"]) for s in after.values()} == {(4, "approved")}
    assert after[ids[0]].values["usage"]["channels"] == ["web"]
    assert after[ids[0]].updated_by == "alice" and after[ids[0]].updated_at is not None
    assert after[ids[0]].updated_at.tzinfo is not None
    # A second save updates the rows in place (bulk update by primary key).
    with catalog.unit_of_work() as uow:
        writes = MetadataWrites(uow.session)
        states = writes.states(ids)
        for s in states.values():
            s.values["title"] = "Autumn"
        writes.save(states.values(), [(ids[0], "title", "Spring launch", "Autumn")], "bob", now)
    assert store.states([ids[0]])[ids[0]].values["title"] == "Autumn"
    entries = store.history(ids[0])
    assert [(e.field, e.old, e.new, e.actor) for e in entries] == [
        ("title", "Spring launch", "Autumn", "bob"),
        ("title", "", "Spring launch", "alice"),
    ]


def test_a_failed_transaction_leaves_nothing(catalog: SqlCatalog) -> None:
    ids = _add(catalog, 1)
    store = SqlMetadataStore(catalog.read_session)
    with pytest.raises(RuntimeError), catalog.unit_of_work() as uow:
        writes = MetadataWrites(uow.session)
        states = writes.states(ids)
        states[ids[0]].values["title"] = "never"
        writes.save(states.values(), [(ids[0], "title", "", "never")], "x", datetime.now(UTC))
        raise RuntimeError("crash before commit")
    assert store.states(ids)[ids[0]].values["title"] is None
    assert store.history(ids[0]) == []


def test_manual_removed_and_rejected_tags(catalog: SqlCatalog) -> None:
    ids = _add(catalog, 2)
    store = SqlMetadataStore(catalog.read_session)
    now = datetime.now(UTC)
    with catalog.unit_of_work() as uow:
        writes = MetadataWrites(uow.session)
        writes.add_manual_tags([(a, "sku-1234") for a in ids] + [(ids[0], "dog")])
        writes.reject_tags([(ids[1], "sky")], "alice", now)
        writes.remove_tags([(ids[0], "sky")])
    tags = store.tags_of(ids)
    assert tags[ids[0]] == {"dog": "manual", "sku-1234": "manual"}
    assert tags[ids[1]] == {"dog": "zero-shot", "sku-1234": "manual"}
    assert store.rejected(ids) == {ids[1]: {"sky"}}
    assert {"dog", "sku-1234"} <= store.tag_keys_in_use()
    # The tagger's clear_tag (before re-scoring a tag) keeps a person's rows.
    with catalog.unit_of_work() as uow:
        uow.clear_tag("dog")
    assert store.tags_of(ids)[ids[0]] == {"dog": "manual", "sku-1234": "manual"}
    # Adding a rejected tag by hand lifts the rejection.
    with catalog.unit_of_work() as uow:
        MetadataWrites(uow.session).add_manual_tags([(ids[1], "sky")])
    assert store.rejected(ids) == {}


def test_custom_fields(catalog: SqlCatalog) -> None:
    now = datetime.now(UTC)
    with catalog.unit_of_work() as uow:
        writes = MetadataWrites(uow.session)
        assert writes.define_field("channel", "choice", ["web", "print"], "Channel", now)
        assert writes.define_field("sku", "text", [], "", now)
    with catalog.unit_of_work() as uow:
        assert not MetadataWrites(uow.session).define_field("sku", "number", [], "SKU", now)
    fields = SqlMetadataStore(catalog.read_session).fields()
    assert [(f.name, f.kind, f.choices, f.label) for f in fields] == [
        ("channel", "choice", ("web", "print"), "Channel"),
        ("sku", "number", (), "SKU"),
    ]


def test_keyword_fields_update_without_losing_the_content(catalog: SqlCatalog) -> None:
    ids = _add(catalog, 3)
    with catalog.unit_of_work() as uow:
        uow.set_keyword_fields(
            {a: {"title": "春季新品 launch", "keywords": "campaign 蓝色"} for a in ids[:2]}
        )
        uow.set_keyword_fields({"f" * 32: {"title": "no row yet"}})  # unknown: inserted
    assert {h.asset_id for h in catalog.keyword_search("春季新品", 10)} == set(ids[:2])
    assert {h.asset_id for h in catalog.keyword_search("蓝色", 10)} == set(ids[:2])
    hit = catalog.keyword_search("campaign", 10)[0]
    assert "keywords" in hit.fields
    # The text inside the asset is still searchable after the edit.
    assert {h.asset_id for h in catalog.keyword_search("harbour", 10)} == set(ids)
    assert {h.asset_id for h in catalog.keyword_search("港口", 10)} == set(ids)


def test_metadata_vector_rows(catalog: SqlCatalog) -> None:
    ids = _add(catalog, 2)
    vec = bytes(16)
    with catalog.unit_of_work() as uow:
        uow.add_vectors(
            [
                NewVector(ids[0], "text", "m", vec, Segment("metadata", text="a")),
                NewVector(ids[0], "text", "m", vec, Segment("transcript", 1.0, 2.0, text="b")),
                NewVector(ids[1], "text", "m", vec),
            ]
        )
    with catalog.unit_of_work() as uow:
        writes = MetadataWrites(uow.session)
        rows = writes.metadata_vector_rows(ids, "metadata")
        assert len(rows) == 1 and rows[0][1] == "text"
        writes.delete_vectors(r for r, _ in rows)
    with catalog.unit_of_work() as uow:
        assert MetadataWrites(uow.session).metadata_vector_rows(ids, "metadata") == []
    assert catalog.vectors_of(ids[1])  # the whole asset's vector stays
