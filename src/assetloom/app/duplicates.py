"""`duplicates`: groups of copies from what the library stores, compared incrementally, with
the "not a duplicate" decisions people made taken out.

Each asset is compared once (per version of the rules, `RULES_VERSION`): the first run that
sees it probes the library with it through `CopyFinder`, the rule `verify` uses, and keeps the
links it found (`store/duplicates.py`). A later run compares only the assets added since, so
a run on an unchanged library decodes nothing and reads three tables.

What a probe needs is kept so that it is never decoded twice: the query-side fingerprints of
a picture (`<sha256>/probes.json`) and its keypoints (`<sha256>/keypoints.orb`), derived
files written at its first comparison. A new asset is compared both ways
with the older ones the index, its embedding or its hashes put near it: its probes against
their stored fingerprints (as `verify` would) and their stored probes against its stored
fingerprints, so whichever of two copies came first, the pair is found.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from assetloom.app import geometric
from assetloom.app.copies import CopyFinder
from assetloom.app.results import DismissOut, DuplicateGroup
from assetloom.blobs.base import BlobStore
from assetloom.blobs.files import local_files
from assetloom.core import copy_rules
from assetloom.core.assets import Asset, Family, Fingerprint, MediaType, Tier
from assetloom.core.duplicates import RULES_VERSION, choose_keeper, group_pairs
from assetloom.core.listing import ListQuery
from assetloom.errors import BadInputError
from assetloom.ingest.keypoints import KEYPOINTS, geometric_evidence
from assetloom.ingest.paths import display_path
from assetloom.ingest.pipeline import parallel_prepare
from assetloom.ingest.prepare import prepare_queries
from assetloom.ingest.records import Options, Prepared
from assetloom.store.duplicates import LinkRecord, SqlDuplicateStore

if TYPE_CHECKING:
    from assetloom.app.library import Library, Progress

PROBES = "probes.json"
_BATCH = 64


def duplicate_store(lib: Library) -> SqlDuplicateStore:
    return SqlDuplicateStore(lib.catalog.read_session, lib.catalog.write_session)


def find_duplicates(
    lib: Library, *, similar: bool = False, progress: Progress | None = None
) -> list[DuplicateGroup]:
    """Copy groups (and, with `similar`, look-alike groups of their own) of the whole library,
    after comparing the assets not compared yet."""
    store = duplicate_store(lib)
    assets = _all_assets(lib)
    scanned = store.scanned(RULES_VERSION)
    new = [a for a in assets.values() if a.asset_id not in scanned]
    if new:
        Scan(lib, store, old={a for a in scanned if a in assets}).run(new, progress)
    elif progress:
        progress(0, 0)
    dismissed = store.dismissed()
    pairs = [
        (link.asset_a, link.asset_b, Tier(link.tier), link.distance)
        for link in store.links()
        if link.asset_a in assets
        and link.asset_b in assets
        and (link.asset_a, link.asset_b) not in dismissed
    ]
    return _groups(pairs, assets, similar)


def dismiss(lib: Library, asset_ids: Sequence[str], *, by: str, undo: bool = False) -> DismissOut:
    """Remember (or, with `undo`, forget) that these assets are not duplicates of each other:
    every pair among them. Ids may be unique prefixes."""
    ids = list(dict.fromkeys(lib.get(a).asset_id for a in asset_ids))
    if len(ids) < 2:
        raise BadInputError(
            "name at least two different assets",
            hint="e.g. `assetloom duplicates dismiss 3f2a 9c1d`",
        )
    pairs = list(itertools.combinations(sorted(ids), 2))
    store = duplicate_store(lib)
    at = datetime.now(UTC)
    changed = store.restore(pairs) if undo else store.dismiss(pairs, by=by, at=at)
    decision = "none" if undo else "distinct"
    return DismissOut(asset_ids=ids, pairs=len(pairs), changed=changed, decision=decision)


@dataclass(slots=True)
class Scan:
    """One run's comparisons of the new assets."""

    lib: Library
    store: SqlDuplicateStore
    old: set[str]
    finder: CopyFinder = field(init=False)

    def __post_init__(self) -> None:
        self.finder = CopyFinder(self.lib)

    def run(self, new: list[Asset], progress: Progress | None) -> None:
        done = 0
        for start in range(0, len(new), _BATCH):
            batch = new[start : start + _BATCH]
            links: list[LinkRecord] = []
            for rec, asset in self._probes(batch):
                links.extend(self._compare(rec, asset))
            self.store.record_scan(
                [a.asset_id for a in batch], links, RULES_VERSION, datetime.now(UTC)
            )
            done += len(batch)
            if progress:
                progress(done, len(new))

    def _probes(self, batch: list[Asset]) -> Iterable[tuple[Prepared, Asset]]:
        """A query record per asset: from its stored probes, or (the first time, and for
        anything but a picture) from its decoded original, whose probes are then stored."""
        derived = self.lib.derived
        decode: list[Asset] = []
        for asset in batch:
            probes = _read_probes(derived, asset) if asset.media_type is MediaType.IMAGE else None
            if probes is None:
                decode.append(asset)
                continue
            rec = Prepared(
                path=asset.original_name,
                sha256=asset.sha256,
                size=asset.size,
                mtime_ns=0,
                media_type=asset.media_type,
                mime=asset.mime,
                fingerprints=probes,
            )
            kp = f"{asset.sha256}/{KEYPOINTS}"
            if derived.exists(kp):
                rec.derived[KEYPOINTS] = derived.read_bytes(kp)
            rec.embeddings = self.lib.catalog.vectors_of(asset.asset_id)
            yield rec, asset
        if not decode:
            return
        opts = Options.from_settings(self.lib.settings, embed=False)
        with local_files(self.lib.blobs, [a.sha256 for a in decode]) as files:
            owner = {display_path(files[a.sha256]): a for a in decode if a.sha256 in files}
            probes = [files[a.sha256] for a in decode if a.sha256 in files]
            for rec in parallel_prepare(prepare_queries, probes, opts, self.lib.ports.executor()):
                if not isinstance(rec, Prepared):
                    continue
                asset = owner[display_path(rec.path)]
                if rec.media_type is MediaType.IMAGE:
                    _write_probes(self.lib, asset, rec)
                rec.embeddings = self.lib.catalog.vectors_of(asset.asset_id)
                yield rec, asset

    def _compare(self, rec: Prepared, asset: Asset) -> list[LinkRecord]:
        """Links of one new asset: its probes against the library (verify's rule), then,
        for pictures, the older assets near it probed against it."""
        links = [
            LinkRecord(asset.asset_id, m.asset_id, m.tier.value, m.distance, m.inliers)
            for m in self.finder.matches(rec, exclude=asset.asset_id)
        ]
        if rec.media_type is MediaType.IMAGE:
            linked = {link.asset_b for link in links}
            links.extend(self._reverse(rec, asset, linked))
        return links

    def _reverse(self, rec: Prepared, asset: Asset, linked: set[str]) -> list[LinkRecord]:
        """Older pictures whose stored probes match this one's stored fingerprints (the
        older one is the edited copy: a crop, a screenshot), or whose keypoints map onto it."""
        mine = self.lib.catalog.get_many([asset.asset_id], fingerprints=True)[asset.asset_id]
        stored = mine.fingerprints
        codes = [f.value for f in stored if f.kind.startswith(Family.PDQ)]
        rows: set[int] = set()
        for hits in self.finder.index.search(Family.PDQ, codes, copy_rules.PDQ_WITH_PHASH):
            rows.update(row_id for row_id, _ in hits)
        near = {
            a: float(copy_rules.closest_pdq(stored, fps))
            for a, fps in self.lib.catalog.fingerprints_of_rows(rows).items()
        }
        neighbours = [(a, c) for a, c in self.finder.neighbours(rec) if a != asset.asset_id]
        ids = geometric.candidates(
            {a: d for a, d in near.items() if a in self.old and a not in linked},
            [(a, c) for a, c in neighbours if a in self.old and a not in linked],
        )
        ids += [a for a in near if a in self.old and a not in linked and a not in ids]
        others = self.lib.catalog.get_many(ids, fingerprints=True)
        mapped = geometric.query_keypoints(rec.derived)
        query = mapped[0] if mapped else None  # the picture's own: it is the stored side here
        out: list[LinkRecord] = []
        checked = 0
        for other_id in ids:
            other = others.get(other_id)
            if other is None or other.media_type is not MediaType.IMAGE:
                continue
            probes = _read_probes(self.lib.derived, other)
            verdict = copy_rules.image_match(probes, stored) if probes else None
            if verdict is not None:
                out.append(LinkRecord(asset.asset_id, other_id, verdict[0].value, verdict[1]))
                continue
            if query is None or checked >= 2 * copy_rules.GEOMETRIC_CANDIDATES:
                continue
            checked += 1
            theirs = self.finder.verifier.keypoints(other)
            evidence = geometric_evidence(theirs, query) if theirs else None
            if evidence is not None and copy_rules.geometric_match(evidence):
                dist = near.get(other_id, float(copy_rules.closest_pdq(stored, other.fingerprints)))
                out.append(
                    LinkRecord(
                        asset.asset_id,
                        other_id,
                        Tier.NEAR_IDENTICAL.value,
                        dist,
                        evidence.inliers,
                    )
                )
        return out


