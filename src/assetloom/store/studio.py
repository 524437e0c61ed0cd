"""The studio's rows: projects, the recipe and quality of each output, lineage edges.

Writes ride in the catalog's unit of work (`session`), so an output's asset row, its creation
row and its lineage edges commit together; reads use the catalog's reader.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from assetloom.store.jobs import Job
from assetloom.store.schema import AssetRow, JobRow
from assetloom.store.studio_tables import CreationRow, LineageRow, ProjectRow

MAX_DEPTH = 20
"""Lineage walks stop here: a deeper chain is reported as truncated, never looped."""


@dataclass(frozen=True, slots=True)
class Edge:
    child_id: str
    parent_id: str
    role: str
    project_id: str | None


def lease_key(project_id: str) -> str:
    """The key of the lease a project's run holds (`store/jobs.py`)."""
    return f"studio-{project_id}"


class SqlStudioStore:
    def __init__(self, read_session: sessionmaker[Session]) -> None:
        self.read_session = read_session

    # ------------------------------------------------------------------ writes (in a uow)
    @staticmethod
    def start_project(
        s: Session,
        project_id: str,
        kind: str,
        brief: str,
        language: str,
        now: datetime,
        *,
        request: dict[str, Any] | None = None,
    ) -> None:
        """A running project; `request` (kept in its report) is what a re-run needs."""
        s.add(
            ProjectRow(
                project_id=project_id,
                kind=kind,
                brief=brief,
                language=language,
                plan={},
                report={"request": request} if request else {},
                state="running",
                created_at=now,
            )
        )

    @staticmethod
    def mark_interrupted(s: Session, *, now: datetime, host: str) -> list[str]:
        """Projects still "running" whose run's lease is dead (its process died, here or on
        another host) become "interrupted"; their ids. A run still alive keeps its lease."""
        running = s.scalars(select(ProjectRow).where(ProjectRow.state == "running")).all()
        if not running:
            return []
        keys = {lease_key(p.project_id): p for p in running}
        leases = {
            r.key: Job(r.id, r.kind, r.key, r.state, r.owner_host, r.owner_pid, r.lease_until)
            for r in s.scalars(select(JobRow).where(JobRow.key.in_(list(keys))))
        }
        gone = [p for key, p in keys.items() if key not in leases or leases[key].dead(now, host)]
        for p in gone:
            p.state, p.finished_at = "interrupted", now
        return [p.project_id for p in gone]

    @staticmethod
    def finish_project(
        s: Session,
        project_id: str,
        *,
        plan: dict[str, Any],
        report: dict[str, Any],
        state: str,
        now: datetime,
    ) -> None:
        row = s.get(ProjectRow, project_id)
        if row is None:
            raise KeyError(project_id)
        row.plan, row.report, row.state, row.finished_at = plan, report, state, now

    @staticmethod
    def add_creation(
        s: Session,
        asset_id: str,
        project_id: str,
        *,
        kind: str,
        backend: str,
        recipe: dict[str, Any],
        quality: dict[str, Any],
    ) -> None:
        s.merge(
            CreationRow(
                asset_id=asset_id,
                project_id=project_id,
                kind=kind,
                backend=backend,
                recipe=recipe,
                quality=quality,
            )
        )

    @staticmethod
    def add_edges(s: Session, edges: Iterable[Edge]) -> None:
        s.add_all(
            LineageRow(
                child_id=e.child_id, parent_id=e.parent_id, role=e.role, project_id=e.project_id
            )
            for e in edges
        )

    # ------------------------------------------------------------------ reads
    def project(self, project_id: str) -> dict[str, Any] | None:
        with self.read_session() as s:
            row = s.get(ProjectRow, project_id)
            if row is None:
                return None
            outputs = s.scalars(
                select(CreationRow).where(CreationRow.project_id == project_id)
            ).all()
            return {
                "project_id": row.project_id,
                "kind": row.kind,
                "brief": row.brief,
                "language": row.language,
                "state": row.state,
                "plan": row.plan,
                "report": row.report,
                "created_at": row.created_at,
                "finished_at": row.finished_at,
                "outputs": [_creation(c) for c in outputs],
            }

    def creation(self, asset_id: str) -> dict[str, Any] | None:
        with self.read_session() as s:
            row = s.get(CreationRow, asset_id)
            return None if row is None else _creation(row)

    def lineage(self, asset_id: str, *, depth: int = MAX_DEPTH) -> dict[str, Any]:
        """Edges up (what the asset was made from, recursively) and down (what was made
        from it), breadth first, each edge once; names of assets the catalog still holds."""
        with self.read_session() as s:
            up, up_cut = _walk(s, asset_id, depth, upward=True)
            down, down_cut = _walk(s, asset_id, depth, upward=False)
            ids = {asset_id} | {e.parent_id for e in up + down} | {e.child_id for e in up + down}
            names = dict(
                s.execute(
                    select(AssetRow.asset_id, AssetRow.original_name).where(
                        AssetRow.asset_id.in_(ids)
                    )
                ).all()
            )
        return {"up": up, "down": down, "names": names, "truncated": up_cut or down_cut}


def _walk(s: Session, start: str, depth: int, *, upward: bool) -> tuple[list[Edge], bool]:
    mine = LineageRow.child_id if upward else LineageRow.parent_id
    seen_nodes = {start}
    seen_edges: set[int] = set()
    edges: list[Edge] = []
    queue: deque[tuple[str, int]] = deque([(start, 0)])
    truncated = False
    while queue:
        node, level = queue.popleft()
        rows = s.scalars(select(LineageRow).where(mine == node).order_by(LineageRow.id)).all()
        if rows and level >= depth:
            truncated = True
            continue
        for r in rows:
            if r.id in seen_edges:
                continue
            seen_edges.add(r.id)
            edges.append(Edge(r.child_id, r.parent_id, r.role, r.project_id))
            nxt = r.parent_id if upward else r.child_id
            if nxt not in seen_nodes:
                seen_nodes.add(nxt)
                queue.append((nxt, level + 1))
    return edges, truncated


def _creation(row: CreationRow) -> dict[str, Any]:
    return {
        "asset_id": row.asset_id,
        "project_id": row.project_id,
        "kind": row.kind,
        "backend": row.backend,
        "recipe": row.recipe,
        "quality": row.quality,
    }
