"""`assetloom migrate`: move an embedded library onto servers (a PostgreSQL + pgvector catalog,
an S3 blob store, or both).

The embedded library stays the truth, and keeps working, until the very last step; every
step before it can fail, or be killed, and a re-run picks up from what is already there:

1. Refuse before writing anything: a part already on servers, blobs whose add never finished
   (`pending_blobs`), a password in the URL, an unreachable bucket, a database that holds a
   catalog of something else.
2. Files, outside any lock (the long part): each original with `put_file(sha256=...)` and each
   derived file; keys the store already holds are skipped, so a re-run resumes.
3. Under the library's write lock (no add, rm or tag change commits from here on): files of
   assets added meanwhile, then the whole catalog in one PostgreSQL transaction: every table's
   rows with their ids, sequences moved past them, keyword rows re-tokenised for PostgreSQL.
4. The copy is checked: `ledger audit` on it passes with the tree size and root of the source,
   the asset counts agree, every original is in the bucket.
5. The switch: assetloom.toml gains `catalog` / `blobs` (written atomically), catalog.db is
   renamed catalog.db.migrated; blobs/ and derived/ stay on disk for the user to delete.

Resuming on the database side: right after making the schema, migrate claims a `jobs` row
(kind "migrate", key "migrate:<ledger origin>") in the target, and marks it done after the
switch. A later run that finds its own unfinished row there empties the copied tables and
copies again, in one transaction (the embedded library may have changed in between, and the
copy must be of what it is now). Refused: a database that holds a catalog without that row
(someone else's), and one whose row is done (the library lives there now: this folder is a
copy or a backup of it, whose catalog.db must not overwrite what was done since).
"""

from __future__ import annotations

import logging
import os
import re
import sqlite3
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy.exc import DBAPIError, OperationalError

from assetloom.app.library import CATALOG, SETTINGS_FILE, Library, Progress
from assetloom.app.wiring import catalog_url
from assetloom.blobs.base import BlobMissingError, BlobStore
from assetloom.blobs.local import write_atomic
from assetloom.errors import AssetLoomError, BadInputError, IntegrityError
from assetloom.settings import load_settings
from assetloom.store import copy
from assetloom.store.catalog import SqlCatalog
from assetloom.store.jobs import DONE, SqlJobQueue

_log = logging.getLogger("assetloom.migrate")

MIGRATED = f"{CATALOG}.migrated"
JOB_KIND = "migrate"

Log = Callable[[str], None]


class MigrationError(AssetLoomError):
    """`migrate` refused, or stopped before the switch: the library is still embedded."""

    code = "migrate_refused"


class AlreadyOnServersError(MigrationError):
    code = "already_on_servers"


class TargetHoldsCatalogError(MigrationError):
    code = "target_not_empty"


class PendingBlobsError(MigrationError):
    code = "pending_blobs"


class CopyMismatchError(IntegrityError):
    """The copy on the servers does not check out: nothing was switched."""

    code = "migrate_mismatch"


@dataclass(slots=True)
class MigrationReport:
    """What `migrate --json` prints."""

    library: str
    catalog: str
    blobs: str
    assets: int
    blobs_copied: int = 0
    blobs_skipped: int = 0
    """Originals already in the store (put by an earlier, interrupted run)."""
    derived_copied: int = 0
    derived_skipped: int = 0
    tree_size: int = 0
    root_hash: str = ""
    kept: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "library": self.library,
            "catalog": self.catalog,
            "blobs": self.blobs,
            "assets": self.assets,
            "blobs_copied": self.blobs_copied,
            "blobs_skipped": self.blobs_skipped,
            "derived_copied": self.derived_copied,
            "derived_skipped": self.derived_skipped,
            "ledger": {"tree_size": self.tree_size, "root_hash": self.root_hash},
            "kept": list(self.kept),
        }


