"""`SqlCatalog`: the catalog port over SQLAlchemy, for SQLite (embedded) and PostgreSQL.

Every catalog query of the use cases is here (or in the keyword modules beside it), so a use
case never writes SQL and a second database is a dialect question, not a hunt through the
tree. Reads use the reader engine; writes a `SqlUnitOfWork` on the writer engine, whose one
transaction carries asset rows, fingerprints, vectors, tags, keyword rows and (through its
session) the ledger's leaves.
"""

from __future__ import annotations

import sqlite3
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import ColumnElement, Engine, Select, and_, delete, func, or_, select
from sqlalchemy.orm import Session, noload, sessionmaker

from assetloom.core.assets import Asset, Fingerprint, Segment, Space
from assetloom.core.listing import (
    ListPage,
    ListQuery,
    captured_at_of,
    decode_cursor,
    decode_sort_cursor,
    page_of,
)
from assetloom.errors import AssetNotFoundError, BadInputError
from assetloom.store import fts
from assetloom.store.assets import to_asset
from assetloom.store.base import NewVector, Pending, Removed, SeenFile
from assetloom.store.db import (
    current_revision,
    is_current,
    make_engine,
    migrate,
    session_factory,
)
from assetloom.store.schema import AssetRow, FingerprintRow, PendingBlobRow, SeenFileRow
from assetloom.store.search_tables import EmbeddingRow, PassageRow, TagDefinitionRow, TagRow

MIN_ID_PREFIX = 4
QUARANTINED = "quarantined"
"""The review state that hides an asset from lists, counts and searches (app/review.py)."""
MANUAL = "manual"
"""The source of a tag a person added (app/metadata.py); the tagger never clears those."""
_IN_CHUNK = 500
"""Ids per IN (...) list: well under SQLite's bound-parameter limit."""


