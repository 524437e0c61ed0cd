"""The catalog port: what the use cases read from and write to the catalog.

One implementation, `store.catalog.SqlCatalog`, serves SQLite (embedded default) and
PostgreSQL through SQLAlchemy; the dialect-specific parts (keyword search, upserts, the change
token) live beside it in `store/`. Writes go through a `UnitOfWork`: asset rows, fingerprints,
vectors, tags, keyword rows and ledger leaves of one batch commit together or not at all, so
an asset is never registered without its leaf, nor a leaf written for an asset that is not.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol, runtime_checkable

from sqlalchemy.orm import Session

from assetloom.core.assets import Asset, Fingerprint, Segment
from assetloom.core.listing import ListPage, ListQuery
from assetloom.store.fts import KeywordHit


@dataclass(frozen=True, slots=True)
class NewVector:
    asset_id: str
    space: str
    model: str
    vector: bytes
    segment: Segment | None = None
    """The part of the asset this vector is of (a key frame, a passage); None: the whole."""


@dataclass(frozen=True, slots=True)
class SeenFile:
    path: str
    size: int
    mtime_ns: int
    sha256: str


@dataclass(frozen=True, slots=True)
class Removed:
    """What removing an asset took away, for the indexes and the blob store."""

    asset: Asset
    fingerprint_rows: list[tuple[int, str]]
    vector_rows: list[tuple[int, str]]
    blob_still_used: bool


@dataclass(frozen=True, slots=True)
class Pending:
    sha256: str
    owner_pid: int
    created_at: datetime
    job_id: int | None = None
    """The leased job that wrote the blob (None: a row from before jobs, owned by pid)."""


@runtime_checkable
class UnitOfWork(Protocol):
    """One write transaction (commits when the `with` block ends without an exception)."""

    session: Session
    """For the ledger's log store, which appends leaves in the same transaction."""

    def registered(self, shas: Iterable[str]) -> dict[str, str]:
        """sha256 -> asset id for the hashes already registered."""
        ...

    def mark_pending(
        self, shas: Iterable[str], owner_pid: int, at: datetime, *, job_id: int | None = None
    ) -> None: ...

    def clear_pending(self, shas: Iterable[str]) -> None: ...

    def drop_pending(self, sha256: str) -> None: ...

    def pending(self) -> list[Pending]:
        """The pending rows under this transaction's write lock."""
        ...

    def pending_jobs(self, shas: Iterable[str]) -> dict[str, int | None]:
        """sha256 -> the job its pending row names now (a later add of the same file takes
        the row over), for the hashes that have a row."""
        ...

    def add_asset(self, asset: Asset, *, has_thumbnail: bool) -> list[tuple[int, str, bytes]]:
        """Insert the asset and its fingerprints; (fingerprint row id, kind, value) back."""
        ...

    def add_assets(self, assets: Iterable[tuple[Asset, bool]]) -> list[tuple[int, str, bytes]]:
        """A batch of (asset, has_thumbnail) in one flush."""
        ...

    def add_vectors(self, vectors: Iterable[NewVector]) -> list[tuple[int, str, bytes]]:
        """(embedding row id, space, vector) of the rows written."""
        ...

    def add_tags(self, asset_id: str, tags: Iterable[tuple[str, float, str]]) -> None:
        """(tag key, score, source) rows."""
        ...

    def add_passages(
        self, asset_id: str, passages: Iterable[Segment], *, new: bool = False
    ) -> None: ...

    def upsert_keywords(
        self, asset_id: str, doc: Mapping[str, str], *, new: bool = False
    ) -> None: ...

    def set_keyword_tags(self, asset_id: str, tag_names: list[str]) -> None: ...

    def set_keyword_fields(self, docs: Mapping[str, Mapping[str, str]]) -> None: ...

    def remember_seen(self, files: Iterable[SeenFile]) -> None: ...

    def replace_understanding(self, asset_ids: list[str]) -> dict[str, Asset]: ...

    def save_tag_definition(
        self, key: str, name_en: str, name_zh: str, threshold: float, examples: list[str]
    ) -> None: ...

    def clear_tag(self, key: str) -> None: ...

    def tag_keys_of(self, asset_id: str) -> list[str]: ...

    def visual_vectors(self) -> list[tuple[str, bytes]]: ...

    def remove_asset(self, asset_id: str) -> tuple[object, Removed]: ...


