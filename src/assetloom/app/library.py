"""The application service: one `Library` object that the CLI, API and web UI all call.

A library is a folder (see docs/architecture.md): `catalog.db` (SQLite, WAL), `blobs/`,
`derived/`, `index/` (rebuildable), `keys/` and `assetloom.toml`.
"""

from __future__ import annotations

import functools
import json
import re
import threading
import tomllib
from collections.abc import Callable, Iterable, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from assetloom.app.wiring import CATALOG, THUMBNAIL, build_ports, catalog_url
from assetloom.blobs.base import BlobMissingError, BlobStore
from assetloom.blobs.local import LocalBlobStore, write_atomic
from assetloom.blobs.private import PRIVATE_DIR, private_umask, tighten
from assetloom.core.assets import Asset, MediaType, Segment
from assetloom.core.listing import ListPage, ListQuery
from assetloom.errors import (
    AssetNotFoundError,
    BadInputError,
    LibraryExistsError,
    NotALibraryError,
)
from assetloom.rwlock import ReadWriteLock
from assetloom.settings import Settings, load_settings

PREVIEW_STRIP = "strip.webp"
MAX_PREVIEW_PAGES = 16
PREVIEW_NAME = re.compile(r"strip\.webp|page-[1-9][0-9]{0,3}\.webp")
"""Derived previews a reader may ask for by name; nothing else of `derived/` is served."""

if TYPE_CHECKING:
    from assetloom.app.export import ExportOut
    from assetloom.app.metadata import (
        FieldOut,
        FieldsOut,
        HistoryOut,
        MetaOut,
        MetaPatch,
        RejectedOut,
        UpdatedOut,
    )
    from assetloom.app.results import (
        AddReport,
        CopiesOut,
        DismissOut,
        DuplicateGroup,
        TagOut,
        VerifyResult,
    )
    from assetloom.app.review import ReviewDecisionOut, ReviewQueueOut
    from assetloom.app.search import SearchHit, SearchQuery
    from assetloom.index.base import VectorIndex
    from assetloom.index.fingerprint_index import FingerprintIndex
    from assetloom.models.base import ImageEncoder, TextEncoder
    from assetloom.provenance.ledger_service import AuditResult, InclusionProof, LedgerService
    from assetloom.provenance.log_store import LeafRecord
    from assetloom.store.base import UnitOfWork
    from assetloom.store.jobs import Job
    from assetloom.store.organise import SqlOrganiseStore
    from assetloom.store.studio import SqlStudioStore
    from assetloom.tagging import Tagger

SETTINGS_FILE = "assetloom.toml"
FORMAT_VERSION = 1

Progress = Callable[[int, int], None]
"""progress(done, total): called as files finish; the CLI draws a bar from it."""


