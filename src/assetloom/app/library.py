"""The application service: one `Library` object that the CLI, API and web UI all call.

A library is a folder (see docs/architecture.md): `catalog.db` (SQLite, WAL), `blobs/`,
`derived/`, `index/` (rebuildable), `keys/` and `assetloom.toml`.
"""

from __future__ import annotations

import os
import sqlite3
import threading
import tomllib
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session, noload, sessionmaker

from assetloom.app import listing
from assetloom.app.listing import ListPage, ListQuery
from assetloom.blobs.local import LocalBlobStore, remove_tree, write_atomic
from assetloom.blobs.private import PRIVATE_DIR, private_umask, tighten
from assetloom.core.assets import Asset
from assetloom.errors import (
    AssetNotFoundError,
    BadInputError,
    LibraryExistsError,
    NotALibraryError,
)
from assetloom.index.live import LiveIndexes
from assetloom.rwlock import ReadWriteLock
from assetloom.settings import Settings, load_settings
from assetloom.store import fts
from assetloom.store.assets import to_asset
from assetloom.store.db import is_current, make_engine, migrate, session_factory, sqlite_url
from assetloom.store.schema import AssetRow, PendingBlobRow
from assetloom.store.search_tables import EmbeddingRow

if TYPE_CHECKING:
    from assetloom.app.results import AddReport, DuplicateGroup, VerifyResult
    from assetloom.app.search import SearchHit, SearchQuery
    from assetloom.index.fingerprint_index import FingerprintIndex
    from assetloom.index.vector_spaces import VectorSpaces
    from assetloom.models.base import ImageEncoder, TextEncoder
    from assetloom.provenance.ledger_service import AuditResult, InclusionProof, LedgerService
    from assetloom.provenance.log_store import LeafRecord
    from assetloom.tagging import Tagger

CATALOG = "catalog.db"
SETTINGS_FILE = "assetloom.toml"
FORMAT_VERSION = 1
MIN_ID_PREFIX = 4

Progress = Callable[[int, int], None]
"""progress(done, total): called as files finish; the CLI draws a bar from it."""