class SqlCatalog:
    """The catalog of one library (see module docstring)."""

    def __init__(self, url: str, *, busy_timeout_s: float = 30.0, label: str = "") -> None:
        self.url = url
        self.label = label or "the library"
        """Where the catalog is, as messages name it (the library folder)."""
        self.reader: Engine = make_engine(url, busy_timeout_s=busy_timeout_s)
        self.writer: Engine = make_engine(url, busy_timeout_s=busy_timeout_s, writer=True)
        self.read_session: sessionmaker[Session] = session_factory(self.reader)
        self.write_session: sessionmaker[Session] = session_factory(self.writer)
        self._watch: sqlite3.Connection | None = None

    @property
    def dialect(self) -> str:
        return self.reader.dialect.name

    def revision(self) -> str | None:
        """The schema's migration revision; None for a database no catalog was made in."""
        return current_revision(self.reader)

    def migrate(self) -> None:
        """Bring the schema to the newest revision; a no-op (no Alembic) when it is there."""
        if not is_current(self.reader):
            migrate(self.writer)

    def close(self) -> None:
        if self._watch is not None:
            self._watch.close()
            self._watch = None
        self.reader.dispose()
        self.writer.dispose()

    @contextmanager
    def unit_of_work(self) -> Iterator[SqlUnitOfWork]:
        with self.write_session() as s, s.begin():
            yield SqlUnitOfWork(s, self.label)

    # ------------------------------------------------------------------ change token
    def change_token(self) -> int | None:
        """Moves whenever another connection commits a change to what the in-memory indexes
        and the tagger are built from; a server polls it every second to catch up with CLI
        writes. SQLite: `data_version` (microseconds). PostgreSQL: the `assetloom_changes`
        row its triggers increment, seen only once the writer committed (one round trip)."""
        if self.dialect == "postgresql":
            with self.reader.connect() as conn:
                counter = conn.exec_driver_sql("SELECT n FROM assetloom_changes WHERE id = 1")
                return int(counter.scalar_one())
        if self._watch is None:
            database = self.reader.url.database
            assert database is not None
            self._watch = sqlite3.connect(Path(database), check_same_thread=False)
        return int(self._watch.execute("PRAGMA data_version").fetchone()[0])

    # ------------------------------------------------------------------ assets
    def get(self, asset_id: str) -> Asset:
        with self.read_session() as s:
            return to_asset(resolve(s, asset_id, self.label))

    def get_many(self, asset_ids: Iterable[str], *, fingerprints: bool = False) -> dict[str, Asset]:
        """Assets by id; fingerprints only when asked (search results never show them)."""
        ids = list(set(asset_ids))
        out: dict[str, Asset] = {}
        with self.read_session() as s:
            for part in _chunks(ids):
                q = select(AssetRow).where(AssetRow.asset_id.in_(part))
                if not fingerprints:
                    q = q.options(noload(AssetRow.fingerprints))
                out.update({r.asset_id: to_asset(r) for r in s.scalars(q)})
        return out

    def count(self, query: ListQuery | None = None) -> int:
        """How many assets pass the query's filters (its cursor and paging aside)."""
        with self.read_session() as s:
            q = select(func.count()).select_from(AssetRow)
            return int(s.scalar(_filtered(q, query or ListQuery())) or 0)

    def list(self, query: ListQuery | None = None) -> ListPage:
        """One page of assets, oldest (or newest) first, and the cursor of the next page."""
        query = query or ListQuery()
        with self.read_session() as s:
            q = select(AssetRow).options(noload(AssetRow.fingerprints))
            rows = s.scalars(_paged(q, query)).all()
            column = _SORT_COLUMNS.get(query.sort)
            values = [getattr(r, column.key) for r in rows] if column is not None else None
            return page_of([to_asset(r) for r in rows], query, values)

    def capture_months(self, query: ListQuery | None = None) -> list[tuple[str, int]]:
        """(YYYY-MM, assets captured that month) of the assets passing the query's
        filters, newest month first; assets without a capture date are not counted."""
        col = AssetRow.captured_at
        if self.dialect == "postgresql":
            month = func.to_char(func.timezone("UTC", col), "YYYY-MM")
        else:
            month = func.strftime("%Y-%m", col)
        with self.read_session() as s:
            stmt = _filtered(
                select(month, func.count()).where(col.is_not(None)), query or ListQuery()
            )
            rows = s.execute(stmt.group_by(month).order_by(month.desc())).all()
        return [(str(m), int(n)) for m, n in rows]

    def gps_points(
        self, query: ListQuery | None = None, limit: int = 5000
    ) -> list[tuple[str, str, float, float]]:
        """(asset id, name, latitude, longitude) of assets whose metadata holds a GPS
        position, among those passing the query's filters, oldest first, at most `limit`."""
        lat = AssetRow.metadata_json[("gps", "latitude")].as_float()
        lon = AssetRow.metadata_json[("gps", "longitude")].as_float()
        stmt = select(AssetRow.asset_id, AssetRow.original_name, lat, lon).where(
            lat.is_not(None), lon.is_not(None)
        )
        stmt = _filtered(stmt, query or ListQuery())
        with self.read_session() as s:
            rows = s.execute(stmt.order_by(AssetRow.registered_at, AssetRow.asset_id).limit(limit))
            return [(a, n, float(la), float(lo)) for a, n, la, lo in rows]

    def with_status(self, asset_ids: Iterable[str], status: str) -> set[str]:
        out: set[str] = set()
        with self.read_session() as s:
            for part in _chunks(list(set(asset_ids))):
                where = AssetRow.asset_id.in_(part), AssetRow.status == status
                out.update(s.scalars(select(AssetRow.asset_id).where(*where)))
        return out

    def held_among(self, asset_ids: Iterable[str]) -> set[str]:
        """Those of these assets that are quarantined or in the trash: searches drop them."""
        out: set[str] = set()
        with self.read_session() as s:
            for part in _chunks(list(set(asset_ids))):
                out.update(
                    s.scalars(
                        select(AssetRow.asset_id).where(AssetRow.asset_id.in_(part), ~visible())
                    )
                )
        return out

    def review_state(self, asset_id: str) -> str | None:
        with self.read_session() as s:
            return s.scalar(select(AssetRow.review).where(AssetRow.asset_id == asset_id))

    def in_review(self, states: Iterable[str]) -> list[tuple[Asset, str]]:
        """(asset, review state) of the assets in these states, oldest first."""
        with self.read_session() as s:
            rows = s.scalars(
                select(AssetRow)
                .options(noload(AssetRow.fingerprints))
                .where(AssetRow.review.in_(list(states)))
                .order_by(AssetRow.registered_at, AssetRow.asset_id)
            ).all()
            return [(to_asset(r), r.review or "") for r in rows]

    def asset_of_sha(self, sha256: str) -> str | None:
        with self.read_session() as s:
            return s.scalar(select(AssetRow.asset_id).where(AssetRow.sha256 == sha256))

    @contextmanager
    def asset_lookup(self) -> Iterator[Any]:
        """A function asset id -> Asset (with fingerprints) or None, over one read
        transaction: what `ledger audit` holds every registration leaf against."""
        with self.read_session() as s:

            def asset_of(asset_id: str) -> Asset | None:
                row = s.get(AssetRow, asset_id)
                return to_asset(row) if row is not None else None

            yield asset_of

    def assets_lacking_vectors(self, models: Iterable[str]) -> list[tuple[str, str]]:
        """(asset id, sha256) of assets with no vector from any of these models."""
        with self.read_session() as s:
            has_current = select(EmbeddingRow.asset_id).where(EmbeddingRow.model.in_(list(models)))
            return [
                (a, sha)
                for a, sha in s.execute(
                    select(AssetRow.asset_id, AssetRow.sha256).where(
                        AssetRow.asset_id.not_in(has_current)
                    )
                )
            ]

    def unchanged_files(self, stats: Mapping[str, tuple[int, int]]) -> dict[str, str]:
        """path -> asset id for files whose (size, mtime_ns) match what was last seen."""
        out: dict[str, str] = {}
        with self.read_session() as s:
            for part in _chunks(list(stats)):
                rows = s.execute(
                    select(SeenFileRow, AssetRow.asset_id)
                    .join(AssetRow, AssetRow.sha256 == SeenFileRow.sha256)
                    .where(SeenFileRow.path.in_(part))
                ).all()
                for seen, asset_id in rows:
                    if stats.get(seen.path) == (seen.size, seen.mtime_ns):
                        out[seen.path] = asset_id
        return out

    def source_rows(self, media_type: str) -> list[tuple[str, str, str | None, dict[str, Any]]]:
        """(asset id, sha256, source path, metadata) of every asset of a type, by id: what
        caption alignment reads captions from."""
        with self.read_session() as s:
            return [
                (a, sha, src, dict(meta or {}))
                for a, sha, src, meta in s.execute(
                    select(
                        AssetRow.asset_id,
                        AssetRow.sha256,
                        AssetRow.source_path,
                        AssetRow.metadata_json,
                    )
                    .where(AssetRow.media_type == media_type)
                    .order_by(AssetRow.asset_id)
                )
            ]

    # ------------------------------------------------------------------ fingerprints
    def fingerprints_of_rows(self, row_ids: Iterable[int]) -> dict[str, list[Fingerprint]]:
        """All stored fingerprints of the assets owning these fingerprint rows."""
        ids = list(row_ids)
        if not ids:
            return {}
        out: dict[str, list[Fingerprint]] = defaultdict(list)
        with self.read_session() as s:
            owners: set[str] = set()
            for part in _chunks(ids):
                owners.update(
                    s.scalars(select(FingerprintRow.asset_id).where(FingerprintRow.id.in_(part)))
                )
            for part in _chunks(list(owners)):
                rows = s.execute(
                    select(
                        FingerprintRow.asset_id,
                        FingerprintRow.kind,
                        FingerprintRow.value,
                        FingerprintRow.quality,
                    ).where(FingerprintRow.asset_id.in_(part))
                ).all()
                for asset_id, kind, value, quality in rows:
                    out[asset_id].append(Fingerprint(kind, value, quality))
        return dict(out)

    def assets_with_fingerprint(self, kind: str, value: bytes) -> list[str]:
        with self.read_session() as s:
            return list(
                s.scalars(
                    select(FingerprintRow.asset_id).where(
                        FingerprintRow.kind == kind, FingerprintRow.value == value
                    )
                )
            )

    # ------------------------------------------------------------------ vectors
    def vectors_of(self, asset_id: str) -> dict[str, bytes]:
        with self.read_session() as s:
            rows = s.execute(
                select(EmbeddingRow.space, EmbeddingRow.vector).where(
                    EmbeddingRow.asset_id == asset_id, EmbeddingRow.segment.is_(None)
                )
            ).all()
        return {space: bytes(vector) for space, vector in rows}

    def vectors_in(self, space: str, asset_ids: Iterable[str]) -> dict[str, bytes]:
        with self.read_session() as s:
            return {
                a: bytes(v)
                for part in _chunks(list(asset_ids))
                for a, v in s.execute(
                    select(EmbeddingRow.asset_id, EmbeddingRow.vector).where(
                        EmbeddingRow.asset_id.in_(part),
                        EmbeddingRow.space == space,
                        EmbeddingRow.segment.is_(None),
                    )
                )
            }

    # ------------------------------------------------------------------ index sources
    # What the FAISS caches are built and caught up from (they hold nothing else).
    def fingerprint_figures(self) -> list[tuple[str, int, int]]:
        """(kind, rows, newest row id) per fingerprint kind."""
        with self.read_session() as s:
            return [
                (kind, int(n), int(m or 0))
                for kind, n, m in s.execute(
                    select(FingerprintRow.kind, func.count(), func.max(FingerprintRow.id)).group_by(
                        FingerprintRow.kind
                    )
                )
            ]

    def fingerprint_values(self, row_ids: Iterable[int]) -> dict[int, bytes]:
        with self.read_session() as s:
            return {
                i: bytes(v)
                for part in _chunks(list(row_ids))
                for i, v in s.execute(
                    select(FingerprintRow.id, FingerprintRow.value).where(
                        FingerprintRow.id.in_(part)
                    )
                )
            }

    def iter_fingerprints(self) -> Iterator[tuple[int, str, bytes]]:
        """Every (row id, kind, value), streamed."""
        with self.read_session() as s:
            q = select(FingerprintRow.id, FingerprintRow.kind, FingerprintRow.value)
            for row_id, kind, value in s.execute(q).yield_per(10_000):
                yield row_id, kind, bytes(value)

    def fingerprints_between(self, after_id: int, up_to_id: int) -> list[tuple[int, str, bytes]]:
        with self.read_session() as s:
            return [
                (i, k, bytes(v))
                for i, k, v in s.execute(
                    select(FingerprintRow.id, FingerprintRow.kind, FingerprintRow.value)
                    .where(FingerprintRow.id > after_id, FingerprintRow.id <= up_to_id)
                    .order_by(FingerprintRow.id)
                )
            ]

    def vector_figures(self) -> list[tuple[str, int, int]]:
        """(space, rows, newest row id) per vector space."""
        with self.read_session() as s:
            return [
                (space, int(n), int(m or 0))
                for space, n, m in s.execute(
                    select(EmbeddingRow.space, func.count(), func.max(EmbeddingRow.id)).group_by(
                        EmbeddingRow.space
                    )
                )
            ]

    def vector_values(self, row_ids: Iterable[int]) -> dict[int, bytes]:
        with self.read_session() as s:
            return {
                i: bytes(v)
                for part in _chunks(list(row_ids))
                for i, v in s.execute(
                    select(EmbeddingRow.id, EmbeddingRow.vector).where(EmbeddingRow.id.in_(part))
                )
            }

    def iter_vectors(self, space: str) -> Iterator[tuple[int, bytes]]:
        with self.read_session() as s:
            q = select(EmbeddingRow.id, EmbeddingRow.vector).where(EmbeddingRow.space == space)
            for row_id, vector in s.execute(q).yield_per(10_000):
                yield row_id, bytes(vector)

    def vectors_between(
        self, space: str, after_id: int, up_to_id: int
    ) -> list[tuple[int, str, bytes]]:
        with self.read_session() as s:
            return [
                (i, sp, bytes(v))
                for i, sp, v in s.execute(
                    select(EmbeddingRow.id, EmbeddingRow.space, EmbeddingRow.vector)
                    .where(
                        EmbeddingRow.space == space,
                        EmbeddingRow.id > after_id,
                        EmbeddingRow.id <= up_to_id,
                    )
                    .order_by(EmbeddingRow.id)
                )
            ]

    def owners_of_vectors(
        self, row_ids: Iterable[int]
    ) -> dict[int, tuple[str, dict[str, Any] | None]]:
        """Row id -> (asset id, the segment the vector is of, or None for the whole)."""
        with self.read_session() as s:
            return {
                i: (a, seg)
                for part in _chunks(list(row_ids))
                for i, a, seg in s.execute(
                    select(EmbeddingRow.id, EmbeddingRow.asset_id, EmbeddingRow.segment).where(
                        EmbeddingRow.id.in_(part)
                    )
                )
            }

    def passages_of(self, asset_ids: Iterable[str]) -> dict[str, list[Segment]]:
        """The text found inside each asset (transcript, pages, OCR), in order."""
        out: dict[str, list[Segment]] = {}
        with self.read_session() as s:
            for part in _chunks(list(asset_ids)):
                rows = s.scalars(
                    select(PassageRow)
                    .where(PassageRow.asset_id.in_(part))
                    .order_by(PassageRow.asset_id, PassageRow.seq)
                )
                for r in rows:
                    out.setdefault(r.asset_id, []).append(
                        Segment(r.source, r.start, r.end, r.page, r.text)
                    )
        return out

    # ------------------------------------------------------------------ tags and keywords
    def keyword_search(self, query: str, limit: int) -> list[fts.KeywordHit]:
        with self.read_session() as s:
            return keywords_for(self.dialect).search(s, query, limit)

    def tags_among(self, asset_ids: Iterable[str], tags: Iterable[str]) -> dict[str, set[str]]:
        out: dict[str, set[str]] = {}
        wanted = list(tags)
        with self.read_session() as s:
            for part in _chunks(list(asset_ids)):
                rows = s.execute(
                    select(TagRow.asset_id, TagRow.tag).where(
                        TagRow.asset_id.in_(part), TagRow.tag.in_(wanted)
                    )
                )
                for asset_id, tag in rows:
                    out.setdefault(asset_id, set()).add(tag)
        return out

    def tag_counts(self, limit: int | None = None) -> list[tuple[str, int]]:
        """(tag key, assets) most used first."""
        with self.read_session() as s:
            q = (
                select(TagRow.tag, func.count())
                .group_by(TagRow.tag)
                .order_by(func.count().desc(), TagRow.tag)
            )
            if limit is not None:
                q = q.limit(limit)
            return [(k, int(n)) for k, n in s.execute(q)]

    def tags_of(self, asset_id: str) -> list[tuple[str, float, str]]:
        """(key, score, source), best first."""
        with self.read_session() as s:
            return [
                (k, float(score), source)
                for k, score, source in s.execute(
                    select(TagRow.tag, TagRow.score, TagRow.source)
                    .where(TagRow.asset_id == asset_id)
                    .order_by(TagRow.score.desc())
                )
            ]

    def user_tag_rows(self) -> list[TagDefinitionRow]:
        with self.read_session() as s:
            return list(
                s.scalars(select(TagDefinitionRow).where(TagDefinitionRow.builtin.is_(False)))
            )

    # ------------------------------------------------------------------ crash safety
    def pending(self) -> list[Pending]:
        with self.read_session() as s:
            return _pending_rows(s)


