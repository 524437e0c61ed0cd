"""`SqlOrganiseStore`: collections, their items, share links and the trash flag of assets.

Each write method is one transaction on the writer engine, however many ids it is given, so a
bulk add or trash of 10,000 assets commits or fails as a whole, in a few statements of at most
500 ids each; reads use the reader engine. What is hidden (trashed or quarantined assets) is
the catalog's rule (`catalog.visible`), applied here to every item and share read.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import ColumnElement, delete, func, insert, select, update
from sqlalchemy.exc import IntegrityError as SqlIntegrityError
from sqlalchemy.orm import Session, noload, sessionmaker

from assetloom.core.assets import Asset
from assetloom.errors import (
    AssetNotFoundError,
    BadInputError,
    CollectionExistsError,
    CollectionNotFoundError,
    ShareNotFoundError,
)
from assetloom.store.assets import to_asset
from assetloom.store.catalog import MIN_ID_PREFIX, visible
from assetloom.store.organise_tables import CollectionItemRow, CollectionRow, ShareRow
from assetloom.store.schema import AssetRow

_IN_CHUNK = 500
_TRASH = "`assetloom trash list` shows what is in it"
UNSET: Any = object()
"""`update_collection`'s "leave this as it is" (None means clear it)."""


@dataclass(frozen=True, slots=True)
class CollectionRecord:
    id: int
    name: str
    parent: str | None
    description: str
    cover_asset_id: str | None
    query: dict[str, Any] | None
    created_by: str
    created_at: datetime
    updated_at: datetime
    items: int
    """Hand-picked items that are visible now (trashed and quarantined ones left out)."""
    children: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class ShareRecord:
    id: int
    prefix: str
    collection: str | None
    collection_id: int | None
    asset_id: str | None
    password_hash: str | None
    allow_download: bool
    created_by: str
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None
    uses: int
    last_used_at: datetime | None