class Library:
    """An open library. Cheap to open; heavy parts (index, models) load on first use."""

    def __init__(self, root: Path, settings: Settings) -> None:
        self.root = root
        self.settings = settings
        url = sqlite_url(root / CATALOG)
        self._reader: Engine = make_engine(url, busy_timeout_s=settings.busy_timeout_s)
        self._writer: Engine = make_engine(url, busy_timeout_s=settings.busy_timeout_s, writer=True)
        self.read_session: sessionmaker[Session] = session_factory(self._reader)
        self.write_session: sessionmaker[Session] = session_factory(self._writer)
        self.blobs = LocalBlobStore(root / "blobs")
        self.indexes = LiveIndexes(root / "index", self.read_session)
        self._tagger: Tagger | None = None
        self._catch_up_lock = threading.Lock()
        self._ingest_lock = threading.Lock()
        self._ingests = 0
        self._watch: sqlite3.Connection | None = None
        self._catalog_version: int | None = None

    # ----------------------------------------------------------------- lifecycle
    @classmethod
    def create(cls, path: Path) -> Library:
        path = path.expanduser().absolute()
        if (path / CATALOG).exists():
            raise LibraryExistsError(f"{path} is already an AssetLoom library")
        if path.exists() and not path.is_dir():
            raise BadInputError(f"{path} exists and is not a folder")
        if path.exists() and any(path.iterdir()):
            raise LibraryExistsError(
                f"{path} is not empty",
                hint="choose a new or empty folder for the library",
            )
        from assetloom.provenance.registration import new_origin

        path.mkdir(parents=True, exist_ok=True)  # parents keep the user's umask
        path.chmod(PRIVATE_DIR)
        with private_umask():
            for sub in ("blobs", "derived", "index", "keys"):
                (path / sub).mkdir()
            write_atomic(
                path / SETTINGS_FILE,
                (
                    "# AssetLoom library settings; ASSETLOOM_* environment variables override.\n"
                    f"format_version = {FORMAT_VERSION}\n"
                    f'ledger_origin = "{new_origin()}"\n'
                ).encode(),
            )
            lib = cls(path, load_settings(path))
            migrate(lib._writer)
            lib._on_create()
        return lib

    @classmethod
    def open(cls, path: Path) -> Library:
        path = path.expanduser().absolute()
        if not (path / SETTINGS_FILE).is_file() or not (path / CATALOG).is_file():
            raise NotALibraryError(
                f"{path} is not an AssetLoom library",
                hint=f"create one with: assetloom init {path}",
            )
        try:
            tomllib.loads((path / SETTINGS_FILE).read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise NotALibraryError(f"{path / SETTINGS_FILE} is not valid TOML: {exc}") from exc
        tighten(path)
        lib = cls(path, load_settings(path))
        if not is_current(lib._reader):
            migrate(lib._writer)
        return lib

    def close(self) -> None:
        if self._watch is not None:
            self._watch.close()
            self._watch = None
            self._catalog_version = None
        self._reader.dispose()
        self._writer.dispose()

    def __enter__(self) -> Library:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _on_create(self) -> None:
        """Hook for components that need set-up at `init` (the ledger key)."""
        from assetloom.provenance.registration import on_library_created

        on_library_created(self.root / "keys", self.settings.ledger_origin)

    # ----------------------------------------------------------------- reading
    def count(self, query: ListQuery | None = None) -> int:
        """How many assets pass the query's filters (its cursor and paging aside)."""
        with self.read_session() as s:
            q = select(func.count()).select_from(AssetRow)
            return int(s.scalar(listing.filtered(q, query or ListQuery())) or 0)

    def list(self, query: ListQuery | None = None) -> ListPage:
        """One page of assets, oldest (or newest) first, and the cursor of the next page."""
        query = query or ListQuery()
        with self.read_session() as s:
            q = select(AssetRow).options(noload(AssetRow.fingerprints))
            rows = s.scalars(listing.paged(q, query)).all()
            return listing.page_of([to_asset(r) for r in rows], query)

    def get(self, asset_id: str) -> Asset:
        with self.read_session() as s:
            return to_asset(self._row(s, asset_id))

    def get_many(self, asset_ids: Iterable[str], *, fingerprints: bool = False) -> dict[str, Asset]:
        """Assets by id; fingerprints only when asked (search results never show them)."""
        ids = list(set(asset_ids))
        out: dict[str, Asset] = {}
        with self.read_session() as s:
            for i in range(0, len(ids), 500):
                q = select(AssetRow).where(AssetRow.asset_id.in_(ids[i : i + 500]))
                if not fingerprints:
                    q = q.options(noload(AssetRow.fingerprints))
                out.update({r.asset_id: to_asset(r) for r in s.scalars(q)})
        return out

    def _row(self, s: Session, asset_id: str) -> AssetRow:
        """Resolve a full id or a unique prefix (like git), with a helpful error otherwise."""
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
            f"no asset {asset_id!r} in {self.root}", hint="`assetloom list` shows the ids"
        )

    def blob_path(self, asset: Asset) -> Path:
        return self.blobs.path_for(asset.sha256)

    def thumbnail_path(self, asset: Asset) -> Path | None:
        path = self.derived_dir(asset.sha256) / "thumb.webp"
        return path if path.is_file() else None

    def derived_dir(self, sha256: str) -> Path:
        return self.root / "derived" / sha256

    # ----------------------------------------------------------------- writing
    def add(
        self,
        paths: Sequence[Path],
        *,
        recursive: bool = False,
        progress: Progress | None = None,
        sources: dict[Path, str] | None = None,
    ) -> AddReport:
        """Register files and folders. Each new asset's `source_path` is the file's path, and
        (path, size, mtime) is remembered so a re-run skips unchanged files without reading
        them.

        `sources` names where some files really came from when their path means nothing
        later, as for uploads staged in a temporary folder: it maps a file (as given in
        `paths`) to a label such as "upload by alice: beach.jpg". A labelled file's asset
        records the label as its `source_path`, and the path is not remembered.
        """
        from assetloom.app.ingest import Ingestor

        return Ingestor(self).run(paths, recursive=recursive, progress=progress, sources=sources)

    def embed_missing(self, progress: Progress | None = None) -> int:
        from assetloom.app.ingest import embed_missing

        return embed_missing(self, progress)

    def remove(self, asset_id: str) -> Asset:
        """Delete an asset; its blob and derived files go once no asset uses them."""
        from assetloom.provenance.registration import on_asset_removed

        with self.write_session() as s, s.begin():
            row = self._row(s, asset_id)
            asset = to_asset(row)
            fp_rows = [(f.id, f.kind) for f in row.fingerprints]
            vector_rows = [
                (i, space)
                for i, space in s.execute(
                    select(EmbeddingRow.id, EmbeddingRow.space).where(
                        EmbeddingRow.asset_id == asset.asset_id
                    )
                )
            ]
            on_asset_removed(s, asset)
            fts.delete(s, asset.asset_id)
            s.delete(row)
            still_used = s.scalar(
                select(func.count()).select_from(AssetRow).where(AssetRow.sha256 == asset.sha256)
            )
        if not still_used:
            self.blobs.delete(asset.sha256)
            remove_tree(self.derived_dir(asset.sha256))
        with self.index_lock.writing():
            self.fingerprint_index().remove_rows(fp_rows)
            if vector_rows:
                self.vector_spaces().remove_rows(vector_rows)
        self.indexes.changed()
        return asset

    @contextmanager
    def ingesting(self) -> Iterator[None]:
        """Around one `add`: sweeps what dead runs left, never what a live one is writing.

        Rows of this process are swept only when no other add runs in it (the server runs
        several at once, each with pending blobs of its own).
        """
        with self._ingest_lock:
            self.sweep_pending(include_own=self._ingests == 0)
            self._ingests += 1
        try:
            yield
        finally:
            with self._ingest_lock:
                self._ingests -= 1

    def sweep_pending(self, *, include_own: bool = True) -> int:
        """Remove blobs left by runs that died between writing a blob and committing its row."""
        swept = 0
        with self.write_session() as s, s.begin():
            pending = s.scalars(select(PendingBlobRow)).all()
            for p in pending:
                own = p.owner_pid == os.getpid()
                if (own and not include_own) or (not own and _alive(p.owner_pid)):
                    continue
                registered = s.scalar(select(AssetRow.asset_id).where(AssetRow.sha256 == p.sha256))
                if registered is None:
                    self.blobs.delete(p.sha256)
                    remove_tree(self.derived_dir(p.sha256))
                    swept += 1
                s.delete(p)
        return swept

    # ----------------------------------------------------------------- indexes
    @property
    def index_lock(self) -> ReadWriteLock:
        """Held for writing while the in-memory indexes change; threads that search (the
        server's) hold it for reading."""
        return self.indexes.lock

    def fingerprint_index(self) -> FingerprintIndex:
        return self.indexes.fingerprints()

    def vector_spaces(self) -> VectorSpaces:
        return self.indexes.vectors()

    def catch_up(self) -> dict[str, int]:
        """Catch loaded indexes (and the tagger) up with catalog writes made by other
        processes, e.g. a CLI `add`, `rm` or `tags define` while the server runs; returns
        index -> entries for each index that changed (and "tagger" -> user tags if it did).

        Cheap when nothing happened: SQLite's data_version tells whether any other connection
        committed since the last call.
        """
        with self._catch_up_lock:
            version = self._data_version()
            if version == self._catalog_version:
                return {}
            changed, complete = self.indexes.catch_up()
            changed.update(self._catch_up_tagger())
            if complete:  # a plan overtaken by this process's own write is redone next round
                self._catalog_version = version
            return changed

    def _catch_up_tagger(self) -> dict[str, int]:
        tagger = self._tagger
        if tagger is None:
            return {}  # built from the catalog on first use
        from assetloom.app.tags import user_definitions

        with self.read_session() as s:
            current = user_definitions(s)
        if current == [d for d in tagger.definitions if not d.builtin]:
            return {}
        self.reset_tagger()
        return {"tagger": len(current)}

    def _data_version(self) -> int:
        if self._watch is None:
            self._watch = sqlite3.connect(self.root / CATALOG, check_same_thread=False)
        return int(self._watch.execute("PRAGMA data_version").fetchone()[0])

    # ----------------------------------------------------------------- understanding
    def text_encoder(self) -> TextEncoder:
        from assetloom.models.registry import get_text_encoder

        return get_text_encoder(self.settings.model, self.settings.model_cache)

    def image_encoder(self) -> ImageEncoder:
        from assetloom.models.registry import get_image_encoder

        return get_image_encoder(self.settings.model, self.settings.model_cache)

    def tagger(self) -> Tagger:
        """Built-in vocabulary plus this library's own tags; tag vectors embed once."""
        if self._tagger is None:
            from assetloom.app.tags import user_definitions, visual_vectors
            from assetloom.tagging import Tagger, load_builtin_definitions

            with self.read_session() as s:
                definitions = load_builtin_definitions() + user_definitions(s)
            self._tagger = Tagger(
                definitions,
                self.text_encoder(),
                example_vectors=lambda ids: visual_vectors(self, ids),
                cache_dir=self.settings.model_cache,
            )
        return self._tagger

    def reset_tagger(self) -> None:
        """Forget the cached tagger after tag definitions change."""
        self._tagger = None

    def search(self, query: SearchQuery) -> list[SearchHit]:
        from assetloom.app.search import Searcher

        return Searcher(self).search(query)

    def ledger(self) -> LedgerService:
        from assetloom.provenance.ledger_service import LedgerService

        return LedgerService(
            self.write_session,
            self.root / "keys",
            self.settings.ledger_origin,
            readers=self.read_session,
        )

    def registration_proof(self, asset_id: str) -> InclusionProof:
        """The asset's (id or unique prefix) verified inclusion proof, held against what its
        catalog row says: a row edited after registration (a backdated `registered_at`)
        raises CatalogMismatchError instead of lending the edit a valid proof."""
        from assetloom.provenance.registration import row_leaf

        with self.read_session() as s:
            row = self._row(s, asset_id)
            full_id, implied = row.asset_id, row_leaf(row)
        return self.ledger().proof(full_id, catalog_leaf=implied)

    def audit_ledger(self) -> AuditResult:
        """Recompute every registration leaf from the catalog and the root from the leaves."""
        from assetloom.provenance.leaves import REGISTER, leaf_key
        from assetloom.provenance.registration import row_leaf

        with self.read_session() as s:

            def recompute(rec: LeafRecord) -> bytes | None:
                kind, asset_id = leaf_key(rec.data)
                if kind != REGISTER or asset_id is None:
                    return None
                row = s.get(AssetRow, asset_id)
                return row_leaf(row) if row is not None else None

            return self.ledger().audit(recompute)

    def verify(
        self, paths: Sequence[Path], *, progress: Progress | None = None
    ) -> list[VerifyResult]:
        from assetloom.app.copies import verify_files

        return verify_files(self, paths, progress=progress)

    def duplicates(
        self, *, similar: bool = False, progress: Progress | None = None
    ) -> list[DuplicateGroup]:
        from assetloom.app.copies import find_duplicates

        return find_duplicates(self, similar=similar, progress=progress)


def new_asset_id() -> str:
    return uuid.uuid4().hex


def utcnow() -> datetime:
    return datetime.now(UTC)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