class SqlUnitOfWork:
    """One write transaction of a `SqlCatalog` (see `store.base.UnitOfWork`)."""

    def __init__(self, session: Session, label: str = "the library") -> None:
        self.session = session
        self.label = label
        self._keywords = keywords_for(session.get_bind().dialect.name)

    # ------------------------------------------------------------------ ingest
    def registered(self, shas: Iterable[str]) -> dict[str, str]:
        wanted = list(set(shas))
        out: dict[str, str] = {}
        for part in _chunks(wanted):
            rows = self.session.execute(
                select(AssetRow.sha256, AssetRow.asset_id).where(AssetRow.sha256.in_(part))
            ).all()
            out.update({sha: asset_id for sha, asset_id in rows})
        return out

    def mark_pending(
        self, shas: Iterable[str], owner_pid: int, at: datetime, *, job_id: int | None = None
    ) -> None:
        for sha in shas:
            self.session.merge(
                PendingBlobRow(sha256=sha, owner_pid=owner_pid, created_at=at, job_id=job_id)
            )

    def clear_pending(self, shas: Iterable[str]) -> None:
        wanted = list(shas)
        for part in _chunks(wanted):
            self.session.execute(delete(PendingBlobRow).where(PendingBlobRow.sha256.in_(part)))

    def drop_pending(self, sha256: str) -> None:
        row = self.session.get(PendingBlobRow, sha256)
        if row is not None:
            self.session.delete(row)

    def pending(self) -> list[Pending]:
        """The pending rows as this transaction sees them (under the write lock)."""
        return _pending_rows(self.session)

    def pending_jobs(self, shas: Iterable[str]) -> dict[str, int | None]:
        """sha256 -> the job its pending row names now, for the hashes that have a row."""
        wanted = list(set(shas))
        out: dict[str, int | None] = {}
        for part in _chunks(wanted):
            rows = self.session.execute(
                select(PendingBlobRow.sha256, PendingBlobRow.job_id).where(
                    PendingBlobRow.sha256.in_(part)
                )
            )
            out.update((sha, job_id) for sha, job_id in rows)
        return out

    def add_asset(self, asset: Asset, *, has_thumbnail: bool) -> list[tuple[int, str, bytes]]:
        """Insert the asset and its fingerprints; (fingerprint row id, kind, value) back, for
        the Hamming indexes."""
        return self.add_assets([(asset, has_thumbnail)])

    def add_assets(self, assets: Iterable[tuple[Asset, bool]]) -> list[tuple[int, str, bytes]]:
        """`add_asset` for a batch of (asset, has_thumbnail): one flush, not one per asset."""
        rows = [
            AssetRow(
                asset_id=asset.asset_id,
                sha256=asset.sha256,
                media_type=asset.media_type.value,
                mime=asset.mime,
                size=asset.size,
                original_name=asset.original_name,
                source_path=asset.source,
                width=asset.width,
                height=asset.height,
                metadata_json=asset.metadata,
                has_thumbnail=has_thumbnail,
                registered_at=asset.registered_at,
                review=review_of(asset),
                captured_at=captured_at_of(asset.metadata),
                fingerprints=[
                    FingerprintRow(kind=f.kind, value=f.value, quality=f.quality)
                    for f in asset.fingerprints
                ],
            )
            for asset, has_thumbnail in assets
        ]
        self.session.add_all(rows)
        self.session.flush()
        return [(f.id, f.kind, f.value) for row in rows for f in row.fingerprints]

    def add_vectors(self, vectors: Iterable[NewVector]) -> list[tuple[int, str, bytes]]:
        rows = [
            EmbeddingRow(
                asset_id=v.asset_id,
                space=v.space,
                model=v.model,
                vector=v.vector,
                segment=v.segment.to_json() if v.segment else None,
            )
            for v in vectors
        ]
        self.session.add_all(rows)
        self.session.flush()
        return [(r.id, r.space, r.vector) for r in rows]

    def add_passages(
        self, asset_id: str, passages: Iterable[Segment], *, new: bool = False
    ) -> None:
        """Replace the asset's passages (re-transcribing replaces them); `new`: registered
        in this transaction, nothing to replace."""
        if not new:
            self.session.execute(delete(PassageRow).where(PassageRow.asset_id == asset_id))
        self.session.add_all(
            PassageRow(
                asset_id=asset_id,
                seq=i,
                source=p.source,
                start=p.start,
                end=p.end,
                page=p.page,
                text=p.text or "",
            )
            for i, p in enumerate(passages)
        )

    def add_tags(self, asset_id: str, tags: Iterable[tuple[str, float, str]]) -> None:
        self.session.add_all(
            TagRow(asset_id=asset_id, tag=key, score=score, source=source)
            for key, score, source in tags
        )

    def upsert_keywords(self, asset_id: str, doc: Mapping[str, str], *, new: bool = False) -> None:
        """`new`: the asset was registered in this transaction (it has no row to replace)."""
        self._keywords.upsert(self.session, asset_id, dict(doc), new=new)

    def set_keyword_tags(self, asset_id: str, tag_names: list[str]) -> None:
        """Refresh the tag field of an asset's keyword row (after its tags changed)."""
        self._keywords.set_tags(self.session, asset_id, tag_names)

    def set_keyword_fields(self, docs: Mapping[str, Mapping[str, str]]) -> None:
        """Replace some fields (title, description, keywords, tags) of many assets' keyword
        rows, the rest kept: edits change what a person typed, not the text inside."""
        if docs:
            self._keywords.set_fields(self.session, {a: dict(d) for a, d in docs.items()})

    def remember_seen(self, files: Iterable[SeenFile]) -> None:
        values = [
            {"path": f.path, "size": f.size, "mtime_ns": f.mtime_ns, "sha256": f.sha256}
            for f in files
        ]
        if not values:
            return
        dialect = self.session.get_bind().dialect.name
        if dialect == "postgresql":
            from sqlalchemy.dialects.postgresql import insert
        else:
            from sqlalchemy.dialects.sqlite import insert
        stmt = insert(SeenFileRow).values(values)
        stmt = stmt.on_conflict_do_update(
            index_elements=[SeenFileRow.path],
            set_={
                "size": stmt.excluded.size,
                "mtime_ns": stmt.excluded.mtime_ns,
                "sha256": stmt.excluded.sha256,
            },
        )
        self.session.execute(stmt)

    # ------------------------------------------------------------------ understanding
    def replace_understanding(self, asset_ids: list[str]) -> dict[str, Asset]:
        """Drop these assets' vectors and zero-shot tags (re-embedding replaces them); the
        assets back, for their keyword documents."""
        out: dict[str, Asset] = {}
        for part in _chunks(asset_ids):
            self.session.execute(delete(EmbeddingRow).where(EmbeddingRow.asset_id.in_(part)))
            self.session.execute(
                delete(TagRow).where(TagRow.asset_id.in_(part), TagRow.source == "zero-shot")
            )
            rows = self.session.scalars(select(AssetRow).where(AssetRow.asset_id.in_(part)))
            out.update({r.asset_id: to_asset(r) for r in rows})
        return out

    def save_tag_definition(
        self, key: str, name_en: str, name_zh: str, threshold: float, examples: list[str]
    ) -> None:
        self.session.merge(
            TagDefinitionRow(
                key=key,
                name_en=name_en,
                name_zh=name_zh,
                threshold=threshold,
                builtin=False,
                examples=examples,
            )
        )

    def clear_tag(self, key: str) -> None:
        """Drop the tagger's rows of a tag before it scores again; tags a person put on an
        asset (source "manual") stay."""
        self.session.execute(delete(TagRow).where(TagRow.tag == key, TagRow.source != MANUAL))

    def tag_keys_of(self, asset_id: str) -> list[str]:
        self.session.flush()
        return list(self.session.scalars(select(TagRow.tag).where(TagRow.asset_id == asset_id)))

    def visual_vectors(self) -> list[tuple[str, bytes]]:
        return [
            (a, bytes(v))
            for a, v in self.session.execute(
                select(EmbeddingRow.asset_id, EmbeddingRow.vector).where(
                    EmbeddingRow.space == Space.VISUAL.value, EmbeddingRow.segment.is_(None)
                )
            )
        ]

    # ------------------------------------------------------------------ review
    def set_review(
        self, asset_id: str, state: str, *, only_from: Iterable[str]
    ) -> tuple[Asset, str | None]:
        """Move the asset (id or unique prefix) to review `state` if it is in one of
        `only_from` now; the asset and the state it was in, to tell whether it moved."""
        row = resolve(self.session, asset_id, self.label)
        before = row.review
        if before in set(only_from):
            row.review = state
            self.session.flush()
        return to_asset(row), before

    # ------------------------------------------------------------------ removal
    def remove_asset(self, asset_id: str) -> tuple[AssetRow, Removed]:
        """Delete the row (fingerprints, vectors and tags cascade) and its keyword row."""
        s = self.session
        row = resolve(s, asset_id, self.label)
        asset = to_asset(row)
        fingerprint_rows = [(f.id, f.kind) for f in row.fingerprints]
        vector_rows = [
            (i, space)
            for i, space in s.execute(
                select(EmbeddingRow.id, EmbeddingRow.space).where(
                    EmbeddingRow.asset_id == asset.asset_id
                )
            )
        ]
        self._keywords.delete(s, asset.asset_id)
        s.delete(row)
        s.flush()
        still_used = bool(
            s.scalar(
                select(func.count()).select_from(AssetRow).where(AssetRow.sha256 == asset.sha256)
            )
        )
        return row, Removed(asset, fingerprint_rows, vector_rows, still_used)