def migrate_library(
    root: Path,
    *,
    catalog: str = "",
    blobs: str = "",
    progress: Progress | None = None,
    log: Log | None = None,
) -> MigrationReport:
    """Move the library at `root` onto the servers named (see the module docstring)."""
    say = log or (lambda _msg: None)
    catalog = catalog_url(catalog) if catalog else ""
    blobs = _s3_location(blobs) if blobs else ""
    if not (catalog or blobs):
        raise BadInputError(
            "nothing to migrate to",
            hint="give --to postgresql://USER@HOST:PORT/DB, --blobs s3://BUCKET/PREFIX, or both",
        )
    root = root.expanduser().absolute()
    with Library.open(root) as lib:
        _refuse_if_on_servers(lib, catalog, blobs)
        _switched_settings(root, catalog, blobs)  # a file we could not rewrite: say so now
        _refuse_pending(len(lib.catalog.pending()), root)
        origin = lib.settings.ledger_origin
        report = MigrationReport(
            library=str(root),
            catalog=catalog or lib.settings.catalog,
            blobs=blobs or lib.settings.blobs,
            assets=lib.count(),
        )
        files = _Files.to_s3(lib, blobs, report, progress) if blobs else None
        target = (
            SqlCatalog(catalog, busy_timeout_s=lib.settings.busy_timeout_s) if catalog else None
        )
        try:
            job_id = _claim(target, origin) if target is not None else None
            if files is not None:
                say(f"Copying originals and derived files to {blobs}")
                files.copy(copy.originals(lib.catalog))
            # The write lock: no add, rm or tag change can commit until the switch is made.
            with copy.write_locked(lib.catalog) as src:
                _refuse_pending(src.pending(), root)
                assets = src.originals()
                report.assets = len(assets)
                if files is not None:
                    files.copy(assets)  # what was added since the first pass
                    files.check(assets)
                if target is not None:
                    say(f"Copying the catalog to {_shown(catalog)}")
                    head = _copy_catalog(src, target)
                    report.tree_size, report.root_hash = head[0], head[1].hex()
                    say("Checking the copy (ledger audit)")
                    _check_copy(root, catalog, head, len(assets))
                _switch_settings(root, catalog, blobs)
                if target is not None and job_id is not None:
                    _finish(target, job_id)
        finally:
            if target is not None:
                target.close()
        if target is None:
            size, root_hash = copy.ledger_head(lib.catalog)
            report.tree_size, report.root_hash = size, root_hash.hex()
    if catalog:
        _retire_catalog(root)
        report.kept.append(MIGRATED)
    if blobs:
        report.kept += ["blobs/", "derived/"]
    return report


# --- refusals --------------------------------------------------------------------------------


def _s3_location(blobs: str) -> str:
    from assetloom.blobs.s3 import S3BlobStore

    blobs = blobs.rstrip("/")
    S3BlobStore.from_url(f"{blobs}/blobs")  # parses the URL: BadInputError when it is not one
    return blobs


def _refuse_if_on_servers(lib: Library, catalog: str, blobs: str) -> None:
    root = lib.root
    if catalog and lib.settings.catalog:
        leftover = (root / CATALOG).exists() and not (root / MIGRATED).exists()
        raise AlreadyOnServersError(
            f"the catalog of {root} is already on a server: {_shown(lib.settings.catalog)}",
            hint=(
                f"{root / CATALOG} is left over from a migrate stopped just after the switch: "
                f"rename it to {MIGRATED}"
                if leftover
                else "nothing to do for --to; `assetloom init --catalog` makes a new library"
            ),
        )
    if blobs and lib.settings.blobs:
        raise AlreadyOnServersError(
            f"the blobs of {root} are already in {lib.settings.blobs}",
            hint="nothing to do for --blobs",
        )
    if catalog and (root / MIGRATED).exists():
        raise MigrationError(
            f"{root / MIGRATED} exists: migrate renames catalog.db to that name",
            hint="move that file out of the library folder first",
        )


def _refuse_pending(n: int, root: Path) -> None:
    """`n` blobs written by an add whose rows never committed: one is running, or one died and
    nobody has swept after it yet. Copying them would carry orphans to the servers."""
    if n:
        raise PendingBlobsError(
            f"{root} has {n} blob(s) from an add that has not finished",
            hint=f"wait for a running add, or run `assetloom -L {root} add` on any folder once "
            "(it sweeps what an interrupted add left), then migrate again",
        )