class SqlOrganiseStore:
    def __init__(
        self,
        read_session: sessionmaker[Session],
        write_session: sessionmaker[Session],
        label: str = "the library",
    ) -> None:
        self.read_session = read_session
        self.write_session = write_session
        self.label = label

    @contextmanager
    def _writing(self) -> Iterator[Session]:
        with self.write_session() as s, s.begin():
            yield s

    # ------------------------------------------------------------------ collections
    def create_collection(
        self,
        name: str,
        *,
        by: str,
        at: datetime,
        parent: str | None = None,
        query: dict[str, Any] | None = None,
        description: str = "",
    ) -> CollectionRecord:
        with self._writing() as s:
            if s.scalar(select(CollectionRow.id).where(CollectionRow.name == name)) is not None:
                raise CollectionExistsError(
                    f"there is already a collection {name!r}", hint="choose another name"
                )
            parent_row = _parent_for(s, parent, None) if parent else None
            row = CollectionRow(
                name=name,
                parent_id=parent_row.id if parent_row else None,
                description=description,
                query=query,
                created_by=by,
                created_at=at,
                updated_at=at,
            )
            s.add(row)
            try:
                s.flush()
            except SqlIntegrityError as exc:  # another writer made the same name meanwhile
                raise CollectionExistsError(f"there is already a collection {name!r}") from exc
            return _record(s, row)

    def collection(self, name: str) -> CollectionRecord:
        with self.read_session() as s:
            return _record(s, _collection(s, name))

    def collections(self) -> list[CollectionRecord]:
        """Every collection, parents before their children, each level by name."""
        with self.read_session() as s:
            rows = s.scalars(select(CollectionRow).order_by(CollectionRow.name)).all()
            names = {r.id: r.name for r in rows}
            counts = dict(
                s.execute(
                    select(CollectionItemRow.collection_id, func.count())
                    .join(AssetRow, AssetRow.asset_id == CollectionItemRow.asset_id)
                    .where(visible())
                    .group_by(CollectionItemRow.collection_id)
                ).all()
            )
            out: list[CollectionRecord] = []
            for top in (r for r in rows if r.parent_id is None):
                for r in [top, *(c for c in rows if c.parent_id == top.id)]:
                    children = tuple(c.name for c in rows if c.parent_id == r.id)
                    out.append(
                        _to_record(
                            r, names.get(r.parent_id or 0), int(counts.get(r.id, 0)), children
                        )
                    )
            return out

    def update_collection(
        self,
        name: str,
        *,
        at: datetime,
        new_name: str | None = None,
        parent: str | None = UNSET,
        cover_asset_id: str | None = UNSET,
        description: str | None = None,
    ) -> CollectionRecord:
        """Rename, move (parent None: to the top), set or clear the cover, describe."""
        with self._writing() as s:
            row = _collection(s, name)
            if new_name is not None and new_name != row.name:
                if s.scalar(select(CollectionRow.id).where(CollectionRow.name == new_name)):
                    raise CollectionExistsError(f"there is already a collection {new_name!r}")
                row.name = new_name
            if parent is not UNSET:
                if parent is None:
                    row.parent_id = None
                else:
                    if s.scalar(select(func.count()).where(CollectionRow.parent_id == row.id)):
                        raise BadInputError(
                            f"{row.name!r} holds collections, so it cannot go inside another",
                            hint="collections nest one level deep",
                        )
                    row.parent_id = _parent_for(s, parent, row).id
            if cover_asset_id is not UNSET:
                row.cover_asset_id = (
                    None
                    if cover_asset_id is None
                    else _resolve(s, [cover_asset_id], visible(), self.label)[0]
                )
            if description is not None:
                row.description = description
            row.updated_at = at
            s.flush()
            return _record(s, row)

    def delete_collection(self, name: str) -> CollectionRecord:
        """Delete it with its items and share links; collections inside it move to the top."""
        with self._writing() as s:
            row = _collection(s, name)
            record = _record(s, row)
            s.execute(
                update(CollectionRow)
                .where(CollectionRow.parent_id == row.id)
                .values(parent_id=None)
            )
            s.execute(delete(ShareRow).where(ShareRow.collection_id == row.id))
            s.execute(delete(CollectionItemRow).where(CollectionItemRow.collection_id == row.id))
            s.delete(row)
            return record

    def add_items(self, name: str, asset_ids: Sequence[str], *, at: datetime) -> tuple[int, int]:
        """Append these assets (ids or unique prefixes) in the order given; (added, already
        there). An id that names no visible asset fails the whole call."""
        with self._writing() as s:
            row = _collection(s, name)
            if row.query is not None:
                raise BadInputError(
                    f"{row.name!r} is a smart collection: its saved search picks its assets",
                    hint="add assets to a collection made without --query",
                )
            wanted = _resolve(s, asset_ids, visible(), self.label)
            there = _existing_items(s, row.id, wanted)
            new = [a for a in wanted if a not in there]
            start = s.scalar(
                select(func.max(CollectionItemRow.position)).where(
                    CollectionItemRow.collection_id == row.id
                )
            )
            first = 0 if start is None else int(start) + 1
            if new:
                s.execute(
                    insert(CollectionItemRow),
                    [
                        {
                            "collection_id": row.id,
                            "asset_id": a,
                            "position": first + i,
                            "added_at": at,
                        }
                        for i, a in enumerate(new)
                    ],
                )
            row.updated_at = at
            return len(new), len(there)

    def remove_items(self, name: str, asset_ids: Sequence[str], *, at: datetime) -> int:
        """Take these assets (full ids or unique prefixes of items) out; how many were in it."""
        with self._writing() as s:
            row = _collection(s, name)
            wanted = [a.strip().lower() for a in asset_ids]
            items = [a for part in _chunks(wanted) for a in _item_ids_like(s, row.id, part)]
            removed = 0
            for part in _chunks(list(dict.fromkeys(items))):
                result = s.execute(
                    delete(CollectionItemRow).where(
                        CollectionItemRow.collection_id == row.id,
                        CollectionItemRow.asset_id.in_(part),
                    )
                )
                removed += int(result.rowcount or 0)  # type: ignore[attr-defined]
            row.updated_at = at
            return removed

    def reorder(self, name: str, asset_ids: Sequence[str], *, at: datetime) -> None:
        """These items first, in this order; the others after them in the order they had."""
        with self._writing() as s:
            row = _collection(s, name)
            order = list(
                s.scalars(
                    select(CollectionItemRow.asset_id)
                    .where(CollectionItemRow.collection_id == row.id)
                    .order_by(CollectionItemRow.position)
                )
            )
            first = [a for a in dict.fromkeys(x.strip().lower() for x in asset_ids)]
            missing = [a for a in first if a not in set(order)]
            if missing:
                raise AssetNotFoundError(
                    f"{missing[0]!r} is not in the collection {row.name!r}",
                    hint="give full ids of its items",
                )
            new = first + [a for a in order if a not in set(first)]
            s.execute(
                update(CollectionItemRow)
                .where(CollectionItemRow.collection_id == row.id)
                .values(position=CollectionItemRow.position + len(new))
            )  # out of the way first: no two rows ever share a position mid-update
            for i, a in enumerate(new):
                s.execute(
                    update(CollectionItemRow)
                    .where(
                        CollectionItemRow.collection_id == row.id,
                        CollectionItemRow.asset_id == a,
                    )
                    .values(position=i)
                )
            row.updated_at = at

    def item_ids(self, name: str, *, limit: int | None = None, offset: int = 0) -> list[str]:
        """Visible items in their order."""
        with self.read_session() as s:
            row = _collection(s, name)
            q = (
                select(CollectionItemRow.asset_id)
                .join(AssetRow, AssetRow.asset_id == CollectionItemRow.asset_id)
                .where(CollectionItemRow.collection_id == row.id, visible())
                .order_by(CollectionItemRow.position)
                .offset(offset)
            )
            if limit is not None:
                q = q.limit(limit)
            return list(s.scalars(q))

    def holds(self, collection_id: int, asset_id: str) -> bool:
        """Whether the collection's visible items include this exact asset id."""
        with self.read_session() as s:
            return bool(
                s.scalar(
                    select(func.count())
                    .select_from(CollectionItemRow)
                    .join(AssetRow, AssetRow.asset_id == CollectionItemRow.asset_id)
                    .where(
                        CollectionItemRow.collection_id == collection_id,
                        CollectionItemRow.asset_id == asset_id,
                        visible(),
                    )
                )
            )

    def collection_by_id(self, collection_id: int) -> CollectionRecord:
        with self.read_session() as s:
            row = s.get(CollectionRow, collection_id)
            if row is None:
                raise CollectionNotFoundError(f"no collection {collection_id}")
            return _record(s, row)

    # ------------------------------------------------------------------ shares
    def create_share(
        self,
        *,
        token_hash: bytes,
        prefix: str,
        by: str,
        at: datetime,
        collection: str | None = None,
        asset_id: str | None = None,
        password_hash: str | None = None,
        allow_download: bool = False,
        expires_at: datetime | None = None,
    ) -> ShareRecord:
        """A link to exactly one collection or one visible asset."""
        if (collection is None) == (asset_id is None):
            raise BadInputError("a share link is of one collection or one asset")
        with self._writing() as s:
            collection_id = _collection(s, collection).id if collection is not None else None
            full_id = _resolve(s, [asset_id], visible(), self.label)[0] if asset_id else None
            row = ShareRow(
                token_hash=token_hash,
                prefix=prefix,
                collection_id=collection_id,
                asset_id=full_id,
                password_hash=password_hash,
                allow_download=allow_download,
                created_by=by,
                created_at=at,
                expires_at=expires_at,
                uses=0,
            )
            s.add(row)
            s.flush()
            return _share(s, row)

    def shares(self) -> list[ShareRecord]:
        """Every link, newest first (revoked and expired ones too: they are history)."""
        with self.read_session() as s:
            rows = s.scalars(select(ShareRow).order_by(ShareRow.id.desc())).all()
            return [_share(s, r) for r in rows]

    def share_of_hash(self, token_hash: bytes) -> ShareRecord | None:
        with self.read_session() as s:
            row = s.scalar(select(ShareRow).where(ShareRow.token_hash == token_hash))
            return _share(s, row) if row is not None else None

    def revoke_share(
        self, *, at: datetime, share_id: int | None = None, token_hash: bytes | None = None
    ) -> ShareRecord:
        with self._writing() as s:
            q = select(ShareRow)
            q = q.where(ShareRow.id == share_id) if share_id is not None else q
            q = q.where(ShareRow.token_hash == token_hash) if token_hash is not None else q
            row = s.scalar(q) if share_id is not None or token_hash is not None else None
            if row is None:
                raise ShareNotFoundError(
                    "no such share link", hint="`assetloom share list` shows the links"
                )
            if row.revoked_at is None:
                row.revoked_at = at
            s.flush()
            return _share(s, row)

    def count_use(self, share_id: int, at: datetime) -> None:
        with self._writing() as s:
            s.execute(
                update(ShareRow)
                .where(ShareRow.id == share_id)
                .values(uses=ShareRow.uses + 1, last_used_at=at)
            )

    # ------------------------------------------------------------------ trash
    def trash(self, asset_ids: Sequence[str], *, at: datetime) -> list[Asset]:
        """Move these assets (ids or unique prefixes) to the trash, all or none: an id that
        names no asset outside the trash fails the call."""
        with self._writing() as s:
            ids = _resolve(s, asset_ids, AssetRow.trashed_at.is_(None), self.label)
            for part in _chunks(ids):
                s.execute(update(AssetRow).where(AssetRow.asset_id.in_(part)).values(trashed_at=at))
            return _assets(s, ids)

    def restore(self, asset_ids: Sequence[str]) -> list[Asset]:
        """Bring trashed assets (ids or unique prefixes) back, all or none."""
        with self._writing() as s:
            ids = _resolve(s, asset_ids, AssetRow.trashed_at.is_not(None), "the trash", _TRASH)
            for part in _chunks(ids):
                s.execute(
                    update(AssetRow).where(AssetRow.asset_id.in_(part)).values(trashed_at=None)
                )
            return _assets(s, ids)

    def trashed_assets(self, asset_ids: Sequence[str]) -> list[Asset]:
        """These assets (ids or unique prefixes), each of which must be in the trash."""
        with self.read_session() as s:
            ids = _resolve(s, asset_ids, AssetRow.trashed_at.is_not(None), "the trash", _TRASH)
            return _assets(s, ids)

    def trashed(
        self, *, limit: int | None = None, offset: int = 0, before: datetime | None = None
    ) -> tuple[int, list[tuple[Asset, datetime]]]:
        """(how many, (asset, when trashed) newest first); `before`: trashed before then."""
        cond: list[ColumnElement[bool]] = [AssetRow.trashed_at.is_not(None)]
        if before is not None:
            cond.append(AssetRow.trashed_at < _utc(before))
        with self.read_session() as s:
            total = int(s.scalar(select(func.count()).select_from(AssetRow).where(*cond)) or 0)
            q = (
                select(AssetRow)
                .options(noload(AssetRow.fingerprints))
                .where(*cond)
                .order_by(AssetRow.trashed_at.desc(), AssetRow.asset_id)
                .offset(offset)
            )
            if limit is not None:
                q = q.limit(limit)
            rows = s.scalars(q).all()
            return total, [(to_asset(r), _aware(r.trashed_at)) for r in rows if r.trashed_at]

    def trashed_among(self, asset_ids: Iterable[str]) -> set[str]:
        out: set[str] = set()
        with self.read_session() as s:
            for part in _chunks(list(set(asset_ids))):
                out.update(
                    s.scalars(
                        select(AssetRow.asset_id).where(
                            AssetRow.asset_id.in_(part), AssetRow.trashed_at.is_not(None)
                        )
                    )
                )
        return out

    def trashed_at(self, asset_id: str) -> datetime | None:
        with self.read_session() as s:
            at = s.scalar(select(AssetRow.trashed_at).where(AssetRow.asset_id == asset_id))
            return _aware(at) if at is not None else None