def resolve(s: Session, asset_id: str, where: str = "the library") -> AssetRow:
    """A full id or a unique prefix (like git), with a helpful error otherwise."""
    asset_id = asset_id.strip().lower()
    row = s.get(AssetRow, asset_id)
    if row is not None:
        return row
    if len(asset_id) >= MIN_ID_PREFIX:
        rows = s.scalars(
            select(AssetRow).where(AssetRow.asset_id.startswith(asset_id)).limit(2)
        ).all()
        if len(rows) == 1:
            return rows[0]
        if len(rows) > 1:
            raise AssetNotFoundError(
                f"asset id prefix {asset_id!r} is ambiguous", hint="give more characters"
            )
    raise AssetNotFoundError(
        f"no asset {asset_id!r} in {where}", hint="`assetloom list` shows the ids"
    )


def review_of(asset: Asset) -> str | None:
    """The review state a new asset starts in: the verdict moderation recorded with its score
    (ingest/enrich/moderate.py), or None."""
    found = (asset.metadata or {}).get("moderation")
    verdict = found.get("verdict") if isinstance(found, dict) else None
    return verdict if verdict in ("flagged", QUARANTINED) else None


def keywords_for(dialect: str) -> Any:
    """The keyword-search module for a dialect (same functions: upsert, delete, set_tags,
    search)."""
    if dialect == "postgresql":
        from assetloom.store import fts_postgres

        return fts_postgres
    return fts


