"""All SQL of edited metadata, manual and rejected tags, custom fields and the edit history.

Reads go through `SqlMetadataStore` (its own read transaction each); writes through
`MetadataWrites` over a unit of work's session, so a bulk edit of 10,000 assets (values,
history rows, tags, keyword rows) commits as one transaction or not at all. Queries take ids a
chunk at a time and write with executemany, so the cost grows with the ids, not per round trip.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import bindparam, delete, insert, select, update
from sqlalchemy.orm import Session, sessionmaker

from assetloom.store.catalog import MANUAL
from assetloom.store.meta_tables import AssetMetaRow, MetaFieldRow, MetaHistoryRow, RejectedTagRow
from assetloom.store.schema import AssetRow
from assetloom.store.search_tables import EmbeddingRow, TagRow

EDITED_COLUMNS = (
    "title",
    "description",
    "keywords",
    "creator",
    "copyright",
    "licence",
    "usage",
    "fields",
)
"""Columns of asset_meta a person edits; None in one means "not edited"."""
ASSET_COLUMNS = ("rating", "status")
"""What a person edits that lives on the asset row (revision 0012)."""
_CHUNK = 500


@dataclass(slots=True)
class MetaState:
    """An asset's edited values as stored (None: not edited) and its rating and status."""

    asset_id: str
    values: dict[str, Any] = field(default_factory=dict)
    has_row: bool = False
    updated_at: datetime | None = None
    updated_by: str | None = None


@dataclass(frozen=True, slots=True)
class AssetBrief:
    """What an edit needs of an asset: its id, name and the metadata its file gave."""

    asset_id: str
    original_name: str
    metadata: dict[str, Any]


@dataclass(frozen=True, slots=True)
class HistoryEntry:
    id: int
    asset_id: str
    field: str
    old: Any
    new: Any
    actor: str
    at: datetime


@dataclass(frozen=True, slots=True)
class FieldDefinition:
    name: str
    kind: str
    choices: tuple[str, ...]
    label: str
    created_at: datetime


def _aware(at: datetime | None) -> datetime | None:
    """SQLite hands datetimes back without their zone; they were written in UTC."""
    return at.replace(tzinfo=UTC) if at is not None and at.tzinfo is None else at


def _chunks(items: list[Any]) -> Iterator[list[Any]]:
    for i in range(0, len(items), _CHUNK):
        yield items[i : i + _CHUNK]


def _states(s: Session, asset_ids: list[str]) -> dict[str, MetaState]:
    """Core selects, not ORM objects: a bulk edit reads 10,000 of these twice."""
    out: dict[str, MetaState] = {}
    meta = AssetMetaRow.__table__
    for part in _chunks(asset_ids):
        for aid, rating, status in s.execute(
            select(AssetRow.asset_id, AssetRow.rating, AssetRow.status).where(
                AssetRow.asset_id.in_(part)
            )
        ):
            out[aid] = MetaState(aid, {"rating": rating, "status": status})
        for row in s.execute(select(meta).where(meta.c.asset_id.in_(part))).mappings():
            state = out.get(row["asset_id"])
            if state is None:
                continue
            state.values.update({c: row[c] for c in EDITED_COLUMNS})
            state.has_row = True
            state.updated_at, state.updated_by = _aware(row["updated_at"]), row["updated_by"]
    for state in out.values():
        for c in EDITED_COLUMNS:
            state.values.setdefault(c, None)
    return out


def _fields(s: Session) -> list[FieldDefinition]:
    return [
        FieldDefinition(r.name, r.kind, tuple(r.choices or ()), r.label, r.created_at)
        for r in s.scalars(select(MetaFieldRow).order_by(MetaFieldRow.name))
    ]


def _tags_of(s: Session, asset_ids: list[str]) -> dict[str, dict[str, str]]:
    """asset id -> {tag key: source}."""
    out: dict[str, dict[str, str]] = {a: {} for a in asset_ids}
    for part in _chunks(asset_ids):
        for aid, tag, source in s.execute(
            select(TagRow.asset_id, TagRow.tag, TagRow.source).where(TagRow.asset_id.in_(part))
        ):
            out[aid][tag] = source
    return out


def _rejected(s: Session, asset_ids: list[str]) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for part in _chunks(asset_ids):
        for aid, tag in s.execute(
            select(RejectedTagRow.asset_id, RejectedTagRow.tag).where(
                RejectedTagRow.asset_id.in_(part)
            )
        ):
            out.setdefault(aid, set()).add(tag)
    return out


