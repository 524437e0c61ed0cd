"""Copy detection over the library: `verify` (is this file ours?) and `duplicates`.

Candidates come from the Hamming indexes; which candidates count, and in which tier, is
decided by the pure rules in `core.copy_rules` (images) and `core.text_match` (text).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from assetloom.app import geometric
from assetloom.app.audio_copies import audio_candidates
from assetloom.app.provenance import ProvenanceCheck
from assetloom.app.results import CopiesOut, VerifyResult
from assetloom.app.video_copies import frame_grab_candidates, video_candidates
from assetloom.blobs.files import local_files
from assetloom.core import copy_rules
from assetloom.core.assets import Family, Fingerprint, Match, MediaType, Segment, Space, Tier
from assetloom.core.similarity import CANDIDATES, is_similar
from assetloom.core.text_match import hamming, is_near_duplicate, jaccard_estimate
from assetloom.core.video_match import has_frames
from assetloom.errors import AssetLoomError
from assetloom.ingest.paths import display_path
from assetloom.ingest.pipeline import parallel_prepare
from assetloom.ingest.prepare import prepare_queries
from assetloom.ingest.records import Options, Prepared, Skipped
from assetloom.provenance.ledger_service import CatalogMismatchError

if TYPE_CHECKING:
    from assetloom.app.library import Library, Progress

TEXT_SEARCH_RADIUS = 8


def verify_files(
    lib: Library,
    paths: Sequence[Path],
    *,
    progress: Progress | None = None,
    provenance: bool = True,
) -> list[VerifyResult]:
    """Each file's matches with their ledger proofs and, with `provenance`, its C2PA
    manifest and our watermark (`app.provenance`)."""
    s = lib.settings
    opts = Options.from_settings(s)
    executor = lib.ports.executor()
    results: list[VerifyResult] = []
    finder = CopyFinder(lib)
    proofs = ProofCache(lib)
    marks = ProvenanceCheck(lib) if provenance else None
    for done, rec in enumerate(
        parallel_prepare(prepare_queries, list(paths), opts, executor), start=1
    ):
        if isinstance(rec, Skipped):
            results.append(VerifyResult(rec.path, Tier.NONE, error=rec.reason))
        else:
            matches = [proofs.signed_time(m) for m in finder.matches(rec)]
            tier = matches[0].tier if matches else Tier.NONE
            results.append(
                VerifyResult(
                    display_path(rec.path),
                    tier,
                    matches,
                    proofs=[proofs.get(m.asset_id) for m in matches],
                    c2pa=marks.c2pa(rec) if marks else None,
                    watermark=marks.watermark(rec) if marks else None,
                )
            )
        if progress:
            progress(done, len(paths))
    return results


def copies_of(lib: Library, asset_id: str) -> dict[str, Any]:
    """`copies_result` as the JSON document the CLI, API and web show."""
    return copies_result(lib, asset_id).to_json()


def copies_result(lib: Library, asset_id: str) -> CopiesOut:
    """Copies and look-alikes of one asset (`asset_id` or a unique prefix): its own original
    put through `verify`, so the answer matches what `verify` and `duplicates` say about the
    same pair. The API's `/assets/{id}/copies` and the web asset page show this document."""
    asset = lib.get(asset_id)
    with local_files(lib.blobs, [asset.sha256]) as files:
        if asset.sha256 not in files:
            return CopiesOut(asset_id=asset.asset_id, matches=[])
        result = verify_files(lib, [files[asset.sha256]], provenance=False)[0].out()
    return CopiesOut(
        asset_id=asset.asset_id,
        matches=[m for m in result.matches if m.asset_id != asset.asset_id],
    )


class ProofCache:
    """Ledger inclusion proofs for matched assets, each checked before it is shown, and
    held against the catalog row (a failed check keeps the proof beside its reason)."""

    def __init__(self, lib: Library) -> None:
        self.lib = lib
        self._cache: dict[str, dict[str, Any]] = {}

    def get(self, asset_id: str) -> dict[str, Any]:
        if asset_id not in self._cache:
            try:
                doc = {**self.lib.registration_proof(asset_id).to_dict(), "verified": True}
            except CatalogMismatchError as exc:
                doc = {**exc.proof.to_dict(), "verified": False, "error": exc.message}
            except AssetLoomError as exc:
                doc = {"verified": False, "error": exc.message}
            self._cache[asset_id] = doc
        return self._cache[asset_id]

    def signed_time(self, match: Match) -> Match:
        """The match with the registration time its signed leaf states (the catalog's
        copy of it may have been edited); unchanged when there is no leaf to read."""
        leaf = self.get(match.asset_id).get("leaf")
        if not isinstance(leaf, str):
            return match
        stated = json.loads(leaf).get("registered_at")
        if not isinstance(stated, str):
            return match
        return replace(match, registered_at=datetime.fromisoformat(stated))


