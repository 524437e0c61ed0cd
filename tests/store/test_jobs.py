"""Leased jobs: a dead add (on any host sharing the catalog) is known by its lease, not by a
process id that means nothing on another machine."""

from __future__ import annotations

import hashlib
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import update

from assetloom.app.library import Library
from assetloom.store.catalog import SqlCatalog
from assetloom.store.jobs import DONE, FAILED, RUNNING, SqlJobQueue
from assetloom.store.schema import JobRow
from tests.media import make_photo


def _move(catalog: SqlCatalog, job_id: int, **values: object) -> None:
    with catalog.write_session() as s, s.begin():
        s.execute(update(JobRow).where(JobRow.id == job_id).values(**values))


def test_start_heartbeat_finish_and_keys(catalog: SqlCatalog) -> None:
    jobs = SqlJobQueue(catalog)
    job = jobs.start("ingest", "run-1")
    assert job is not None and job.state == RUNNING and job.owner_pid == os.getpid()
    assert jobs.start("ingest", "run-1") is None  # the same work is the same job
    before = job.lease_until
    _move(catalog, job.id, lease_until=before - timedelta(seconds=30))
    jobs.heartbeat(job.id)
    assert jobs.get([job.id])[job.id].lease_until > before - timedelta(seconds=30)
    assert jobs.dead_ids([job.id]) == set()
    jobs.finish(job.id)
    assert jobs.get([job.id])[job.id].state == DONE and jobs.dead_ids([job.id]) == {job.id}
    assert jobs.dead_ids([12345]) == {12345}  # unknown counts as dead


def test_a_lease_decides_on_other_hosts_a_pid_on_this_one(catalog: SqlCatalog) -> None:
    jobs = SqlJobQueue(catalog)
    elsewhere = jobs.start("ingest", "remote")
    here_dead = jobs.start("ingest", "local-dead")
    expired = jobs.start("ingest", "expired")
    assert elsewhere and here_dead and expired
    gone_pid = 2**22 + 12345  # above Linux's default pid_max: no such process
    _move(catalog, elsewhere.id, owner_host="render-node-7", owner_pid=gone_pid)
    _move(catalog, here_dead.id, owner_pid=gone_pid)
    _move(catalog, expired.id, lease_until=datetime.now(UTC) - timedelta(seconds=1))
    ids = [elsewhere.id, here_dead.id, expired.id]
    # The other host's job holds its lease: alive, though its pid means nothing here.
    assert jobs.dead_ids(ids) == {here_dead.id, expired.id}


def test_leased_block_beats_and_ends_done_or_failed(catalog: SqlCatalog) -> None:
    jobs = SqlJobQueue(catalog)
    with jobs.leased("ingest", "ok", every_s=0.01) as job:
        assert jobs.dead_ids([job.id]) == set()
    assert jobs.get([job.id])[job.id].state == DONE
    with pytest.raises(ValueError), jobs.leased("ingest", "boom", every_s=0.01) as failing:
        raise ValueError("x")
    assert jobs.get([failing.id])[failing.id].state == FAILED


def test_sweep_keeps_a_live_remote_add_and_removes_a_dead_ones_blob(
    library: Library, tmp_path: Path
) -> None:
    """Two hosts share a catalog: a blob another host is still adding must survive our sweep
    (pid-only ownership would have swept it: its pid is not alive here)."""
    jobs = library.ports.guard.jobs
    photos = [make_photo(tmp_path / f"{i}.jpg", 60 + i) for i in range(2)]
    shas = []
    for i, photo in enumerate(photos):
        sha = hashlib.sha256(photo.read_bytes()).hexdigest()
        library.blobs.put_file(sha, photo, sha256=sha)
        job = jobs.start("ingest", f"remote-{i}")
        assert job is not None
        _move(library.catalog, job.id, owner_host="render-node-7", owner_pid=2**22 + i)
        if i == 1:
            _move(library.catalog, job.id, lease_until=datetime.now(UTC) - timedelta(minutes=5))
        with library.catalog.unit_of_work() as uow:
            uow.mark_pending([sha], 2**22 + i, datetime.now(UTC), job_id=job.id)
        shas.append(sha)
    assert library.sweep_pending(include_own=False) == 1
    assert library.blobs.exists(shas[0]) and not library.blobs.exists(shas[1])
    assert [p.sha256 for p in library.catalog.pending()] == [shas[0]]


def test_settle_marks_dead_jobs_failed_and_forgets_old_ones(catalog: SqlCatalog) -> None:
    jobs = SqlJobQueue(catalog)
    killed = jobs.start("ingest", "killed")
    old = jobs.start("ingest", "old")
    recent = jobs.start("ingest", "recent")
    assert killed and old and recent
    jobs.finish(old.id)
    jobs.finish(recent.id)
    _move(catalog, old.id, finished_at=datetime.now(UTC) - timedelta(days=31))
    _move(catalog, killed.id, owner_pid=2**22 + 7)  # its process is gone
    jobs.settle(sorted(jobs.dead_ids([killed.id])))
    left = jobs.get([killed.id, old.id, recent.id])
    assert left[killed.id].state == FAILED and old.id not in left
    assert left[recent.id].state == DONE