def _utc(value: datetime) -> datetime:
    # SQLite keeps registered_at as UTC wall time; bind values the same way.
    return value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)


def visible() -> ColumnElement[bool]:
    """Neither quarantined (app/review.py) nor in the trash (app/trash.py): what every list,
    count, search, collection and share link may show."""
    return and_(
        or_(AssetRow.review.is_(None), AssetRow.review != QUARANTINED),
        AssetRow.trashed_at.is_(None),
    )


def _filtered(stmt: Select[Any], q: ListQuery) -> Select[Any]:
    """`stmt` (over AssetRow) narrowed by q's filters; no cursor, order or paging."""
    stmt = stmt.where(visible())
    if q.media_type:
        stmt = stmt.where(AssetRow.media_type == q.media_type.value)
    if q.since:
        stmt = stmt.where(AssetRow.registered_at >= _utc(q.since))
    if q.until:
        stmt = stmt.where(AssetRow.registered_at <= _utc(q.until))
    if q.name:
        stmt = stmt.where(AssetRow.original_name.icontains(q.name, autoescape=True))
    if q.status:
        stmt = stmt.where(AssetRow.status == q.status)
    if q.captured_since:
        stmt = stmt.where(AssetRow.captured_at >= _utc(q.captured_since))
    if q.captured_until:
        stmt = stmt.where(AssetRow.captured_at <= _utc(q.captured_until))
    for tag in dict.fromkeys(q.tags):
        stmt = stmt.where(AssetRow.asset_id.in_(select(TagRow.asset_id).where(TagRow.tag == tag)))
    return stmt


