"""Jobs under leases: who is doing what, and whether they still are, on any host.

A job is claimed by (host, pid) with a lease that its process renews by heartbeat. A job
whose lease ran out, or whose process on this host is gone, is dead: what it left half-done
(blobs written before their rows committed) can be undone by whoever looks next. This is what
lets two hosts share one PostgreSQL catalog and one S3 bucket without a process id standing
for ownership. The key makes re-running the same work the same job.
"""

from __future__ import annotations

import os
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError as SqlIntegrityError

from assetloom.processes import alive
from assetloom.store.catalog import SqlCatalog
from assetloom.store.schema import JobRow

RUNNING, DONE, FAILED = "running", "done", "failed"
LEASE_S = 60.0
"""How long a lease lasts without a heartbeat: well past any single catalog transaction."""
HEARTBEAT_S = 10.0


@dataclass(frozen=True, slots=True)
class Job:
    id: int
    kind: str
    key: str
    state: str
    owner_host: str
    owner_pid: int
    lease_until: datetime

    def dead(self, now: datetime, host: str) -> bool:
        """Not running any more: finished, lease run out, or its process here is gone."""
        if self.state != RUNNING:
            return True
        if _aware(self.lease_until) < now:
            return True
        return self.owner_host == host and not alive(self.owner_pid)


class SqlJobQueue:
    """Jobs in the catalog (`jobs` table), on SQLite or PostgreSQL."""

    def __init__(self, catalog: SqlCatalog, *, lease_s: float = LEASE_S) -> None:
        self.catalog = catalog
        self.lease_s = lease_s
        self.host = socket.gethostname()

    def start(self, kind: str, key: str) -> Job | None:
        """Claim `key` for this process; None when a job of that key exists (a re-run of
        work done, or being done, elsewhere)."""
        now = _now()
        row = JobRow(
            kind=kind,
            key=key,
            state=RUNNING,
            owner_host=self.host,
            owner_pid=os.getpid(),
            created_at=now,
            heartbeat_at=now,
            lease_until=now + timedelta(seconds=self.lease_s),
        )
        try:
            with self.catalog.write_session() as s, s.begin():
                s.add(row)
                s.flush()
                return _job(row)
        except SqlIntegrityError:
            return None

    def heartbeat(self, job_id: int) -> None:
        now = _now()
        with self.catalog.write_session() as s, s.begin():
            s.execute(
                update(JobRow)
                .where(JobRow.id == job_id, JobRow.state == RUNNING)
                .values(heartbeat_at=now, lease_until=now + timedelta(seconds=self.lease_s))
            )

    def finish(self, job_id: int, *, failed: bool = False) -> None:
        with self.catalog.write_session() as s, s.begin():
            s.execute(
                update(JobRow)
                .where(JobRow.id == job_id)
                .values(state=FAILED if failed else DONE, finished_at=_now())
            )

    def settle(self, dead: list[int], *, keep_days: float = 30.0) -> None:
        """Mark jobs judged dead that still say running as failed (a killed add never gets
        to), and forget finished jobs older than `keep_days`: the table stays small."""
        now = _now()
        with self.catalog.write_session() as s, s.begin():
            if dead:
                s.execute(
                    update(JobRow)
                    .where(JobRow.id.in_(dead), JobRow.state == RUNNING)
                    .values(state=FAILED, finished_at=now)
                )
            s.execute(
                delete(JobRow).where(
                    JobRow.state != RUNNING, JobRow.finished_at < now - timedelta(days=keep_days)
                )
            )

    def get(self, job_ids: list[int]) -> dict[int, Job]:
        with self.catalog.read_session() as s:
            return {r.id: _job(r) for r in s.scalars(select(JobRow).where(JobRow.id.in_(job_ids)))}

    def dead_ids(self, job_ids: list[int]) -> set[int]:
        """Which of these jobs are dead (a job not found counts as dead)."""
        now = _now()
        jobs = self.get(job_ids) if job_ids else {}
        return {j for j in job_ids if j not in jobs or jobs[j].dead(now, self.host)}

    @contextmanager
    def leased(self, kind: str, key: str, *, every_s: float = HEARTBEAT_S) -> Iterator[Job]:
        """Run the block as job `key`, renewing its lease from a thread until it ends; the
        job is done when the block returns, failed when it raises."""
        job = self.start(kind, key)
        if job is None:
            raise RuntimeError(f"job {key!r} exists already")  # keys are fresh per run
        stop = threading.Event()

        def beat() -> None:
            while not stop.wait(every_s):
                try:
                    self.heartbeat(job.id)
                except Exception:  # a busy catalog: the next beat tries again
                    continue

        thread = threading.Thread(target=beat, name=f"assetloom-lease-{job.id}", daemon=True)
        thread.start()
        failed = True
        try:
            yield job
            failed = False
        finally:
            stop.set()
            thread.join()
            self.finish(job.id, failed=failed)


def _job(row: JobRow) -> Job:
    return Job(
        row.id,
        row.kind,
        row.key,
        row.state,
        row.owner_host,
        row.owner_pid,
        _aware(row.lease_until),
    )


def _now() -> datetime:
    return datetime.now(UTC)


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)  # SQLite drops the zone