class CopyFinder:
    """Finds library assets that a prepared (query-side) file copies."""

    def __init__(self, lib: Library) -> None:
        self.lib = lib
        self.index = lib.fingerprint_index()
        self.verifier = geometric.Verifier(lib.blobs, lib.derived)

    def matches(self, rec: Prepared, *, exclude: str | None = None) -> list[Match]:
        found: dict[str, tuple[Tier, float]] = {}
        moments: dict[str, Segment] = {}
        near: dict[str, float] = {}
        inliers: dict[str, int] = {}
        exact = self.lib.catalog.asset_of_sha(rec.sha256)
        if exact:
            found[exact] = (Tier.EXACT, 0.0)
        if rec.media_type is MediaType.IMAGE:
            found.update(self._image_candidates(rec.fingerprints, set(found), moments, near))
        elif rec.media_type is MediaType.TEXT:
            found.update(self._text_candidates(rec.fingerprints, skip=set(found)))
        elif rec.media_type is MediaType.VIDEO:
            found.update(video_candidates(self.lib, self.index, rec, set(found), moments))
        elif rec.media_type is MediaType.AUDIO:
            found.update(audio_candidates(self.lib.catalog, rec, set(found), moments))
        elif rec.media_type is MediaType.DOCUMENT:
            # Known by its text; a design or a scan (no text of its own) by its picture.
            if any(f.kind == Family.SIMHASH64 for f in rec.fingerprints):
                found.update(self._text_candidates(rec.fingerprints, skip=set(found)))
            else:
                found.update(self._image_candidates(rec.fingerprints, set(found), moments))
        neighbours = self.neighbours(rec)
        if rec.media_type is MediaType.IMAGE:
            skip = {*found, exclude or ""}
            found.update(self._geometric_candidates(rec, near, neighbours, skip, inliers))
        found.update(self._similar_candidates(rec, neighbours, skip=set(found)))
        found.pop(exclude or "", None)
        assets = self.lib.get_many(found)
        for trashed in self.lib.organise.trashed_among(assets):  # hidden until restored
            del assets[trashed]
        matches = [
            Match(
                aid,
                tier,
                round(dist, 4),
                assets[aid].registered_at,
                assets[aid].original_name,
                moments.get(aid),
                inliers.get(aid),
            )
            for aid, (tier, dist) in found.items()
            if aid in assets
        ]
        matches.sort(key=lambda m: (m.tier.rank, m.distance, m.registered_at))
        return matches

    def _image_candidates(
        self,
        query: list[Fingerprint],
        skip: set[str],
        moments: dict[str, Segment],
        near: dict[str, float] | None = None,
    ) -> dict[str, tuple[Tier, float]]:
        """Images the still copies (`copy_rules`), and videos it is a frame grab of (their
        key frames share the "pdq" index), with the frame's moment in `moments`. Images the
        index found that the rule turned down go to `near` with their closest PDQ distance:
        geometric verification looks at the closest of them."""
        row_ids: set[int] = set()
        for family, radius in copy_rules.SEARCH_RADIUS.items():
            codes = [f.value for f in query if f.kind.startswith(family)]
            for hits in self.index.search(family, codes, radius):
                row_ids.update(row_id for row_id, _ in hits)
        stored = self._fingerprints_of_rows(row_ids)
        out: dict[str, tuple[Tier, float]] = {}
        videos = {a: fps for a, fps in stored.items() if a not in skip and has_frames(fps)}
        out.update(frame_grab_candidates(self.lib, query, videos, moments))
        for asset_id, fps in stored.items():
            if asset_id in skip or asset_id in videos:
                continue
            verdict = copy_rules.image_match(query, fps)
            if verdict is not None:
                out[asset_id] = verdict
            elif near is not None:
                near[asset_id] = float(copy_rules.closest_pdq(query, fps))
        return out

    def _geometric_candidates(
        self,
        rec: Prepared,
        near: dict[str, float],
        neighbours: list[tuple[str, float]],
        skip: set[str],
        inliers: dict[str, int],
    ) -> dict[str, tuple[Tier, float]]:
        """Near misses and look-alikes whose local features map onto the query's
        (`copy_rules.geometric_match`): near-identical, with the PDQ distance as the distance
        and the inlier count, the evidence, in `inliers`."""
        query = geometric.query_keypoints(rec.derived)
        if not query:
            return {}
        ids = geometric.candidates(
            {a: d for a, d in near.items() if a not in skip},
            [(a, c) for a, c in neighbours if a not in skip],
        )
        if not ids:
            return {}
        assets = self.lib.catalog.get_many(ids, fingerprints=True)
        out: dict[str, tuple[Tier, float]] = {}
        for asset_id in ids:
            asset = assets.get(asset_id)
            if asset is None:
                continue
            evidence = self.verifier.evidence(query, asset)
            if evidence is not None and copy_rules.geometric_match(evidence):
                dist = near.get(asset_id)
                if dist is None:
                    dist = float(copy_rules.closest_pdq(rec.fingerprints, asset.fingerprints))
                out[asset_id] = (Tier.NEAR_IDENTICAL, dist)
                inliers[asset_id] = evidence.inliers
        return out

    def _text_candidates(
        self, query: list[Fingerprint], skip: set[str]
    ) -> dict[str, tuple[Tier, float]]:
        by_kind = {f.kind: f.value for f in query}
        out: dict[str, tuple[Tier, float]] = {}
        same_text = self.lib.catalog.assets_with_fingerprint(
            "text_nsha256", by_kind.get("text_nsha256", b"")
        )
        for asset_id in same_text:
            out[asset_id] = (Tier.NEAR_IDENTICAL, 0.0)
        hits = self.index.search(Family.SIMHASH64, [by_kind[Family.SIMHASH64]], TEXT_SEARCH_RADIUS)[
            0
        ]
        stored = self._fingerprints_of_rows({row_id for row_id, _ in hits})
        for asset_id, fps in stored.items():
            if asset_id in skip or asset_id in out:
                continue
            theirs = {f.kind: f.value for f in fps}
            jac = jaccard_estimate(by_kind["minhash64"], theirs.get("minhash64", b""))
            dist = hamming(by_kind["simhash64"], theirs.get("simhash64", bytes(8)))
            if is_near_duplicate(dist, jac):
                out[asset_id] = (Tier.NEAR_IDENTICAL, round(1.0 - jac, 4))
        return out

    def neighbours(self, rec: Prepared) -> list[tuple[str, float]]:
        """Nearest assets by embedding (backbone for pictures, text space otherwise) with
        their cosine, best first."""
        space = Space.BACKBONE if rec.media_type is MediaType.IMAGE else Space.TEXT
        vector = rec.embeddings.get(space)
        if vector is None:
            return []
        hits = self.lib.vector_spaces().search_assets(
            space, np.frombuffer(vector, dtype=np.float32), CANDIDATES
        )
        return [(asset_id, float(detail["similarity"])) for asset_id, detail in hits]

    def _similar_candidates(
        self, rec: Prepared, neighbours: list[tuple[str, float]], skip: set[str]
    ) -> dict[str, tuple[Tier, float]]:
        """Same subject or scene, by embeddings: the tier below near-identical copies."""
        image = rec.media_type is MediaType.IMAGE
        out: dict[str, tuple[Tier, float]] = {}
        for asset_id, cosine in neighbours:
            if asset_id not in skip and asset_id not in out and is_similar(cosine, image=image):
                out[asset_id] = (Tier.SIMILAR, round(1.0 - cosine, 4))
        return out

    def _fingerprints_of_rows(self, row_ids: Iterable[int]) -> dict[str, list[Fingerprint]]:
        """All stored fingerprints of the assets owning these fingerprint rows."""
        return self.lib.catalog.fingerprints_of_rows(row_ids)


def stored_vectors(lib: Library, asset_id: str) -> dict[str, bytes]:
    return lib.catalog.vectors_of(asset_id)