def _claim(target: SqlCatalog, origin: str) -> int:
    """Make the schema in an empty database and claim it for this library (the marker row), or
    find this library's marker of an earlier run; refuse a database holding another catalog."""
    key = f"{JOB_KIND}:{origin}"
    where = _shown(target.url)
    try:
        fresh = target.revision() is None
    except OperationalError as exc:
        raise MigrationError(
            f"cannot connect to the database {where}: {' '.join(str(exc.orig).split())}",
            hint="check that the server runs, the URL (the database must exist: CREATE "
            "DATABASE ...) and the password in PGPASSWORD or ~/.pgpass",
        ) from exc
    if not fresh:
        found = copy.marker(target, key)
        if found is None:
            raise TargetHoldsCatalogError(
                f"the database {where} already holds an AssetLoom catalog",
                hint="migrate into a new, empty database (CREATE DATABASE ...); if it is left "
                "from a migrate of this library that stopped before it was claimed, drop and "
                "recreate it",
            )
        if found.state == DONE:  # switched: this folder is a copy or backup of the library
            raise TargetHoldsCatalogError(
                f"the database {where} holds this library's catalog since a migrate finished "
                f"on {found.finished_at:%Y-%m-%d %H:%M} UTC; copying this folder's catalog.db "
                "over it would undo everything done there since",
                hint="open the library whose assetloom.toml names that database instead, or "
                "migrate this folder into a new database",
            )
    target.migrate()
    jobs = SqlJobQueue(target)
    job = jobs.start(JOB_KIND, key)
    if job is not None:
        return job.id
    return copy.rerun_marker(target, key, jobs.host, os.getpid())  # an earlier run's row


def _finish(target: SqlCatalog, job_id: int) -> None:
    """Mark the migration done, after the switch: a done marker means the library lives in
    that database now, so another copy of the folder must not overwrite it."""
    try:
        SqlJobQueue(target).finish(job_id)
    except DBAPIError as exc:  # switched already: the marker is the only thing left behind
        _log.warning("could not mark migrate job %s done in %s: %s", job_id, target.url, exc)


# --- files -----------------------------------------------------------------------------------


@dataclass(slots=True)
class _Files:
    """Originals and derived files from the library folder to the S3 stores."""

    source_blobs: BlobStore
    source_derived: BlobStore
    blobs: BlobStore
    derived: BlobStore
    report: MigrationReport
    progress: Progress | None
    present: set[str]
    present_derived: set[str]
    done: set[str] = field(default_factory=set)
    done_derived: set[str] = field(default_factory=set)
    total: int = 0
    finished: int = 0

    @classmethod
    def to_s3(
        cls, lib: Library, location: str, report: MigrationReport, progress: Progress | None
    ) -> _Files:
        """The target stores laid out as `build_ports` lays them out, and what they hold
        already; listing them is also the reachability check (the store's own errors)."""
        from assetloom.blobs.s3 import S3BlobStore

        blobs = S3BlobStore.from_url(f"{location}/blobs")
        derived = S3BlobStore.from_url(f"{location}/derived", fan_out=False)
        return cls(
            lib.blobs,
            lib.derived,
            blobs,
            derived,
            report,
            progress,
            present=set(blobs.keys()),
            present_derived=set(derived.keys()),
        )

    def copy(self, assets: dict[str, str]) -> None:
        """Every original (sha256 -> asset id) and derived file not handled yet."""
        originals = [sha for sha in assets if sha not in self.done]
        shas = set(assets)
        derived = [
            k
            for k in self.source_derived.keys(prefix="")
            if k.split("/", 1)[0] in shas and k not in self.done_derived
        ]
        self.total += len(originals) + len(derived)
        self._tick()
        for sha in originals:
            if sha in self.present:
                self.report.blobs_skipped += 1
            else:
                try:
                    with self.source_blobs.local_path(sha) as path:
                        self.blobs.put_file(sha, path, sha256=sha)
                except BlobMissingError as exc:
                    raise BlobMissingError(
                        f"the original of asset {assets[sha]} ({sha}) is missing from "
                        f"{self.source_blobs.describe()}: nothing was switched",
                        hint=f"restore it from a backup, or `assetloom rm {assets[sha]}`; "
                        "then migrate again",
                    ) from exc
                self.report.blobs_copied += 1
            self.done.add(sha)
            self._tick(1)
        for key in derived:
            if key in self.present_derived:
                self.report.derived_skipped += 1
            else:
                with self.source_derived.local_path(key) as path:
                    self.derived.put_file(key, path)
                self.report.derived_copied += 1
            self.done_derived.add(key)
            self._tick(1)

    def check(self, assets: dict[str, str]) -> None:
        """Every original is in the bucket now (a listing, not a trust in the puts)."""
        there = set(self.blobs.keys())
        missing = [sha for sha in assets if sha not in there]
        if missing:
            raise CopyMismatchError(
                f"{len(missing)} original(s) are not in {self.blobs.describe()} after the copy "
                f"(asset {assets[missing[0]]} first): nothing was switched",
                hint="run migrate again; if this repeats, check the bucket's lifecycle rules",
            )

    def _tick(self, step: int = 0) -> None:
        self.finished += step
        if self.progress is not None:
            self.progress(self.finished, self.total)


