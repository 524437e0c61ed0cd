"""Fusing ranked lists from several retrievers (vectors, keywords) into one asset ranking.

Reciprocal-rank fusion (Cormack et al., SIGIR 2009) needs no score calibration between
retrievers whose scores live on different scales (cosine vs BM25), which is why it is used
here; each list may carry a weight. Scores are reported normalised to [0, 1] by the best
score a single asset could reach (rank 1 in every list), so `--min-score` means the same
thing whatever the number of retrievers.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

RRF_K = 60


@dataclass(slots=True)
class Ranked:
    """One retriever's view of an asset: its rank there and why it matched."""

    source: str
    rank: int
    detail: dict[str, Any]


@dataclass(slots=True)
class Fused:
    asset_id: str
    score: float
    matched: list[Ranked] = field(default_factory=list)


def fuse(
    lists: Mapping[str, Sequence[tuple[str, dict[str, Any]]]],
    weights: Mapping[str, float] | None = None,
    k: int = RRF_K,
) -> list[Fused]:
    """`lists[source]` is [(asset_id, detail), ...] best first; the result is best first."""
    weights = weights or {}
    scores: dict[str, float] = defaultdict(float)
    matched: dict[str, list[Ranked]] = defaultdict(list)
    best_possible = 0.0
    for source, items in lists.items():
        w = weights.get(source, 1.0)
        if items:
            best_possible += w / (k + 1)
        seen: set[str] = set()
        for rank, (asset_id, detail) in enumerate(items, start=1):
            if asset_id in seen:
                continue  # several vectors of one asset: its best one counts
            seen.add(asset_id)
            scores[asset_id] += w / (k + rank)
            matched[asset_id].append(Ranked(source, rank, detail))
    if best_possible == 0:
        return []
    fused = [Fused(a, round(s / best_possible, 6), matched[a]) for a, s in scores.items()]
    fused.sort(key=lambda f: (-f.score, f.asset_id))
    return fused