class SqlMetadataStore:
    """Reads of edited metadata (each call its own read transaction)."""

    def __init__(self, read_session: sessionmaker[Session]) -> None:
        self.read_session = read_session

    def states(self, asset_ids: Iterable[str]) -> dict[str, MetaState]:
        with self.read_session() as s:
            return _states(s, list(dict.fromkeys(asset_ids)))

    def briefs(self, asset_ids: Iterable[str]) -> dict[str, AssetBrief]:
        """The assets of these full ids (three columns, not whole rows: 10,000 at once)."""
        out: dict[str, AssetBrief] = {}
        with self.read_session() as s:
            for part in _chunks(list(dict.fromkeys(asset_ids))):
                rows = s.execute(
                    select(AssetRow.asset_id, AssetRow.original_name, AssetRow.metadata_json).where(
                        AssetRow.asset_id.in_(part)
                    )
                )
                out.update((a, AssetBrief(a, name, meta or {})) for a, name, meta in rows)
        return out

    def history(self, asset_id: str, limit: int = 1000) -> list[HistoryEntry]:
        """Newest first."""
        with self.read_session() as s:
            rows = s.scalars(
                select(MetaHistoryRow)
                .where(MetaHistoryRow.asset_id == asset_id)
                .order_by(MetaHistoryRow.id.desc())
                .limit(limit)
            )
            return [
                HistoryEntry(r.id, r.asset_id, r.field, r.old, r.new, r.actor, _aware(r.at))
                for r in rows
            ]

    def fields(self) -> list[FieldDefinition]:
        with self.read_session() as s:
            return _fields(s)

    def tags_of(self, asset_ids: Iterable[str]) -> dict[str, dict[str, str]]:
        with self.read_session() as s:
            return _tags_of(s, list(dict.fromkeys(asset_ids)))

    def rejected(self, asset_ids: Iterable[str]) -> dict[str, set[str]]:
        with self.read_session() as s:
            return _rejected(s, list(dict.fromkeys(asset_ids)))

    def tag_keys_in_use(self) -> set[str]:
        """Every tag key some asset has (manual tags need no definition)."""
        with self.read_session() as s:
            return set(s.scalars(select(TagRow.tag).distinct()))


