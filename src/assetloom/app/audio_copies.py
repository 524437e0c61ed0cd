"""Which library recordings an audio file copies: candidates from an inverted index kept in
the catalog, judged by the pure rules in `core.audio_match`.

Each stored recording is filed under its Chromaprint lookup keys (`index_keys`: 24 robust
bits of a word, half of all keys, ~400 for two minutes) as fingerprint rows of kind
"chromaprint-key"; a query looks up at most `PROBE_BUDGET` of its own keys through the
catalog's (kind, value) index, counts the hits per asset, and aligns only the
`MAX_CANDIDATES` best with their full fingerprints. A verify costs ~160 indexed lookups and a
handful of alignments however many recordings the library holds.

Why catalog rows and not a FAISS binary index: Chromaprint words are compared at an offset
found by alignment, not as one code per asset, so a Hamming index over them would hold one
code per word (thousands per recording) and still need the alignment; an inverted index of
fingerprint words is how AcoustID's server finds candidates too. The rows commit in
the adding transaction with the asset, so a removed asset takes its keys along, a crash
leaves no stale index, and there is no cache file to rebuild or keep in step between
processes.
"""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING

from assetloom.core.assets import Segment, Tier
from assetloom.core.audio_match import (
    CHROMAPRINT,
    CHROMAPRINT_KEY,
    ITEM_SECONDS,
    Alignment,
    audio_match,
    probe_keys,
    words,
)

if TYPE_CHECKING:
    from assetloom.core.assets import Asset
    from assetloom.ingest.records import Prepared
    from assetloom.store.base import CatalogStore

MAX_CANDIDATES = 16
COMMON_KEY = 50
"""A key shared by more recordings than this (a common chord, a steady hum) picks nobody."""
WHOLE_SLACK = 0.5
"""Seconds a copy may lack at either end and still be a copy of the whole recording."""


def audio_candidates(
    catalog: CatalogStore, rec: Prepared, skip: set[str], moments: dict[str, Segment]
) -> dict[str, tuple[Tier, float]]:
    """Library recordings `rec` (a query-side record) copies, each with its tier and bit
    error rate; where in each the copy lies goes to `moments`."""
    value = next((f.value for f in rec.fingerprints if f.kind == CHROMAPRINT), None)
    if value is None:
        return {}
    query = words(value)
    hits: Counter[str] = Counter()
    for key in probe_keys(query):
        owners = set(catalog.assets_with_fingerprint(CHROMAPRINT_KEY, key)) - skip
        if len(owners) <= COMMON_KEY:
            hits.update(owners)
    candidates = [asset_id for asset_id, _ in hits.most_common(MAX_CANDIDATES)]
    stored = catalog.get_many(candidates, fingerprints=True)
    out: dict[str, tuple[Tier, float]] = {}
    for asset_id in candidates:
        asset = stored.get(asset_id)
        fps = asset.fingerprints if asset is not None else []
        theirs = next((f.value for f in fps if f.kind == CHROMAPRINT), None)
        if asset is None or theirs is None:
            continue
        verdict = audio_match(query, words(theirs))
        if verdict is not None:
            tier, distance, alignment = verdict
            out[asset_id] = (tier, round(distance, 4))
            if moment := _moment(alignment, rec, asset):
                moments[asset_id] = moment
    return out


def _moment(alignment: Alignment, rec: Prepared, asset: Asset) -> Segment | None:
    """The stretch of the library recording the query covers (from the aligned offset, for
    the query's length); None when that is all of it."""
    length = float(rec.metadata.get("duration") or 0.0)
    whole = float(asset.metadata.get("duration") or 0.0)
    start = alignment.start_seconds
    end = start + length + min(0, alignment.offset) * ITEM_SECONDS
    if whole:
        start, end = min(start, whole), min(end, whole)
        if start < WHOLE_SLACK and end > whole - WHOLE_SLACK:
            return None
    return Segment("audio", start=round(start, 2), end=round(max(start, end), 2))
