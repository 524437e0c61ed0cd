"""Editable metadata and tags by hand through the Library, on SQLite and on PostgreSQL:
values, history, validation, keyword search of edits, label filters and rejected auto-tags."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from assetloom.app.library import Library
from assetloom.app.metadata import MetadataValueError, UnknownFieldError
from assetloom.app.search import SearchQuery
from assetloom.app.tags import UnknownTagError
from assetloom.core.listing import ListQuery
from assetloom.errors import AssetNotFoundError, BadInputError
from tests.media import make_photo


@pytest.fixture(params=["sqlite", "postgresql"])
def lib(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Library]:
    if request.param == "sqlite":
        with Library.create(tmp_path / "lib") as made:
            yield made
        return
    from tests.backends.pg_database import fresh_database

    with (
        fresh_database(request.getfixturevalue("postgres_url")) as url,
        Library.create(tmp_path / "lib", catalog=url) as made,
    ):
        yield made


def _photos(lib: Library, tmp_path: Path, n: int) -> list[str]:
    paths = [make_photo(tmp_path / f"p{i}.jpg", 40 + i) for i in range(n)]
    report = lib.add(paths)
    return [a.asset_id for a in sorted(report.added, key=lambda a: a.file)]


def _auto_tag(lib: Library, asset_id: str, *keys: str) -> None:
    """Tags as the tagger writes them (the library here runs without models)."""
    with lib.catalog.unit_of_work() as uow:
        uow.add_tags(asset_id, [(k, 0.8, "zero-shot") for k in keys])


def test_set_show_and_history(lib: Library, tmp_path: Path) -> None:
    a, b = _photos(lib, tmp_path, 2)
    done = lib.set_metadata(
        [a],
        {
            "title": "春季新品 Spring launch",
            "description": "Blue product shot",
            "keywords": ["campaign", "蓝色", "campaign", " "],
            "creator": "Li Wei",
            "copyright": "© 2026 Example",
            "licence": "CC BY 4.0",
            "usage": {"expires": "2027-01-31", "channels": ["web", "print"]},
            "rating": 4,
            "status": "approved",
        },
        actor="alice",
    )
    assert done.updated == 1 and done.asset_ids == [a]
    meta = lib.metadata([a[:8]])[0]
    assert (meta.title, meta.keywords, meta.rating, meta.status) == (
        "春季新品 Spring launch",
        ["campaign", "蓝色"],
        4,
        "approved",
    )
    assert meta.usage.expires == "2027-01-31" and meta.usage.channels == ["web", "print"]
    assert meta.updated_by == "alice" and meta.updated_at and meta.updated_at.endswith("Z")
    assert "title" in meta.edited and "description" in meta.edited
    untouched = lib.metadata([b])[0]
    assert untouched.title == "" and untouched.rating is None and untouched.edited == []

    lib.set_metadata([a], {"rating": 2, "title": "Autumn"}, actor="bob")
    lib.set_metadata([a], {"rating": 2}, actor="carol")  # nothing changes: no history
    entries = lib.metadata_history(a).entries
    assert {(e.field, e.old, e.new, e.actor) for e in entries[:2]} == {
        ("rating", 4, 2, "bob"),
        ("title", "春季新品 Spring launch", "Autumn", "bob"),
    }
    assert {e.field for e in entries} >= {"usage.expires", "usage.channels", "status"}
    assert all(e.actor != "carol" for e in entries)
    # The status is the asset row's column, which lists filter by.
    assert [x.asset_id for x in lib.list(ListQuery(status="approved")).assets] == [a]
    # Resetting a text goes back to what the file says (nothing here).
    lib.set_metadata([a], {"title": None}, actor="bob")
    assert lib.metadata([a])[0].title == "" and "title" not in lib.metadata([a])[0].edited


def test_bulk_edit_is_one_call_for_many(lib: Library, tmp_path: Path) -> None:
    ids = _photos(lib, tmp_path, 5)
    done = lib.set_metadata(ids, {"status": "in_review", "keywords": ["sku-77"]}, actor="a")
    assert done.updated == 5
    assert {m.status for m in lib.metadata(ids)} == {"in_review"}
    # A bad id fails the whole call before anything is written.
    with pytest.raises(AssetNotFoundError):
        lib.set_metadata([ids[0], "ffffffffffff"], {"status": "draft"}, actor="a")
    assert lib.metadata([ids[0]])[0].status == "in_review"


def test_bad_input_is_specific(lib: Library, tmp_path: Path) -> None:
    (a,) = _photos(lib, tmp_path, 1)
    cases: list[tuple[dict, type[Exception], str]] = [
        ({"rating": 7}, MetadataValueError, "rating 7 is out of range"),
        ({"rating": -1}, MetadataValueError, "out of range"),
        ({"status": "done"}, MetadataValueError, "unknown status 'done'"),
        ({"usage": {"expires": "2027-02-30"}}, MetadataValueError, "is not a date"),
        ({"colour": "red"}, UnknownFieldError, "unknown metadata field 'colour'"),
        ({"fields": {"sku": "1"}}, UnknownFieldError, "unknown custom field 'sku'"),
        ({}, BadInputError, "nothing to set"),
    ]
    for patch, error, message in cases:
        with pytest.raises(error, match=message) as info:
            lib.set_metadata([a], patch, actor="a")
        assert info.value.hint or error is BadInputError, patch
    assert lib.metadata_history(a).entries == []


def test_custom_fields_validate_by_kind(lib: Library, tmp_path: Path) -> None:
    (a,) = _photos(lib, tmp_path, 1)
    lib.define_metadata_field("sku", "text", [], "SKU", actor="a")
    lib.define_metadata_field("price", "number", [], "", actor="a")
    lib.define_metadata_field("shoot", "date", [], "", actor="a")
    lib.define_metadata_field("market", "choice", ["cn", "eu"], "Market", actor="a")
    assert [f.name for f in lib.metadata_fields().fields] == ["market", "price", "shoot", "sku"]
    lib.set_metadata(
        [a],
        {"fields": {"sku": "SKU-1234", "price": "12.5", "shoot": "2026-05-01", "market": "eu"}},
        actor="a",
    )
    assert lib.metadata([a])[0].fields == {
        "sku": "SKU-1234",
        "price": 12.5,
        "shoot": "2026-05-01",
        "market": "eu",
    }
    for bad, message in (
        ({"price": "cheap"}, "is not a number"),
        ({"shoot": "May"}, "is not a date"),
        ({"market": "us"}, "is not one of its choices"),
    ):
        with pytest.raises(MetadataValueError, match=message):
            lib.set_metadata([a], {"fields": bad}, actor="a")
    lib.set_metadata([a], {"fields": {"sku": None}}, actor="a")
    assert "sku" not in lib.metadata([a])[0].fields
    for name, kind, choices in (("Bad Name", "text", []), ("x", "colour", []), ("y", "choice", [])):
        with pytest.raises(BadInputError):
            lib.define_metadata_field(name, kind, choices, "", actor="a")
    with pytest.raises(BadInputError, match="built-in"):
        lib.define_metadata_field("title", "text", [], "", actor="a")


def test_edits_are_found_by_keyword_search(lib: Library, tmp_path: Path) -> None:
    a, b = _photos(lib, tmp_path, 2)
    lib.set_metadata([a], {"title": "港口黎明 harbour dawn", "keywords": ["lighthouse"]}, actor="a")
    for words in ("港口", "harbour", "lighthouse"):
        hits = lib.search(SearchQuery(text=words))
        assert [h.asset.asset_id for h in hits] == [a], words
        assert any(m.get("fields") for m in hits[0].matched if m["source"] == "keyword")
    lib.set_metadata([a], {"keywords": []}, actor="a")
    assert lib.search(SearchQuery(text="lighthouse")) == []
    # The file name is still in the keyword row (the edit replaced only its fields).
    assert a in [h.asset.asset_id for h in lib.search(SearchQuery(text="p0"))]
    assert b not in [h.asset.asset_id for h in lib.search(SearchQuery(text="harbour"))]


def test_manual_tags_filters_by_label_and_rejection(lib: Library, tmp_path: Path) -> None:
    a, b, c = _photos(lib, tmp_path, 3)
    _auto_tag(lib, a, "dog", "sky")
    done = lib.change_tags([a, b], add=["SKU-1234", "狗"], actor="alice")
    assert done.updated == 2
    meta = {t.key: t.source for t in lib.metadata([b])[0].tags}
    assert meta == {"sku-1234": "manual", "dog": "manual"}
    assert {t.key: t.source for t in lib.metadata([a])[0].tags}["dog"] == "manual"
    # zh and en labels and keys resolve to the same filter.
    for label in ("狗", "dog", "Dog"):
        keys = lib.filter_tags([label])
        assert keys == ["dog"]
        assert {x.asset_id for x in lib.list(ListQuery(tags=keys)).assets} == {a, b}
    assert {x.asset_id for x in lib.list(ListQuery(tags=lib.filter_tags(["sku-1234"]))).assets} == {
        a,
        b,
    }
    with pytest.raises(UnknownTagError, match="no tag 'dgo'") as info:
        lib.filter_tags(["dgo"])
    assert info.value.hint and "dog" in info.value.hint
    # The keyword index knows a tag put on by hand, never the model's own (revision 0016).
    assert {h.asset.asset_id for h in lib.search(SearchQuery(text="sku"))} == {a, b}
    assert {h.asset.asset_id for h in lib.search(SearchQuery(text="狗"))} == {a, b}
    assert lib.search(SearchQuery(text="sky")) == []

    rejected = lib.reject_tag(a, "天空", actor="alice")  # sky, by its Chinese name
    assert rejected.tag == "sky" and rejected.was_present
    meta_a = lib.metadata([a])[0]
    assert "sky" not in {t.key for t in meta_a.tags} and meta_a.rejected_tags == ["sky"]
    removed = lib.change_tags([a, b, c], remove=["sku-1234"], actor="alice")
    assert removed.updated == 2 and set(removed.asset_ids) == {a, b}
    assert lib.metadata_history(a).entries[0].field == "tags"
    with pytest.raises(BadInputError):
        lib.change_tags([a], add=["bad tag/with slash"], actor="alice")
    with pytest.raises(UnknownTagError):
        lib.change_tags([a], remove=["nonexistent-tag-xyz"], actor="alice")
