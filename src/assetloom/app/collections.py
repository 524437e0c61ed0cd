"""Collections (albums): hand-picked, ordered sets of assets, nested one level, with a cover;
and smart collections, which keep a saved search and whose members are its results when the
collection is viewed (so they follow the library without being maintained).

Members are only ever visible assets: a trashed or quarantined item stays in the table (so a
restore brings it back in its place) but no view, count or share link shows it.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from pydantic import Field

from assetloom.app.results import AssetOut, Shape, iso
from assetloom.app.trash import check_ids
from assetloom.core.assets import Asset, MediaType
from assetloom.errors import BadInputError

if TYPE_CHECKING:
    from assetloom.app.library import Library
    from assetloom.store.organise import CollectionRecord

MAX_NAME = 200
SMART_LIMIT = 500
"""Members a smart collection shows at most: its search's best results."""
PAGE = 100


@dataclass(slots=True)
class SavedSearch:
    """What a smart collection keeps: the words and filters of a search (app/search.py's
    SearchQuery, less the parts that name files on one machine)."""

    text: str | None = None
    tags: list[str] = field(default_factory=list)
    media_type: str | None = None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, doc: dict[str, Any]) -> SavedSearch:
        return cls(
            text=doc.get("text") or None,
            tags=[str(t) for t in doc.get("tags") or []],
            media_type=doc.get("media_type") or None,
        )

    def check(self) -> SavedSearch:
        self.text = (self.text or "").strip() or None
        self.tags = list(dict.fromkeys(t.strip() for t in self.tags if t.strip()))
        if not self.text and not self.tags and not self.media_type:
            raise BadInputError(
                "a smart collection needs words or a filter to search by",
                hint='give --query "words", --tag TAG or --type TYPE',
            )
        if self.media_type is not None:
            try:
                MediaType(self.media_type)
            except ValueError as exc:
                kinds = ", ".join(m.value for m in MediaType)
                raise BadInputError(
                    f"unknown media type {self.media_type!r}", hint=f"one of {kinds}"
                ) from exc
        return self


class CollectionOut(Shape):
    """A collection as `collection list --json` and `GET /api/v1/collections` list it."""

    name: str
    parent: str | None
    children: list[str]
    description: str
    smart: bool = Field(description="Its members are a saved search's results")
    query: dict[str, Any] | None = Field(description="The saved search (smart collections)")
    items: int | None = Field(description="Visible hand-picked items; null for smart ones")
    cover_asset_id: str | None = Field(description="The chosen cover, else the first item")
    created_by: str
    created_at: str
    updated_at: str


class CollectionListOut(Shape):
    collections: list[CollectionOut]


class CollectionShowOut(CollectionOut):
    """`collection show NAME --json` and `GET /api/v1/collections/{name}`: one page of it."""

    total: int
    offset: int
    assets: list[AssetOut]


class ItemsChangedOut(Shape):
    """What adding or removing items did."""

    collection: str
    added: int = 0
    already: int = Field(0, description="Given, but in the collection before")
    removed: int = 0
    items: int


def check_name(name: str) -> str:
    """A collection name people can type and a URL can carry: 1-200 printable characters,
    no slash, spaces trimmed, Unicode normalised (NFC)."""
    name = unicodedata.normalize("NFC", name.strip())
    if not name:
        raise BadInputError("a collection needs a name")
    if len(name) > MAX_NAME:
        raise BadInputError(f"a collection name has at most {MAX_NAME} characters")
    if "/" in name or any(unicodedata.category(c).startswith("C") for c in name):
        raise BadInputError(
            f"{name!r} is not a usable collection name",
            hint="leave out slashes and control characters",
        )
    return name


def create(
    lib: Library,
    name: str,
    *,
    by: str,
    parent: str | None = None,
    query: SavedSearch | None = None,
    description: str = "",
) -> CollectionOut:
    record = lib.organise.create_collection(
        check_name(name),
        by=by,
        at=_now(),
        parent=parent.strip() if parent else None,
        query=query.check().to_json() if query is not None else None,
        description=description.strip(),
    )
    return _out(lib, record)


def list_all(lib: Library) -> CollectionListOut:
    return CollectionListOut(collections=[_out(lib, r) for r in lib.organise.collections()])


def show(lib: Library, name: str, *, limit: int = PAGE, offset: int = 0) -> CollectionShowOut:
    if limit < 1 or offset < 0:
        raise BadInputError("limit must be at least 1 and offset not negative")
    record = lib.organise.collection(name)
    total, assets = members(lib, record, limit=limit, offset=offset)
    return CollectionShowOut(
        **_out(lib, record).model_dump(),
        total=total,
        offset=offset,
        assets=[AssetOut.of(a) for a in assets],
    )