# ---------------------------------------------------------------------- helpers
def _collection(s: Session, name: str) -> CollectionRow:
    row = s.scalar(select(CollectionRow).where(CollectionRow.name == name))
    if row is None:
        raise CollectionNotFoundError(
            f"no collection {name!r}", hint="`assetloom collection list` shows them"
        )
    return row


def _parent_for(s: Session, parent: str, child: CollectionRow | None) -> CollectionRow:
    row = _collection(s, parent)
    if row.parent_id is not None:
        raise BadInputError(
            f"{row.name!r} is inside {s.get(CollectionRow, row.parent_id).name!r}: "  # type: ignore[union-attr]
            "collections nest one level deep",
            hint="put it inside a top-level collection",
        )
    if child is not None and row.id == child.id:
        raise BadInputError("a collection cannot be inside itself")
    return row


def _record(s: Session, row: CollectionRow) -> CollectionRecord:
    parent = s.get(CollectionRow, row.parent_id) if row.parent_id else None
    items = s.scalar(
        select(func.count())
        .select_from(CollectionItemRow)
        .join(AssetRow, AssetRow.asset_id == CollectionItemRow.asset_id)
        .where(CollectionItemRow.collection_id == row.id, visible())
    )
    children = tuple(
        s.scalars(
            select(CollectionRow.name)
            .where(CollectionRow.parent_id == row.id)
            .order_by(CollectionRow.name)
        )
    )
    return _to_record(row, parent.name if parent else None, int(items or 0), children)