def _groups(
    pairs: list[tuple[str, str, Tier, float]], assets: dict[str, Asset], similar: bool
) -> list[DuplicateGroup]:
    copies = [p for p in pairs if p[2] is not Tier.SIMILAR]
    copy_groups = group_pairs(copies)
    group_of = {a: i for i, (members, _, _) in enumerate(copy_groups) for a in members}
    look_alikes = [
        p
        for p in pairs
        if similar and p[2] is Tier.SIMILAR and group_of.get(p[0], -1) != group_of.get(p[1], -2)
    ]
    groups = []
    for members, tier, distances in copy_groups + group_pairs(look_alikes):
        group_assets = [assets[a] for a in members if a in assets]
        keeper, reason = choose_keeper(group_assets)
        group_assets.sort(key=lambda a: (a.asset_id != keeper.asset_id, a.registered_at))
        groups.append(DuplicateGroup(tier, keeper.asset_id, reason, group_assets, distances))
    return groups


def _all_assets(lib: Library) -> dict[str, Asset]:
    assets: dict[str, Asset] = {}
    cursor: str | None = None
    while True:
        page = lib.list(ListQuery(limit=1000, cursor=cursor))
        assets.update((a.asset_id, a) for a in page.assets)
        if (cursor := page.next_cursor) is None:
            return assets


def _write_probes(lib: Library, asset: Asset, rec: Prepared) -> None:
    doc = {"v": 1, "fingerprints": [[f.kind, f.hex, f.quality] for f in rec.fingerprints]}
    lib.derived.put_bytes(f"{asset.sha256}/{PROBES}", json.dumps(doc).encode())
    kp = f"{asset.sha256}/{KEYPOINTS}"
    if KEYPOINTS in rec.derived and not lib.derived.exists(kp):
        lib.derived.put_bytes(kp, rec.derived[KEYPOINTS])


def _read_probes(derived: BlobStore, asset: Asset) -> list[Fingerprint] | None:
    """The picture's stored probes; None when there are none (or unreadable ones)."""
    key = f"{asset.sha256}/{PROBES}"
    if not derived.exists(key):
        return None
    try:
        doc = json.loads(derived.read_bytes(key))
        return [Fingerprint(k, bytes.fromhex(v), q) for k, v, q in doc["fingerprints"]]
    except (ValueError, KeyError, TypeError):
        return None