def _paged(stmt: Select[Any], q: ListQuery) -> Select[Any]:
    """`_filtered(stmt)` in q's order, after q's cursor, one row past the page (to see if
    there is more)."""
    if q.limit < 1 or q.offset < 0:
        raise BadInputError("limit must be at least 1 and offset not negative")
    stmt = _filtered(stmt, q)
    if q.sort != "registered":
        return _sorted(stmt, q).limit(q.limit + 1).offset(q.offset)
    at, aid = AssetRow.registered_at, AssetRow.asset_id
    if q.cursor:
        when, last_id = decode_cursor(q.cursor, q.newest_first)
        when = _utc(when)
        # The first condition alone bounds the index range; the second breaks ties.
        if q.newest_first:
            stmt = stmt.where(and_(at <= when, or_(at < when, aid < last_id)))
        else:
            stmt = stmt.where(and_(at >= when, or_(at > when, aid > last_id)))
    order = (at.desc(), aid.desc()) if q.newest_first else (at, aid)
    return stmt.order_by(*order).limit(q.limit + 1).offset(q.offset)


_SORT_COLUMNS: dict[str, Any] = {
    "captured": AssetRow.captured_at,
    "name": AssetRow.original_name,
    "size": AssetRow.size,
    "rating": AssetRow.rating,
}