def _to_record(
    row: CollectionRow, parent: str | None, items: int, children: tuple[str, ...]
) -> CollectionRecord:
    return CollectionRecord(
        id=row.id,
        name=row.name,
        parent=parent,
        description=row.description or "",
        cover_asset_id=row.cover_asset_id,
        query=row.query,
        created_by=row.created_by,
        created_at=_aware(row.created_at),
        updated_at=_aware(row.updated_at),
        items=items,
        children=children,
    )


def _share(s: Session, row: ShareRow) -> ShareRecord:
    collection = s.get(CollectionRow, row.collection_id) if row.collection_id else None
    return ShareRecord(
        id=row.id,
        prefix=row.prefix,
        collection=collection.name if collection else None,
        collection_id=row.collection_id,
        asset_id=row.asset_id,
        password_hash=row.password_hash,
        allow_download=bool(row.allow_download),
        created_by=row.created_by,
        created_at=_aware(row.created_at),
        expires_at=_aware(row.expires_at) if row.expires_at else None,
        revoked_at=_aware(row.revoked_at) if row.revoked_at else None,
        uses=int(row.uses or 0),
        last_used_at=_aware(row.last_used_at) if row.last_used_at else None,
    )


def _resolve(
    s: Session,
    asset_ids: Sequence[str | None],
    state: ColumnElement[bool],
    where: str,
    hint: str = "`assetloom list` shows the ids",
) -> list[str]:
    """Full ids of these assets (ids or unique prefixes) in `state`, in the order given and
    once each; any that names none (or is ambiguous) fails with all such ids named."""
    wanted = list(dict.fromkeys(a.strip().lower() for a in asset_ids if a))
    exact: set[str] = set()
    for part in _chunks(wanted):
        exact.update(s.scalars(select(AssetRow.asset_id).where(AssetRow.asset_id.in_(part), state)))
    full: dict[str, str] = {}
    bad: list[str] = []
    for a in wanted:
        if a in exact:
            full[a] = a
            continue
        rows = (
            s.scalars(
                select(AssetRow.asset_id)
                .where(AssetRow.asset_id.startswith(a, autoescape=True), state)
                .limit(2)
            ).all()
            if len(a) >= MIN_ID_PREFIX
            else []
        )
        if len(rows) == 1:
            full[a] = rows[0]
        else:
            bad.append(a)
    if bad:
        shown = ", ".join(repr(b) for b in bad[:5]) + (
            f" and {len(bad) - 5} more" if len(bad) > 5 else ""
        )
        raise AssetNotFoundError(
            f"no asset {shown} in {where}" if len(bad) == 1 else f"no assets {shown} in {where}",
            hint=hint,
        )
    return list(dict.fromkeys(full[a] for a in wanted))