class Library:
    """An open library. Cheap to open; heavy parts (index, models) load on first use."""

    def __init__(self, root: Path, settings: Settings) -> None:
        self.root = root
        self.ports = build_ports(root, settings, self.tagger)
        self.catalog = self.ports.catalog
        self._reader: Engine = self.catalog.reader
        self._writer: Engine = self.catalog.writer
        self.read_session: sessionmaker[Session] = self.catalog.read_session
        self.write_session: sessionmaker[Session] = self.catalog.write_session
        self.blobs = self.ports.blobs
        self.derived = self.ports.derived
        self.indexes = self.ports.indexes
        self._tagger: Tagger | None = None
        self._catch_up_lock = threading.Lock()
        self._catalog_version: int | None = None

    @property
    def settings(self) -> Settings:
        return self.ports.settings

    @settings.setter
    def settings(self, value: Settings) -> None:
        """A changed setting (the server's worker count, a new model after `align`) reaches
        every use case: they all read the ports' settings."""
        self.ports.settings = value

    # ----------------------------------------------------------------- lifecycle
    @classmethod
    def create(cls, path: Path, *, catalog: str = "", blobs: str = "") -> Library:
        """A new library in `path`; `catalog` (a PostgreSQL URL) and `blobs` (s3://BUCKET/
        PREFIX) put the catalog and the originals on servers instead of in the folder, which
        then keeps the settings, the signing key and the index cache."""
        path = path.expanduser().absolute()
        if catalog:
            catalog = catalog_url(catalog)
        if blobs and not blobs.startswith("s3://"):
            raise BadInputError(
                f"--blobs {blobs!r} is not an S3 location", hint="use s3://BUCKET/PREFIX"
            )
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
                    + (f"catalog = {json.dumps(catalog)}\n" if catalog else "")
                    + (f"blobs = {json.dumps(blobs)}\n" if blobs else "")
                ).encode(),
            )
            lib = cls(path, load_settings(path))
            if catalog and lib.catalog.revision() is not None:
                lib.close()
                (path / SETTINGS_FILE).unlink()
                raise LibraryExistsError(
                    "that PostgreSQL database already holds an AssetLoom catalog",
                    hint="give each library a database of its own (CREATE DATABASE ...)",
                )
            lib.catalog.migrate()
            lib._on_create()
        return lib

    @classmethod
    def open(cls, path: Path) -> Library:
        path = path.expanduser().absolute()
        not_one = NotALibraryError(
            f"{path} is not an AssetLoom library", hint=f"create one with: assetloom init {path}"
        )
        if not (path / SETTINGS_FILE).is_file():
            raise not_one
        try:
            stored = tomllib.loads((path / SETTINGS_FILE).read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise NotALibraryError(f"{path / SETTINGS_FILE} is not valid TOML: {exc}") from exc
        if not stored.get("catalog") and not (path / CATALOG).is_file():
            raise not_one
        tighten(path)
        lib = cls(path, load_settings(path))
        lib.catalog.migrate()
        return lib

    def close(self) -> None:
        self._catalog_version = None
        self.catalog.close()

    def __enter__(self) -> Library:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _on_create(self) -> None:
        """Hook for components that need set-up at `init` (the ledger key, the C2PA chain)."""
        from assetloom.provenance import credentials
        from assetloom.provenance.registration import on_library_created

        on_library_created(self.root / "keys", self.settings.ledger_origin)
        credentials.create(self.root / "keys", self.settings.ledger_origin)

    # ----------------------------------------------------------------- reading
    def count(self, query: ListQuery | None = None) -> int:
        """How many assets pass the query's filters (its cursor and paging aside)."""
        return self.catalog.count(query)

    def list(self, query: ListQuery | None = None) -> ListPage:
        """One page of assets, oldest (or newest) first, and the cursor of the next page."""
        return self.catalog.list(query)

    def get(self, asset_id: str) -> Asset:
        """An asset by its id or a unique prefix of it."""
        return self.catalog.get(asset_id)

    @functools.cached_property
    def studio(self) -> SqlStudioStore:
        """The studio's projects, creations and lineage edges."""
        from assetloom.store.studio import SqlStudioStore

        return SqlStudioStore(self.catalog.read_session)

    @functools.cached_property
    def organise(self) -> SqlOrganiseStore:
        """Collections, share links and the trash (app/collections.py, shares.py, trash.py)."""
        from assetloom.store.organise import SqlOrganiseStore

        return SqlOrganiseStore(
            self.catalog.read_session, self.catalog.write_session, self.catalog.label
        )

    def get_for(self, asset_id: str, *, reviewer: bool) -> Asset:
        """An asset as a reader of the server may see it: a quarantined one (moderation) is
        not found unless the reader reviews (an admin), as lists and searches hide it; one
        in the trash is not found by anyone (the trash page lists it; restore brings it back)."""
        asset = self.catalog.get(asset_id)
        if self.organise.trashed_at(asset.asset_id) is not None:
            raise AssetNotFoundError(
                f"no asset {asset_id!r}", hint="it is in the trash: `assetloom trash restore`"
            )
        if not reviewer and self.catalog.review_state(asset.asset_id) == "quarantined":
            raise AssetNotFoundError(
                f"no asset {asset_id!r}", hint="it may be awaiting review by an admin"
            )
        return asset

    def passages(self, asset_id: str) -> list[Segment]:
        """The text found inside an asset (transcript, pages, OCR), in order."""
        return self.catalog.passages_of([asset_id]).get(asset_id, [])

    def get_many(self, asset_ids: Iterable[str], *, fingerprints: bool = False) -> dict[str, Asset]:
        """Assets by id; fingerprints only when asked (search results never show them)."""
        return self.catalog.get_many(asset_ids, fingerprints=fingerprints)

    def blob_location(self, asset: Asset) -> str:
        """Where the original is: a file path, or an s3:// URL."""
        return self.blobs.location(asset.sha256)

    def thumbnail_key(self, asset: Asset) -> str | None:
        """The derived store's key of the asset's thumbnail, if it has one."""
        key = f"{asset.sha256}/{THUMBNAIL}"
        return key if self.derived.exists(key) else None

    def original_download(self, asset: Asset, *, expires_s: int) -> Download:
        """How a client gets the original: a presigned link from an object store, or the
        local file the server streams (with Range)."""
        return _download(self.blobs, asset.sha256, expires_s, asset.original_name, asset.mime)

    def thumbnail_download(self, asset: Asset, *, expires_s: int) -> Download | None:
        key = self.thumbnail_key(asset)
        if key is None:
            return None
        return _download(self.derived, key, expires_s, None, "image/webp")

    def previews(self, asset: Asset) -> list[str]:
        """Names of the asset's derived previews beyond its thumbnail (a video's strip, a
        document's pages), in page order."""
        if asset.media_type is MediaType.VIDEO:
            names = [PREVIEW_STRIP]
        elif asset.media_type is MediaType.DOCUMENT:
            names = [f"page-{n}.webp" for n in range(1, MAX_PREVIEW_PAGES + 1)]
        else:  # images, audio, text keep only a thumbnail: no store round trips for them
            return []
        return [n for n in names if self.derived.exists(f"{asset.sha256}/{n}")]

    def preview_download(self, asset: Asset, name: str, *, expires_s: int) -> Download | None:
        """A derived preview by name (`previews`); None when the asset has none of that name."""
        if not PREVIEW_NAME.fullmatch(name):
            return None
        key = f"{asset.sha256}/{name}"
        if not self.derived.exists(key):
            return None
        return _download(self.derived, key, expires_s, None, "image/webp")

    def thumbnail_location(self, asset: Asset) -> str | None:
        key = self.thumbnail_key(asset)
        return self.derived.location(key) if key else None

    # ----------------------------------------------------------------- writing
    def add(
        self,
        paths: Sequence[Path],
        *,
        recursive: bool = False,
        progress: Progress | None = None,
        sources: dict[Path, str] | None = None,
        ids: Mapping[Path, str] | None = None,
        on_commit: Callable[[UnitOfWork, list[Asset]], None] | None = None,
    ) -> AddReport:
        """Register files and folders. Each new asset's `source_path` is the file's path, and
        (path, size, mtime) is remembered so a re-run skips unchanged files without reading
        them.

        `sources` names where some files really came from when their path means nothing
        later, as for uploads staged in a temporary folder: it maps a file (as given in
        `paths`) to a label such as "upload by alice: beach.jpg". A labelled file's asset
        records the label as its `source_path`, and the path is not remembered.

        `ids`: asset ids chosen beforehand for some files (the studio watermarks an output
        with its id before it is stored). `on_commit(uow, added)` runs inside each batch's
        transaction, so rows about the new assets (lineage, recipes) commit with them.
        """
        from assetloom.app.ingest import Ingestor

        return Ingestor(self.ports).run(
            paths,
            recursive=recursive,
            progress=progress,
            sources=sources,
            ids=ids,
            on_commit=on_commit,
        )

    def embed_missing(self, progress: Progress | None = None) -> int:
        from assetloom.app.ingest import embed_missing

        models = {self.image_encoder().name, self.text_encoder().name}
        return embed_missing(self.ports, models, progress)

    def remove(self, asset_id: str) -> Asset:
        """Delete an asset; its blob and derived files go once no asset uses them."""
        from assetloom.provenance.registration import on_asset_removed

        with self.catalog.unit_of_work() as uow:
            _, removed = uow.remove_asset(asset_id)
            on_asset_removed(uow.session, removed.asset)
        asset = removed.asset
        if not removed.blob_still_used:
            self.blobs.delete(asset.sha256)
            self.derived.delete_prefix(f"{asset.sha256}/")
        with self.index_lock.writing():
            self.fingerprint_index().remove_rows(removed.fingerprint_rows)
            if removed.vector_rows:
                self.vector_spaces().remove_rows(removed.vector_rows)
        self.indexes.changed()
        return asset

    def review_queue(self) -> ReviewQueueOut:
        """Assets moderation flagged or quarantined, awaiting an admin, oldest first."""
        from assetloom.app.review import review_queue

        return review_queue(self.catalog)

    def approve(self, asset_id: str) -> ReviewDecisionOut:
        """Approve a flagged or quarantined asset: visible, out of the review queue."""
        from assetloom.app.review import approve

        return approve(self.catalog, asset_id)

    def reject(self, asset_id: str) -> ReviewDecisionOut:
        """Reject a flagged or quarantined asset: removed as `remove` does."""
        from assetloom.app.review import reject

        return reject(self.catalog, asset_id, self.remove)

    # ----------------------------------------------------------------- metadata
    def metadata(self, asset_ids: Sequence[str]) -> list[MetaOut]:
        """The editable metadata of assets (ids or unique prefixes), in the order given."""
        from assetloom.app.metadata import metadata

        return metadata(self, asset_ids)

    def set_metadata(
        self, asset_ids: Sequence[str], patch: MetaPatch | Mapping[str, Any], *, actor: str
    ) -> UpdatedOut:
        """Apply one edit to up to 10,000 assets in one transaction, each change versioned."""
        from assetloom.app.metadata import set_metadata

        return set_metadata(self, asset_ids, patch, actor)

    def metadata_history(self, asset_id: str) -> HistoryOut:
        from assetloom.app.metadata import history

        return history(self, asset_id)

    def metadata_fields(self) -> FieldsOut:
        from assetloom.app.metadata import fields

        return fields(self)

    def define_metadata_field(
        self, name: str, kind: str, choices: Sequence[str], label: str, *, actor: str
    ) -> FieldOut:
        from assetloom.app.metadata import define_field

        return define_field(self, name, kind, choices, label, actor)

    def change_tags(
        self,
        asset_ids: Sequence[str],
        *,
        add: Sequence[str] = (),
        remove: Sequence[str] = (),
        actor: str,
    ) -> UpdatedOut:
        """Tags by hand on many assets, one transaction."""
        from assetloom.app.metadata import change_tags

        return change_tags(self, asset_ids, add, remove, actor)

    def reject_tag(self, asset_id: str, tag: str, *, actor: str) -> RejectedOut:
        """Take an auto-tag off an asset for good (the tagger never puts it back there)."""
        from assetloom.app.metadata import reject_tag

        return reject_tag(self, asset_id, tag, actor)

    def filter_tags(self, labels: Sequence[str]) -> list[str]:
        """Tag keys for labels (key, en or zh name); UnknownTagError suggests close ones."""
        if not labels:
            return []  # `list` without --tag imports no tagging (tests/test_cli_startup.py)
        from assetloom.app.metadata import filter_tags

        return filter_tags(self, labels)

    def export(self, asset_ids: Sequence[str], to_dir: Path) -> ExportOut:
        """Copies of the originals with their edited metadata as XMP (a sidecar `.xmp` where
        the format cannot hold it); the stored originals are never touched."""
        from assetloom.app.export import export_assets

        return export_assets(self, asset_ids, to_dir)

    def ingesting(self) -> AbstractContextManager[Job]:
        """Around one `add`: sweeps what dead runs left, never what a live one is writing."""
        return self.ports.guard.ingesting()

    def sweep_pending(self, *, include_own: bool = True) -> int:
        """Remove blobs left by runs that died between writing a blob and committing its row."""
        return self.ports.guard.sweep(include_own=include_own)

    # ----------------------------------------------------------------- indexes
    @property
    def index_lock(self) -> ReadWriteLock:
        """Held for writing while the in-memory indexes change; threads that search (the
        server's) hold it for reading."""
        return self.indexes.lock

    def fingerprint_index(self) -> FingerprintIndex:
        return self.indexes.fingerprints()

    def index_sizes(self) -> dict[str, int]:
        """Entries per index ("fingerprints/pdq", "vectors/visual", ...), for metrics."""
        with self.index_lock.reading():
            return {
                f"{group}/{key}": n
                for group, index in (
                    ("fingerprints", self.fingerprint_index()),
                    ("vectors", self.vector_spaces()),
                )
                for key, n in index.sizes().items()
            }

    def vector_spaces(self) -> VectorIndex:
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
            if version is not None and version == self._catalog_version:
                return {}  # no other connection committed (None: cannot tell, so look)
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

        current = user_definitions(self.catalog)
        if current == [d for d in tagger.definitions if not d.builtin]:
            return {}
        self.reset_tagger()
        return {"tagger": len(current)}

    def _data_version(self) -> int | None:
        return self.catalog.change_token()

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

            definitions = load_builtin_definitions() + user_definitions(self.catalog)
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

        with self.index_lock.reading():
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
        from assetloom.provenance.leaves import register_leaf_for

        asset = self.catalog.get(asset_id)
        return self.ledger().proof(asset.asset_id, catalog_leaf=register_leaf_for(asset))

    def audit_ledger(self) -> AuditResult:
        """Recompute every registration leaf from the catalog and the root from the leaves."""
        from assetloom.provenance.leaves import REGISTER, leaf_key, register_leaf_for

        with self.catalog.asset_lookup() as asset_of:

            def recompute(rec: LeafRecord) -> bytes | None:
                kind, asset_id = leaf_key(rec.data)
                if kind != REGISTER or asset_id is None:
                    return None
                asset = asset_of(asset_id)
                return register_leaf_for(asset) if asset is not None else None

            return self.ledger().audit(recompute)

    def verify(
        self, paths: Sequence[Path], *, progress: Progress | None = None
    ) -> list[VerifyResult]:
        from assetloom.app.copies import verify_files

        with self.index_lock.reading():
            return verify_files(self, paths, progress=progress)

    def duplicates(
        self, *, similar: bool = False, progress: Progress | None = None
    ) -> list[DuplicateGroup]:
        from assetloom.app.duplicates import find_duplicates

        with self.index_lock.reading():
            return find_duplicates(self, similar=similar, progress=progress)

    def dismiss_duplicates(
        self, asset_ids: Sequence[str], *, by: str, undo: bool = False
    ) -> DismissOut:
        """Remember (`undo`: forget) that these assets are not duplicates of each other."""
        from assetloom.app.duplicates import dismiss

        return dismiss(self, asset_ids, by=by, undo=undo)

    def copies(self, asset_id: str) -> CopiesOut:
        """Copies and look-alikes of one asset (id or unique prefix), as verify sees them."""
        from assetloom.app.copies import copies_result

        with self.index_lock.reading():
            return copies_result(self, asset_id)

    def tags_of(self, asset_id: str) -> tuple[str, list[dict[str, Any]]]:
        """(full id, the asset's tags with scores) for an id or unique prefix."""
        from assetloom.app.tags import tags_of

        full_id = self.get(asset_id).asset_id
        with self.index_lock.reading():  # the tagger may be changing (a tag being defined)
            return full_id, tags_of(self, full_id)

    def list_tags(self, *, used: bool = False) -> list[TagOut]:
        """The vocabulary with asset counts (`used`: only tags some asset has)."""
        from assetloom.app.tags import list_tags

        with self.index_lock.reading():
            return [t for t in list_tags(self) if t.assets or not used]

    def define_tag(
        self,
        key: str,
        name_en: str,
        name_zh: str,
        examples: list[str],
        threshold: float | None,
    ) -> int:
        """Store a tag and apply it to every image; how many it tagged. Searches wait: the
        tagger and the tags change together."""
        from assetloom.app.tags import define_tag

        with self.index_lock.writing():
            return define_tag(self, key, name_en, name_zh, examples, threshold)


@dataclass(frozen=True, slots=True)
class Download:
    """Exactly one of `url` (a presigned link) and `path` (a local file) is set."""

    url: str | None = None
    path: Path | None = None


def _download(
    store: BlobStore, key: str, expires_s: int, filename: str | None, mime: str
) -> Download:
    url = store.url(key, expires_s=expires_s, filename=filename, mime=mime)
    if url is not None:
        return Download(url=url)
    assert isinstance(store, LocalBlobStore)
    path = store.path_for(key)
    if not path.is_file():
        raise BlobMissingError(
            f"the file of {key} is missing from {store.describe()}",
            hint="restore the library folder from a backup, or remove the asset",
        )
    return Download(path=path)