def _sorted(stmt: Select[Any], q: ListQuery) -> Select[Any]:
    """`stmt` in q's sort (not registration time), after q's cursor. Rows without a value
    come last either way; the asset id breaks ties in the sort's direction."""
    col, aid = _SORT_COLUMNS[q.sort], AssetRow.asset_id
    desc = q.newest_first
    if q.cursor:
        value, last_id = decode_sort_cursor(q)
        after_id = aid < last_id if desc else aid > last_id
        if value is None:  # already among the rows without a value
            stmt = stmt.where(col.is_(None), after_id)
        else:
            bound = _utc(value) if isinstance(value, datetime) else value
            beyond = col < bound if desc else col > bound
            stmt = stmt.where(or_(beyond, and_(col == bound, after_id), col.is_(None)))
    key = col.desc() if desc else col.asc()
    return stmt.order_by(key.nulls_last(), aid.desc() if desc else aid)


def _pending_rows(s: Session) -> list[Pending]:
    return [
        Pending(p.sha256, p.owner_pid, p.created_at, p.job_id)
        for p in s.scalars(select(PendingBlobRow))
    ]


def _chunks(items: list[Any]) -> Iterator[list[Any]]:
    for i in range(0, len(items), _IN_CHUNK):
        yield items[i : i + _IN_CHUNK]
