"""`SqlDuplicateStore`: the incremental state of `duplicates` (which assets were compared,
the links found) and the "not a duplicate" decisions people made.

Writes are one transaction each on the writer engine; pairs are kept once, ordered
(`asset_a < asset_b`), so (a, b) and (b, a) are the same pair on both backends.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, func, select, tuple_
from sqlalchemy.exc import IntegrityError as SqlIntegrityError
from sqlalchemy.orm import Session, sessionmaker

from assetloom.store.duplicates_tables import (
    DuplicateDecisionRow,
    DuplicateLinkRow,
    DuplicateScanRow,
)
from assetloom.store.schema import AssetRow

_IN_CHUNK = 500
DISTINCT = "distinct"


@dataclass(frozen=True, slots=True)
class LinkRecord:
    asset_a: str
    asset_b: str
    tier: str
    distance: float
    inliers: int | None = None


def ordered(a: str, b: str) -> tuple[str, str]:
    return (a, b) if a < b else (b, a)


class SqlDuplicateStore:
    def __init__(
        self, read_session: sessionmaker[Session], write_session: sessionmaker[Session]
    ) -> None:
        self.read_session = read_session
        self.write_session = write_session

    @contextmanager
    def _writing(self) -> Iterator[Session]:
        with self.write_session() as s, s.begin():
            yield s

    # ------------------------------------------------------------------ scans and links
    def scanned(self, rules: str) -> set[str]:
        """Assets compared under `rules`; when any scan row is of other rules, every scan and
        link is dropped first (a changed rule must look at everything again)."""
        with self.read_session() as s:
            stale = s.scalar(
                select(func.count())
                .select_from(DuplicateScanRow)
                .where(DuplicateScanRow.rules != rules)
            )
        if stale:
            with self._writing() as s:
                s.execute(delete(DuplicateLinkRow))
                s.execute(delete(DuplicateScanRow))
            return set()
        with self.read_session() as s:
            return set(s.scalars(select(DuplicateScanRow.asset_id)))

    def record_scan(
        self, asset_ids: Iterable[str], links: Iterable[LinkRecord], rules: str, at: datetime
    ) -> None:
        """Mark the assets compared and keep their links (a pair already linked keeps the
        stronger tier and smaller distance). Another process scanning the same assets at
        the same time adds nothing twice: if its rows land between our read and our insert
        (PostgreSQL's read committed), the write is tried once more and then sees them."""
        ids = list(dict.fromkeys(asset_ids))
        merged: dict[tuple[str, str], LinkRecord] = {}
        for link in links:
            key = ordered(link.asset_a, link.asset_b)
            link = LinkRecord(*key, link.tier, link.distance, link.inliers)
            if key not in merged or _stronger(link, merged[key]):
                merged[key] = link
        try:
            self._record(ids, merged, rules, at)
        except SqlIntegrityError:
            self._record(ids, merged, rules, at)

    def _record(
        self,
        ids: list[str],
        merged: dict[tuple[str, str], LinkRecord],
        rules: str,
        at: datetime,
    ) -> None:
        with self._writing() as s:
            # An asset removed since the run listed it is left out, not a foreign-key error.
            named = list({*ids, *(a for pair in merged for a in pair)})
            alive: set[str] = set()
            for i in range(0, len(named), _IN_CHUNK):
                chunk = named[i : i + _IN_CHUNK]
                alive.update(
                    s.scalars(select(AssetRow.asset_id).where(AssetRow.asset_id.in_(chunk)))
                )
            ids = [a for a in ids if a in alive]
            merged = {k: v for k, v in merged.items() if k[0] in alive and k[1] in alive}
            done = set()
            for i in range(0, len(ids), _IN_CHUNK):
                chunk = ids[i : i + _IN_CHUNK]
                done.update(
                    s.scalars(
                        select(DuplicateScanRow.asset_id).where(
                            DuplicateScanRow.asset_id.in_(chunk)
                        )
                    )
                )
            s.add_all(
                DuplicateScanRow(asset_id=a, rules=rules, scanned_at=at)
                for a in ids
                if a not in done
            )
            keys = list(merged)
            for i in range(0, len(keys), _IN_CHUNK):
                chunk = keys[i : i + _IN_CHUNK]
                existing = {
                    (r.asset_a, r.asset_b): r
                    for r in s.scalars(
                        select(DuplicateLinkRow).where(
                            tuple_(DuplicateLinkRow.asset_a, DuplicateLinkRow.asset_b).in_(chunk)
                        )
                    )
                }
                for key in chunk:
                    link = merged[key]
                    row = existing.get(key)
                    if row is None:
                        s.add(
                            DuplicateLinkRow(
                                asset_a=link.asset_a,
                                asset_b=link.asset_b,
                                tier=link.tier,
                                distance=link.distance,
                                inliers=link.inliers,
                            )
                        )
                    elif _stronger(link, _record(row)):
                        row.tier, row.distance, row.inliers = link.tier, link.distance, link.inliers

    def links(self) -> list[LinkRecord]:
        with self.read_session() as s:
            return [_record(r) for r in s.scalars(select(DuplicateLinkRow))]

    # ------------------------------------------------------------------ decisions
    def dismiss(self, pairs: Iterable[tuple[str, str]], *, by: str, at: datetime) -> int:
        """Remember that each pair is not a duplicate; the number of pairs newly decided."""
        keys = list(dict.fromkeys(ordered(a, b) for a, b in pairs))
        with self._writing() as s:
            known = self._decided(s, keys)
            s.add_all(
                DuplicateDecisionRow(
                    asset_a=a, asset_b=b, decision=DISTINCT, decided_by=by, decided_at=at
                )
                for a, b in keys
                if (a, b) not in known
            )
        return len([k for k in keys if k not in known])

    def restore(self, pairs: Iterable[tuple[str, str]]) -> int:
        """Forget the decisions on these pairs; the number forgotten."""
        keys = list(dict.fromkeys(ordered(a, b) for a, b in pairs))
        with self._writing() as s:
            known = self._decided(s, keys)
            for i in range(0, len(keys), _IN_CHUNK):
                chunk = [k for k in keys[i : i + _IN_CHUNK] if k in known]
                if chunk:
                    s.execute(
                        delete(DuplicateDecisionRow).where(
                            tuple_(DuplicateDecisionRow.asset_a, DuplicateDecisionRow.asset_b).in_(
                                chunk
                            )
                        )
                    )
        return len([k for k in keys if k in known])

    def dismissed(self) -> set[tuple[str, str]]:
        with self.read_session() as s:
            rows = s.execute(select(DuplicateDecisionRow.asset_a, DuplicateDecisionRow.asset_b))
            return {(a, b) for a, b in rows}

    @staticmethod
    def _decided(s: Session, keys: list[tuple[str, str]]) -> set[tuple[str, str]]:
        out: set[tuple[str, str]] = set()
        for i in range(0, len(keys), _IN_CHUNK):
            chunk = keys[i : i + _IN_CHUNK]
            rows = s.execute(
                select(DuplicateDecisionRow.asset_a, DuplicateDecisionRow.asset_b).where(
                    tuple_(DuplicateDecisionRow.asset_a, DuplicateDecisionRow.asset_b).in_(chunk)
                )
            )
            out.update((a, b) for a, b in rows)
        return out


_TIER_RANK = {"exact": 0, "near-identical": 1, "similar": 2}


def _stronger(new: LinkRecord, old: LinkRecord) -> bool:
    return (_TIER_RANK.get(new.tier, 9), new.distance) < (_TIER_RANK.get(old.tier, 9), old.distance)


def _record(row: DuplicateLinkRow) -> LinkRecord:
    return LinkRecord(row.asset_a, row.asset_b, row.tier, row.distance, row.inliers)