class MetadataWrites:
    """Writes of one transaction (a unit of work's session)."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def states(self, asset_ids: Iterable[str]) -> dict[str, MetaState]:
        """As stored now, under this transaction (the old values of the history rows)."""
        return _states(self.session, list(dict.fromkeys(asset_ids)))

    def fields(self) -> list[FieldDefinition]:
        return _fields(self.session)

    def save(
        self,
        states: Iterable[MetaState],
        history: Iterable[tuple[str, str, Any, Any]],
        actor: str,
        at: datetime,
    ) -> None:
        """Store the states' values and the history rows (asset id, field, old, new)."""
        meta_new: list[dict[str, Any]] = []
        meta_old: list[dict[str, Any]] = []
        asset_rows: list[dict[str, Any]] = []
        for state in states:
            row = {c: state.values.get(c) for c in EDITED_COLUMNS}
            row.update(asset_id=state.asset_id, updated_at=at, updated_by=actor)
            (meta_old if state.has_row else meta_new).append(row)
            state.has_row = True
            asset_rows.append(
                {"b_id": state.asset_id, **{f"b_{c}": state.values.get(c) for c in ASSET_COLUMNS}}
            )
        s, meta, assets = self.session, AssetMetaRow.__table__, AssetRow.__table__
        if meta_new:  # Core executemany: the ORM's bulk paths cost seconds per 10,000 rows
            s.execute(insert(meta), meta_new)
        if meta_old:
            s.execute(
                update(meta)
                .where(meta.c.asset_id == bindparam("b_id"))
                .values(
                    {c: bindparam(f"b_{c}") for c in (*EDITED_COLUMNS, "updated_at", "updated_by")}
                ),
                [
                    {f"b_{k}" if k != "asset_id" else "b_id": v for k, v in r.items()}
                    for r in meta_old
                ],
            )
        if asset_rows:
            s.execute(
                update(assets)
                .where(assets.c.asset_id == bindparam("b_id"))
                .values(rating=bindparam("b_rating"), status=bindparam("b_status")),
                asset_rows,
            )
        self.add_history(history, actor, at)

    def add_history(
        self, history: Iterable[tuple[str, str, Any, Any]], actor: str, at: datetime
    ) -> None:
        rows = [
            {"asset_id": a, "field": f, "old": old, "new": new, "actor": actor, "at": at}
            for a, f, old, new in history
        ]
        if rows:
            self.session.execute(insert(MetaHistoryRow.__table__), rows)

    # ------------------------------------------------------------------ tags
    def tags_of(self, asset_ids: Iterable[str]) -> dict[str, dict[str, str]]:
        return _tags_of(self.session, list(dict.fromkeys(asset_ids)))

    def rejected(self, asset_ids: Iterable[str]) -> dict[str, set[str]]:
        return _rejected(self.session, list(dict.fromkeys(asset_ids)))

    def add_manual_tags(
        self,
        pairs: Iterable[tuple[str, str]],
        *,
        held: dict[str, dict[str, str]] | None = None,
    ) -> None:
        """(asset id, tag key) as a person's tags: a row the tagger had is taken over, and
        a rejection of the same tag on that asset is lifted (a person chose it now).
        `held`: the assets' tags as `tags_of` read them in this transaction already."""
        wanted = list(dict.fromkeys(pairs))
        if not wanted:
            return
        s = self.session
        if held is None:
            held = _tags_of(s, list({a for a, _ in wanted}))
        new = [p for p in wanted if p[1] not in held[p[0]]]
        taken = [p for p in wanted if held[p[0]].get(p[1], MANUAL) != MANUAL]
        if new:
            s.execute(
                insert(TagRow.__table__),
                [{"asset_id": a, "tag": t, "score": 1.0, "source": MANUAL} for a, t in new],
            )
        if taken:
            s.execute(
                update(TagRow.__table__)
                .where(
                    TagRow.__table__.c.asset_id == bindparam("b_id"),
                    TagRow.__table__.c.tag == bindparam("b_tag"),
                )
                .values(score=1.0, source=MANUAL),
                [{"b_id": a, "b_tag": t} for a, t in taken],
            )
        self._delete_pairs(RejectedTagRow, wanted)

    def remove_tags(self, pairs: Iterable[tuple[str, str]]) -> None:
        self._delete_pairs(TagRow, list(dict.fromkeys(pairs)))

    def reject_tags(self, pairs: Iterable[tuple[str, str]], actor: str, at: datetime) -> None:
        """Remove the tags and remember them as rejected (the tagger skips them)."""
        wanted = list(dict.fromkeys(pairs))
        self._delete_pairs(TagRow, wanted)
        known = _rejected(self.session, list({a for a, _ in wanted}))
        rows = [
            {"asset_id": a, "tag": t, "actor": actor, "at": at}
            for a, t in wanted
            if t not in known.get(a, set())
        ]
        if rows:
            self.session.execute(insert(RejectedTagRow.__table__), rows)

    def _delete_pairs(self, table: Any, pairs: list[tuple[str, str]]) -> None:
        if pairs:
            t = table.__table__
            self.session.execute(
                delete(t).where(t.c.asset_id == bindparam("b_id"), t.c.tag == bindparam("b_tag")),
                [{"b_id": a, "b_tag": tag} for a, tag in pairs],
            )

    # ------------------------------------------------------------------ custom fields
    def define_field(
        self, name: str, kind: str, choices: list[str], label: str, at: datetime
    ) -> bool:
        """Create or change a field; True when it is new."""
        row = self.session.get(MetaFieldRow, name)
        if row is None:
            self.session.add(
                MetaFieldRow(name=name, kind=kind, choices=choices, label=label, created_at=at)
            )
            return True
        row.kind, row.choices, row.label = kind, choices, label
        return False

    # ------------------------------------------------------------------ the text space
    def metadata_vector_rows(self, asset_ids: Iterable[str], source: str) -> list[tuple[int, str]]:
        """(embedding row id, space) of these assets' segment vectors of `source`."""
        out: list[tuple[int, str]] = []
        for part in _chunks(list(dict.fromkeys(asset_ids))):
            for rid, space, seg in self.session.execute(
                select(EmbeddingRow.id, EmbeddingRow.space, EmbeddingRow.segment).where(
                    EmbeddingRow.asset_id.in_(part), EmbeddingRow.segment.is_not(None)
                )
            ):
                if isinstance(seg, dict) and seg.get("source") == source:
                    out.append((rid, space))
        return out

    def delete_vectors(self, row_ids: Iterable[int]) -> None:
        for part in _chunks(list(row_ids)):
            self.session.execute(delete(EmbeddingRow).where(EmbeddingRow.id.in_(part)))