# --- the catalog -----------------------------------------------------------------------------


def _copy_catalog(src: copy.LockedCatalog, target: SqlCatalog) -> tuple[int, bytes]:
    """Every catalog table of `src` (SQLite, under its write lock) into `target`, replacing
    whatever an earlier run copied, in one transaction; the ledger head copied (size, root)."""
    unknown = src.unknown_tables()
    if unknown:  # it would be left behind: refuse instead
        raise MigrationError(
            f"catalog.db holds tables this version of AssetLoom cannot copy: {', '.join(unknown)}",
            hint="upgrade AssetLoom to the version that made them, then migrate",
        )
    head = src.copy_into(target)
    from assetloom.index.pgvector import PgVectorIndex

    PgVectorIndex(target.reader).rebuild()  # the trigger filled `embedding`; index it now
    return head


def _check_copy(root: Path, catalog: str, head: tuple[int, bytes], assets: int) -> None:
    """The copy, opened as the library will open it: its ledger audit passes, with the
    source's tree size and root, and it holds as many assets."""
    with Library(root, load_settings(root, catalog=catalog)) as replica:
        audit = replica.audit_ledger()
        copied = copy.ledger_head(replica.catalog)
        count = replica.count()
    hint = "nothing was switched: the library is still embedded; run migrate again"
    if not audit.ok:
        raise CopyMismatchError(f"the ledger audit of the copy failed: {audit.message}", hint=hint)
    if copied != head:
        raise CopyMismatchError(
            f"the copy's ledger is at size {copied[0]} root {copied[1].hex()}, the library's "
            f"at size {head[0]} root {head[1].hex()}",
            hint=hint,
        )
    if count != assets:
        raise CopyMismatchError(f"the copy holds {count} assets, the library {assets}", hint=hint)


# --- the switch ------------------------------------------------------------------------------


def _switch_settings(root: Path, catalog: str, blobs: str) -> None:
    """assetloom.toml with `catalog` / `blobs` set and every other line kept, written atomically
    (readers see the old file or the new one)."""
    write_atomic(root / SETTINGS_FILE, _switched_settings(root, catalog, blobs).encode())


def _switched_settings(root: Path, catalog: str, blobs: str) -> str:
    """The settings file's text with `catalog` / `blobs` set (replaced, or added before the
    first [table]), checked to parse back to those values."""
    path = root / SETTINGS_FILE
    lines = path.read_text(encoding="utf-8").splitlines()
    wanted = {k: v for k, v in (("catalog", catalog), ("blobs", blobs)) if v}
    for key, value in wanted.items():
        line = f"{key} = {_toml_string(value)}"
        own = re.compile(rf"\s*{key}\s*=")
        at = next((i for i, s in enumerate(lines) if own.match(s)), None)
        if at is not None:
            lines[at] = line
        else:
            first_table = next((i for i, s in enumerate(lines) if s.lstrip().startswith("[")), None)
            lines.insert(len(lines) if first_table is None else first_table, line)
    data = "\n".join(lines) + "\n"
    try:
        parsed = tomllib.loads(data)
    except tomllib.TOMLDecodeError:
        parsed = {}
    if any(parsed.get(k) != v for k, v in wanted.items()):
        raise MigrationError(
            f"cannot add {' and '.join(wanted)} to {path} without changing its meaning",
            hint=f"add {' and '.join(wanted)} = ... to its top level by hand, or simplify it; "
            "then migrate again",
        )
    return data


def _toml_string(value: str) -> str:
    import json

    return json.dumps(value)  # a JSON string of printable text is a TOML basic string


def _retire_catalog(root: Path) -> None:
    """catalog.db -> catalog.db.migrated, whole: its WAL checkpointed into it first, and any
    -wal / -shm left (another process still has it open) renamed with it."""
    db = root / CATALOG
    conn = sqlite3.connect(db)
    try:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        conn.close()
    os.replace(db, root / MIGRATED)
    for suffix in ("-wal", "-shm"):
        extra = root / f"{CATALOG}{suffix}"
        if extra.exists():
            os.replace(extra, root / f"{MIGRATED}{suffix}")


def _shown(url: str) -> str:
    """A catalog URL for messages (never a password: catalog_url refuses those anyway)."""
    return url.replace("postgresql+psycopg://", "postgresql://", 1)
