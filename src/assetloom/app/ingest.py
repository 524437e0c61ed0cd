"""`add` as data flows: discover -> prepare in worker processes -> commit in batches.

Crash safety: a batch first records its new hashes in `pending_blobs` (committed), then
writes blobs and thumbnails, then commits asset rows, fingerprints and ledger leaves in one
transaction that also clears the pending rows. A run killed anywhere leaves either nothing,
or blobs listed as pending that the next run sweeps (if no asset claimed them) - never an
asset row without its blob, and never a blob nobody can find.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import delete, select
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from assetloom.app.results import AddReport, FileOutcome, SkippedFile
from assetloom.app.understanding import record_understanding
from assetloom.blobs.local import sync_all, write_atomic
from assetloom.errors import AssetLoomError
from assetloom.ingest.discover import discover
from assetloom.ingest.paths import display_path
from assetloom.ingest.pipeline import parallel_prepare
from assetloom.ingest.prepare import Options, Prepared, Skipped, prepare_files
from assetloom.provenance.registration import on_assets_registered
from assetloom.store.schema import AssetRow, FingerprintRow, PendingBlobRow, SeenFileRow
from assetloom.store.search_tables import EmbeddingRow, TagRow

if TYPE_CHECKING:
    from assetloom.app.library import Library, Progress

BATCH = 64
"""Files per catalog transaction."""


class Ingestor:
    def __init__(self, lib: Library) -> None:
        self.lib = lib
        s = lib.settings
        self.opts = Options.from_settings(s)
        self.workers = s.worker_count

    def run(
        self,
        paths: Sequence[Path],
        *,
        recursive: bool,
        progress: Progress | None = None,
        sources: Mapping[Path, str] | None = None,
    ) -> AddReport:
        """`sources`: labels for files whose path is not where they came from (uploads in a
        temporary folder); see `Library.add`."""
        labels = {str(Path(p).absolute()): label for p, label in (sources or {}).items()}
        with self.lib.ingesting():
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
        self.lib.indexes.changed()
        return report

    # ------------------------------------------------------------------ preparing
    def _prepare_all(self, files: list[Path]) -> Iterator[Prepared | Skipped]:
        yield from parallel_prepare(prepare_files, files, self.opts, self.workers)

    def _unchanged_known(self, files: list[Path]) -> dict[str, str]:
        """Files whose (path, size, mtime) match a registered asset: no need to read them."""
        if not files:
            return {}
        stats: dict[str, tuple[int, int]] = {}
        for f in files:
            try:
                st = f.stat()
            except OSError:
                continue
            stats[display_path(f)] = (st.st_size, st.st_mtime_ns)
        out: dict[str, str] = {}
        names = list(stats)
        with self.lib.read_session() as s:
            for i in range(0, len(names), 500):
                rows = s.execute(
                    select(SeenFileRow, AssetRow.asset_id)
                    .join(AssetRow, AssetRow.sha256 == SeenFileRow.sha256)
                    .where(SeenFileRow.path.in_(names[i : i + 500]))
                ).all()
                for seen, asset_id in rows:
                    if stats.get(seen.path) == (seen.size, seen.mtime_ns):
                        out[seen.path] = asset_id
        return out

    # ------------------------------------------------------------------ committing
    def _commit(self, batch: list[Prepared], report: AddReport, labels: dict[str, str]) -> None:
        from assetloom.app.library import new_asset_id, utcnow

        lib = self.lib
        with lib.write_session() as s, s.begin():
            existing = _registered(s, {r.sha256 for r in batch})
            new: dict[str, Prepared] = {}
            for rec in batch:
                if rec.sha256 in existing or rec.sha256 in new:
                    continue
                new[rec.sha256] = rec
            now = utcnow()
            for sha in new:
                s.merge(PendingBlobRow(sha256=sha, owner_pid=os.getpid(), created_at=now))
        stored: dict[str, Prepared] = {}
        for sha, rec in new.items():
            try:
                lib.blobs.put_file(sha, Path(rec.path), sha256=sha, durable=False)
                if rec.thumbnail:
                    write_atomic(lib.derived_dir(sha) / "thumb.webp", rec.thumbnail, durable=False)
            except AssetLoomError as exc:
                report.skipped.append(SkippedFile(display_path(rec.path), str(exc)))
                continue
            except OSError as exc:
                report.skipped.append(
                    SkippedFile(display_path(rec.path), f"cannot store: {exc.strerror or exc}")
                )
                continue
            stored[sha] = rec
        if stored:
            sync_all()  # blobs are on disk before any row claims them
        new_fps: list[FingerprintRow] = []
        with lib.write_session() as s, s.begin():
            # Re-check under the write lock: another process may have added the same files.
            existing = _registered(s, {r.sha256 for r in batch})
            rows = []
            pairs = []
            for sha, rec in stored.items():
                if sha in existing:
                    continue
                row = _asset_row(rec, new_asset_id(), utcnow(), labels.get(rec.path))
                s.add(row)
                rows.append(row)
                pairs.append((row, rec))
                existing[sha] = row.asset_id
                new_fps.extend(row.fingerprints)
            s.flush()
            new_vectors = record_understanding(lib, s, pairs)
            on_assets_registered(s, rows)
            if new:
                s.execute(delete(PendingBlobRow).where(PendingBlobRow.sha256.in_(list(new))))
            # A labelled file's path is a staging copy: remembering it would only add a row
            # that no later run can match.
            _remember_seen(s, [r for r in batch if r.sha256 in existing and r.path not in labels])
        added_ids = {r.asset_id for r in rows}
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
        with lib.index_lock.writing():
            lib.fingerprint_index().add_rows((f.id, f.kind, f.value) for f in new_fps)
            if new_vectors:
                lib.vector_spaces().add_rows((e.id, e.space, e.vector) for e in new_vectors)


def embed_missing(lib: Library, progress: Progress | None = None) -> int:
    """Embed and tag assets without vectors from the active model (after switching models
    or turning understanding on); old vectors and zero-shot tags are replaced."""
    models = {lib.image_encoder().name, lib.text_encoder().name}
    with lib.read_session() as s:
        has_current = select(EmbeddingRow.asset_id).where(EmbeddingRow.model.in_(models))
        todo = s.execute(
            select(AssetRow.asset_id, AssetRow.sha256).where(AssetRow.asset_id.not_in(has_current))
        ).all()
    opts = replace(Options.from_settings(lib.settings), embed=True)
    workers = lib.settings.worker_count
    blobs = [lib.blobs.path_for(sha) for _, sha in todo]
    by_blob = {str(path): asset_id for path, (asset_id, _) in zip(blobs, todo, strict=True)}
    done = 0
    for start in range(0, len(blobs), BATCH):
        part = blobs[start : start + BATCH]
        prepared = [
            r
            for r in parallel_prepare(prepare_files, part, opts, workers)
            if isinstance(r, Prepared)
        ]
        with lib.write_session() as s, s.begin():
            ids = [by_blob[r.path] for r in prepared]
            s.execute(delete(EmbeddingRow).where(EmbeddingRow.asset_id.in_(ids)))
            s.execute(delete(TagRow).where(TagRow.asset_id.in_(ids), TagRow.source == "zero-shot"))
            rows = {
                r.asset_id: r for r in s.scalars(select(AssetRow).where(AssetRow.asset_id.in_(ids)))
            }
            record_understanding(lib, s, [(rows[by_blob[r.path]], r) for r in prepared])
        done += len(part)
        if progress:
            progress(done, len(blobs))
    if todo:
        with lib.index_lock.writing():
            lib.vector_spaces().rebuild()
    return len(todo)


def _registered(s: Session, shas: set[str]) -> dict[str, str]:
    if not shas:
        return {}
    rows = s.execute(
        select(AssetRow.sha256, AssetRow.asset_id).where(AssetRow.sha256.in_(list(shas)))
    ).all()
    return {sha: asset_id for sha, asset_id in rows}


def _asset_row(rec: Prepared, asset_id: str, now: object, source: str | None) -> AssetRow:
    path = Path(rec.path)
    return AssetRow(
        asset_id=asset_id,
        sha256=rec.sha256,
        media_type=rec.media_type.value,
        mime=rec.mime,
        size=rec.size,
        original_name=display_path(path.name),
        source_path=display_path(path) if source is None else source,
        width=rec.width,
        height=rec.height,
        metadata_json=rec.metadata,
        has_thumbnail=rec.thumbnail is not None,
        registered_at=now,
        fingerprints=[
            FingerprintRow(kind=f.kind, value=f.value, quality=f.quality) for f in rec.fingerprints
        ],
    )


def _remember_seen(s: Session, records: list[Prepared]) -> None:
    if not records:
        return
    values = [
        {
            "path": display_path(r.path),
            "size": r.size,
            "mtime_ns": r.mtime_ns,
            "sha256": r.sha256,
        }
        for r in records
    ]
    stmt = sqlite_insert(SeenFileRow).values(values)
    stmt = stmt.on_conflict_do_update(
        index_elements=[SeenFileRow.path],
        set_={
            "size": stmt.excluded.size,
            "mtime_ns": stmt.excluded.mtime_ns,
            "sha256": stmt.excluded.sha256,
        },
    )
    s.execute(stmt)