def update(
    lib: Library,
    name: str,
    *,
    new_name: str | None = None,
    parent: str | None = None,
    move: bool = False,
    cover: str | None = None,
    set_cover: bool = False,
    description: str | None = None,
    order: Sequence[str] | None = None,
) -> CollectionOut:
    """Rename, move (`move`: to `parent`, None = the top), set or clear the cover
    (`set_cover`: to `cover`, an item; None = the first item), describe, reorder."""
    from assetloom.store.organise import UNSET

    record = lib.organise.collection(name)
    if set_cover and cover is not None:
        if record.query is not None:
            raise BadInputError(
                "a smart collection's cover is its first result", hint="leave out --cover"
            )
        full = lib.get(cover).asset_id
        if not lib.organise.holds(record.id, full):
            raise BadInputError(
                f"{full} is not an item of {record.name!r}", hint="a cover is one of its items"
            )
        cover = full
    now = _now()
    if order:
        lib.organise.reorder(record.name, check_ids(order), at=now)
    record = lib.organise.update_collection(
        record.name,
        at=now,
        new_name=check_name(new_name) if new_name else None,
        parent=(parent.strip() if parent else None) if move else UNSET,
        cover_asset_id=cover if set_cover else UNSET,
        description=description.strip() if description is not None else None,
    )
    return _out(lib, record)


def delete(lib: Library, name: str) -> CollectionOut:
    """Delete a collection (its assets stay in the library) and its share links."""
    gone = _out(lib, lib.organise.collection(name))
    lib.organise.delete_collection(name)
    return gone


def add(lib: Library, name: str, asset_ids: Sequence[str]) -> ItemsChangedOut:
    """Append assets in the order given, in one transaction (up to 10,000 ids)."""
    added, already = lib.organise.add_items(name, check_ids(asset_ids), at=_now())
    record = lib.organise.collection(name)
    return ItemsChangedOut(collection=record.name, added=added, already=already, items=record.items)


def remove(lib: Library, name: str, asset_ids: Sequence[str]) -> ItemsChangedOut:
    removed = lib.organise.remove_items(name, check_ids(asset_ids), at=_now())
    record = lib.organise.collection(name)
    return ItemsChangedOut(collection=record.name, removed=removed, items=record.items)


def members(
    lib: Library, record: CollectionRecord, *, limit: int | None = None, offset: int = 0
) -> tuple[int, list[Asset]]:
    """(how many, one page of the visible members in order)."""
    if record.query is None:
        ids = lib.organise.item_ids(record.name, limit=limit, offset=offset)
        found = lib.get_many(ids)
        return record.items, [found[a] for a in ids if a in found]
    everyone = smart_members(lib, SavedSearch.from_json(record.query))
    end = None if limit is None else offset + limit
    return len(everyone), everyone[offset:end]


def member_ids(lib: Library, record: CollectionRecord) -> list[str]:
    """Every visible member's id, in order (what a share link of it covers)."""
    if record.query is None:
        return lib.organise.item_ids(record.name)
    return [a.asset_id for a in smart_members(lib, SavedSearch.from_json(record.query))]


def smart_members(lib: Library, saved: SavedSearch) -> list[Asset]:
    """The saved search's results now, best first (words), else the filtered list in
    registration order; at most SMART_LIMIT, visible ones only (search and list hide the
    rest)."""
    media = MediaType(saved.media_type) if saved.media_type else None
    if saved.text:
        from assetloom.app.search import SearchQuery

        hits = lib.search(
            SearchQuery(text=saved.text, tags=saved.tags, media_type=media, limit=SMART_LIMIT)
        )
        return [h.asset for h in hits]
    from assetloom.core.listing import ListQuery

    return lib.list(ListQuery(media_type=media, tags=saved.tags, limit=SMART_LIMIT)).assets


def _out(lib: Library, r: CollectionRecord) -> CollectionOut:
    return CollectionOut(
        name=r.name,
        parent=r.parent,
        children=list(r.children),
        description=r.description,
        smart=r.query is not None,
        query=r.query,
        items=None if r.query is not None else r.items,
        cover_asset_id=_cover(lib, r),
        created_by=r.created_by,
        created_at=iso(r.created_at),
        updated_at=iso(r.updated_at),
    )


def _cover(lib: Library, r: CollectionRecord) -> str | None:
    if r.query is not None:
        return None  # a search per listed collection would make the list slow
    if r.cover_asset_id and lib.organise.holds(r.id, r.cover_asset_id):
        return r.cover_asset_id
    first = lib.organise.item_ids(r.name, limit=1)
    return first[0] if first else None


def _now() -> datetime:
    return datetime.now(UTC)