def _existing_items(s: Session, collection_id: int, asset_ids: list[str]) -> set[str]:
    out: set[str] = set()
    for part in _chunks(asset_ids):
        out.update(
            s.scalars(
                select(CollectionItemRow.asset_id).where(
                    CollectionItemRow.collection_id == collection_id,
                    CollectionItemRow.asset_id.in_(part),
                )
            )
        )
    return out


def _item_ids_like(s: Session, collection_id: int, ids: list[str]) -> list[str]:
    """The collection's items named by these full ids, or by a unique prefix each."""
    exact = _existing_items(s, collection_id, ids)
    out = list(exact)
    for a in ids:
        if a in exact or len(a) < MIN_ID_PREFIX:
            continue
        rows = s.scalars(
            select(CollectionItemRow.asset_id)
            .where(
                CollectionItemRow.collection_id == collection_id,
                CollectionItemRow.asset_id.startswith(a, autoescape=True),
            )
            .limit(2)
        ).all()
        if len(rows) == 1:
            out.append(rows[0])
    return out


def _assets(s: Session, ids: list[str]) -> list[Asset]:
    by_id: dict[str, Asset] = {}
    for part in _chunks(ids):
        rows = s.scalars(
            select(AssetRow)
            .options(noload(AssetRow.fingerprints))
            .where(AssetRow.asset_id.in_(part))
        )
        by_id.update({r.asset_id: to_asset(r) for r in rows})
    return [by_id[a] for a in ids if a in by_id]


def _aware(value: datetime) -> datetime:
    """SQLite hands back naive UTC wall times; PostgreSQL aware ones."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _utc(value: datetime) -> datetime:
    return value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)


def _chunks(items: list[Any]) -> Iterator[list[Any]]:
    for i in range(0, len(items), _IN_CHUNK):
        yield items[i : i + _IN_CHUNK]
