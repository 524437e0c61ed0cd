"""`add` as data flows: discover -> prepare in worker processes -> commit in batches, through
the ports of `app.wiring` alone.

Crash safety: a batch first records its new hashes in `pending_blobs` (committed), then
writes blobs and thumbnails, then commits asset rows, fingerprints and ledger leaves in one
transaction that also clears the pending rows. A run killed anywhere leaves either nothing,
or blobs listed as pending that the next run sweeps (if no asset claimed them) - never an
asset row without its blob, and never a blob nobody can find.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

from assetloom.app.results import AddReport, FileOutcome, SkippedFile
from assetloom.app.understanding import record_understanding
from assetloom.app.wiring import THUMBNAIL, Ports
from assetloom.blobs.files import local_files
from assetloom.core.assets import Asset
from assetloom.errors import AssetLoomError
from assetloom.ingest.discover import discover
from assetloom.ingest.paths import display_path
from assetloom.ingest.pipeline import parallel_prepare
from assetloom.ingest.prepare import prepare_files
from assetloom.ingest.records import Options, Prepared, Skipped
from assetloom.provenance.registration import on_assets_registered
from assetloom.store.base import SeenFile, UnitOfWork

BATCH = 64
"""Files per catalog transaction."""

Progress = Callable[[int, int], None]
OnCommit = Callable[[UnitOfWork, list[Asset]], None]


def new_asset_id() -> str:
    return uuid.uuid4().hex


def utcnow() -> datetime:
    return datetime.now(UTC)


class Ingestor:
    def __init__(self, ports: Ports) -> None:
        self.ports = ports
        self.opts = Options.from_settings(ports.settings)
        self.executor = ports.executor()
        self.job_id: int | None = None
        self.ids: dict[str, str] = {}
        self.on_commit: OnCommit | None = None

    def run(
        self,
        paths: Sequence[Path],
        *,
        recursive: bool,
        progress: Progress | None = None,
        sources: Mapping[Path, str] | None = None,
        ids: Mapping[Path, str] | None = None,
        on_commit: OnCommit | None = None,
    ) -> AddReport:
        """`sources`: labels for files whose path is not where they came from (uploads in a
        temporary folder); `ids`, `on_commit`: see `Library.add`."""
        labels = {str(Path(p).absolute()): label for p, label in (sources or {}).items()}
        self.ids = {str(Path(p).absolute()): i for p, i in (ids or {}).items()}
        self.on_commit = on_commit
        with self.ports.guard.ingesting() as job:
            self.job_id = job.id
            return self._run(paths, recursive=recursive, progress=progress, labels=labels)

    def _run(
        self,
        paths: Sequence[Path],
        *,
        recursive: bool,
        progress: Progress | None,
        labels: dict[str, str],
    ) -> AddReport:
        report = AddReport()
        files: list[Path] = []
        for item in discover(list(paths), recursive=recursive):
            if isinstance(item, Skipped):
                report.skipped.append(SkippedFile(item.path, item.reason))
            else:
                files.append(item.absolute())
        total = len(files) + len(report.skipped)
        known = self._unchanged_known([f for f in files if str(f) not in labels])
        todo = []
        for f in files:
            asset_id = known.get(display_path(f))
            if asset_id:
                report.present.append(FileOutcome(display_path(f), asset_id))
            else:
                todo.append(f)
        done = total - len(todo)
        if progress:
            progress(done, total)
        batch: list[Prepared] = []
        for result in self._prepare_all(todo):
            if isinstance(result, Skipped):
                report.skipped.append(SkippedFile(result.path, result.reason))
            else:
                batch.append(result)
            if len(batch) >= BATCH:
                self._commit(batch, report, labels)
                batch = []
            done += 1
            if progress:
                progress(done, total)
        if batch:
            self._commit(batch, report, labels)
        self.ports.indexes.changed()
        return report

    # ------------------------------------------------------------------ preparing
    def _prepare_all(self, files: list[Path]) -> Iterator[Prepared | Skipped]:
        yield from parallel_prepare(prepare_files, files, self.opts, self.executor)

    def _unchanged_known(self, files: list[Path]) -> dict[str, str]:
        """Files whose (path, size, mtime) match a registered asset: no need to read them."""
        stats: dict[str, tuple[int, int]] = {}
        for f in files:
            try:
                st = f.stat()
            except OSError:
                continue
            stats[display_path(f)] = (st.st_size, st.st_mtime_ns)
        return self.ports.catalog.unchanged_files(stats) if stats else {}

    # ------------------------------------------------------------------ committing
    def _commit(self, batch: list[Prepared], report: AddReport, labels: dict[str, str]) -> None:
        ports = self.ports
        with ports.catalog.unit_of_work() as uow:
            existing = uow.registered(r.sha256 for r in batch)
            new: dict[str, Prepared] = {}
            for rec in batch:
                if rec.sha256 not in existing and rec.sha256 not in new:
                    new[rec.sha256] = rec
            uow.mark_pending(new, os.getpid(), utcnow(), job_id=self.job_id)
        stored = self._store_blobs(new, report)
        with ports.catalog.unit_of_work() as uow:
            # Re-check under the write lock: another process may have added the same files.
            existing = uow.registered(r.sha256 for r in batch)
            owners = uow.pending_jobs(sha for sha in stored if sha not in existing)
            stored = self._store_swept(stored, owners, existing, report)
            pairs: list[tuple[Asset, Prepared]] = []
            for sha, rec in stored.items():
                if sha in existing:
                    continue
                asset_id = self.ids.get(rec.path) or new_asset_id()
                asset = _asset_of(rec, asset_id, utcnow(), labels.get(rec.path))
                pairs.append((asset, rec))
                existing[sha] = asset.asset_id
            added = [asset for asset, _ in pairs]
            fingerprints = uow.add_assets((a, rec.thumbnail is not None) for a, rec in pairs)
            vectors = record_understanding(ports.tagger, uow, pairs, new=True)
            on_assets_registered(uow.session, added)
            if self.on_commit is not None and added:
                self.on_commit(uow, added)
            uow.clear_pending(new)
            # A labelled file's path is a staging copy: remembering it would only add a row
            # that no later run can match.
            uow.remember_seen(
                SeenFile(display_path(r.path), r.size, r.mtime_ns, r.sha256)
                for r in batch
                if r.sha256 in existing and r.path not in labels
            )
        added_ids = {a.asset_id for a in added}
        for rec in batch:
            asset_id = existing.get(rec.sha256)
            if asset_id is None:
                continue  # skipped above with its reason
            outcome = FileOutcome(display_path(rec.path), asset_id)
            if asset_id in added_ids:
                added_ids.discard(asset_id)
                report.added.append(outcome)
            else:
                report.present.append(outcome)
        with ports.indexes.lock.writing():
            ports.indexes.fingerprints().add_rows(fingerprints)
            if vectors:
                ports.indexes.vectors().add_rows(vectors)

    def _store_swept(
        self,
        stored: dict[str, Prepared],
        owners: dict[str, int | None],
        existing: dict[str, str],
        report: AddReport,
    ) -> dict[str, Prepared]:
        """Blobs this job stored whose pending row (one per hash) no longer names it may be
        gone: another add took the row over and died, or a sweep's stale read dropped it,
        and a sweep removed the blob. Called under the write lock, where no sweep runs: they
        are stored again (a put of an original that is there is a no-op) before a row claims
        them. `owners`: the job each pending row names now."""
        doubtful = {s for s in stored if s not in existing and owners.get(s, -1) != self.job_id}
        kept = {
            sha: rec
            for sha, rec in stored.items()
            if sha not in doubtful or self._put(sha, rec, report, again=True)
        }
        if doubtful:
            self.ports.blobs.sync()
            self.ports.derived.sync()
        return kept

    def _store_blobs(self, new: dict[str, Prepared], report: AddReport) -> dict[str, Prepared]:
        """Originals and thumbnails of the new files, synced before any row claims them."""
        stored = {sha: rec for sha, rec in new.items() if self._put(sha, rec, report)}
        if stored:
            self.ports.blobs.sync()
            self.ports.derived.sync()
        return stored

    def _put(self, sha: str, rec: Prepared, report: AddReport, *, again: bool = False) -> bool:
        """Store the file's original, thumbnail and other derived files (`again`: derived
        files only if missing); False, with the file in the report's skipped, when the store
        refuses."""
        ports = self.ports
        derived = {THUMBNAIL: rec.thumbnail, **rec.derived} if rec.thumbnail else rec.derived
        try:
            ports.blobs.put_file(sha, Path(rec.path), sha256=sha, durable=False)
            for name, data in derived.items():
                key = f"{sha}/{name}"
                if not (again and ports.derived.exists(key)):
                    ports.derived.put_bytes(key, data, durable=False)
        except AssetLoomError as exc:
            report.skipped.append(SkippedFile(display_path(rec.path), str(exc)))
            return False
        except OSError as exc:
            report.skipped.append(
                SkippedFile(display_path(rec.path), f"cannot store: {exc.strerror or exc}")
            )
            return False
        return True


def embed_missing(ports: Ports, models: set[str], progress: Progress | None = None) -> int:
    """Embed and tag assets without vectors from the active `models` (after switching
    models or turning understanding on); old vectors and zero-shot tags are replaced."""
    todo = ports.catalog.assets_lacking_vectors(models)
    opts = replace(Options.from_settings(ports.settings), embed=True)
    executor = ports.executor()
    done = 0
    for start in range(0, len(todo), BATCH):
        part = todo[start : start + BATCH]
        with local_files(ports.blobs, [sha for _, sha in part]) as files:
            by_blob = {str(files[sha]): asset_id for asset_id, sha in part if sha in files}
            paths = [files[sha] for _, sha in part if sha in files]
            prepared = [
                r
                for r in parallel_prepare(prepare_files, paths, opts, executor)
                if isinstance(r, Prepared)
            ]
        with ports.catalog.unit_of_work() as uow:
            assets = uow.replace_understanding([by_blob[r.path] for r in prepared])
            record_understanding(
                ports.tagger, uow, [(assets[by_blob[r.path]], r) for r in prepared], new=False
            )
        done += len(part)
        if progress:
            progress(done, len(todo))
    if todo:
        from assetloom.app.metadata import embed_edited

        embed_edited(ports, [asset_id for asset_id, _ in todo])  # what people wrote, too
        with ports.indexes.lock.writing():
            ports.indexes.vectors().rebuild()
    return len(todo)


def _asset_of(rec: Prepared, asset_id: str, now: datetime, source: str | None) -> Asset:
    path = Path(rec.path)
    return Asset(
        asset_id=asset_id,
        sha256=rec.sha256,
        media_type=rec.media_type,
        mime=rec.mime,
        size=rec.size,
        original_name=display_path(path.name),
        registered_at=now,
        width=rec.width,
        height=rec.height,
        metadata=rec.metadata,
        fingerprints=list(rec.fingerprints),
        source=display_path(path) if source is None else source,
    )