@runtime_checkable
class CatalogStore(Protocol):
    """Reads (each its own read transaction) and `unit_of_work` for writes."""

    dialect: str

    def migrate(self) -> None: ...

    def close(self) -> None: ...

    def unit_of_work(self) -> AbstractContextManager[UnitOfWork]: ...

    def change_token(self) -> int | None:
        """Changes whenever another connection commits; None where it cannot be known."""
        ...

    def get(self, asset_id: str) -> Asset:
        """A full id or a unique prefix of one (like git); AssetNotFoundError otherwise."""
        ...

    def get_many(
        self, asset_ids: Iterable[str], *, fingerprints: bool = False
    ) -> dict[str, Asset]: ...

    def count(self, query: ListQuery | None = None) -> int: ...

    def list(self, query: ListQuery | None = None) -> ListPage: ...

    def asset_of_sha(self, sha256: str) -> str | None: ...

    def asset_lookup(self) -> AbstractContextManager[Callable[[str], Asset | None]]: ...

    def assets_lacking_vectors(self, models: Iterable[str]) -> list[tuple[str, str]]: ...

    def unchanged_files(self, stats: Mapping[str, tuple[int, int]]) -> dict[str, str]:
        """path -> asset id for files whose (size, mtime_ns) match what was last seen."""
        ...

    def source_rows(self, media_type: str) -> list[tuple[str, str, str | None, dict[str, Any]]]: ...

    def fingerprints_of_rows(self, row_ids: Iterable[int]) -> dict[str, list[Fingerprint]]: ...

    def assets_with_fingerprint(self, kind: str, value: bytes) -> list[str]: ...

    def vectors_of(self, asset_id: str) -> dict[str, bytes]:
        """The whole asset's vector per space (not those of its segments)."""
        ...

    def passages_of(self, asset_ids: Iterable[str]) -> dict[str, list[Segment]]: ...

    def vectors_in(self, space: str, asset_ids: Iterable[str]) -> dict[str, bytes]: ...

    def keyword_search(self, query: str, limit: int) -> list[KeywordHit]: ...

    def tags_among(self, asset_ids: Iterable[str], tags: Iterable[str]) -> dict[str, set[str]]: ...

    def capture_months(self, query: ListQuery | None = None) -> list[tuple[str, int]]: ...

    def gps_points(
        self, query: ListQuery | None = None, limit: int = 5000
    ) -> list[tuple[str, str, float, float]]: ...

    def with_status(self, asset_ids: Iterable[str], status: str) -> set[str]:
        """Those of these assets whose workflow status is `status` (search's filter)."""
        ...

    def tag_counts(self, limit: int | None = None) -> list[tuple[str, int]]: ...

    def tags_of(self, asset_id: str) -> list[tuple[str, float, str]]: ...

    def user_tag_rows(self) -> list[Any]: ...

    def pending(self) -> list[Pending]: ...


@runtime_checkable
class OrganiseStore(Protocol):
    """Collections, share links and the trash flag (store/organise.py). Each write is one
    transaction however many ids it takes; an id that names nothing fails the whole call."""

    def create_collection(
        self,
        name: str,
        *,
        by: str,
        at: datetime,
        parent: str | None = None,
        query: dict[str, Any] | None = None,
        description: str = "",
    ) -> Any: ...

    def collection(self, name: str) -> Any: ...

    def collections(self) -> list[Any]: ...

    def update_collection(self, name: str, *, at: datetime, **change: Any) -> Any: ...

    def delete_collection(self, name: str) -> Any: ...

    def add_items(self, name: str, asset_ids: Sequence[str], *, at: datetime) -> tuple[int, int]:
        """(added, already there)."""
        ...

    def remove_items(self, name: str, asset_ids: Sequence[str], *, at: datetime) -> int: ...

    def reorder(self, name: str, asset_ids: Sequence[str], *, at: datetime) -> None: ...

    def item_ids(self, name: str, *, limit: int | None = None, offset: int = 0) -> list[str]:
        """Visible items, in order."""
        ...

    def holds(self, collection_id: int, asset_id: str) -> bool: ...

    def create_share(
        self, *, token_hash: bytes, prefix: str, by: str, at: datetime, **what: Any
    ) -> Any: ...

    def shares(self) -> list[Any]: ...

    def share_of_hash(self, token_hash: bytes) -> Any | None: ...

    def revoke_share(
        self, *, at: datetime, share_id: int | None = None, token_hash: bytes | None = None
    ) -> Any: ...

    def count_use(self, share_id: int, at: datetime) -> None: ...

    def trash(self, asset_ids: Sequence[str], *, at: datetime) -> list[Asset]: ...

    def restore(self, asset_ids: Sequence[str]) -> list[Asset]: ...

    def trashed(
        self, *, limit: int | None = None, offset: int = 0, before: datetime | None = None
    ) -> tuple[int, list[tuple[Asset, datetime]]]: ...

    def trashed_among(self, asset_ids: Iterable[str]) -> set[str]: ...
