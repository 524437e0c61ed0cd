"""What a duplicate group is and which member to keep."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from assetloom.core.assets import Asset, Tier

RULES_VERSION = "2026-12-geometric-region"
"""Names the copy rules a remembered comparison was made under (`duplicates` is incremental):
change it when `core.copy_rules` or the probes change, and the next run compares everything
again."""


def group_pairs(
    pairs: Iterable[tuple[str, str, Tier, float]],
) -> list[tuple[list[str], Tier, dict[str, float]]]:
    """Connected components of matched pairs (union-find).

    A group's tier is its weakest link, so "exact" is only claimed when every link is exact.
    Each member's distance is its smallest distance to any other member.
    """
    parent: dict[str, str] = {}

    def find(x: str) -> str:
        parent.setdefault(x, x)
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    links: list[tuple[str, str, Tier, float]] = list(pairs)
    for a, b, _, _ in links:
        ra, rb = find(a), find(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)
    members: dict[str, list[str]] = defaultdict(list)
    for x in list(parent):
        members[find(x)].append(x)
    tiers: dict[str, Tier] = {}
    distances: dict[str, float] = {}
    for a, b, tier, dist in links:
        root = find(a)
        if root not in tiers or tier.rank > tiers[root].rank:
            tiers[root] = tier
        for x in (a, b):
            distances[x] = min(distances.get(x, dist), dist)
    out = []
    for root, group in members.items():
        group_d = {x: distances.get(x, 0.0) for x in group}
        out.append((sorted(group), tiers[root], group_d))
    out.sort(key=lambda g: (g[1].rank, -len(g[0]), g[0][0]))
    return out


def choose_keeper(assets: list[Asset]) -> tuple[Asset, str]:
    """Largest picture first, then the larger (less compressed) file, then the earliest."""
    best = max(assets, key=lambda a: (a.pixels, a.size, -a.registered_at.timestamp()))
    reasons = []
    if best.pixels and all(best.pixels >= a.pixels for a in assets):
        reasons.append(f"largest ({best.width}×{best.height})")
    if all(best.size >= a.size for a in assets):
        reasons.append("largest file, least compressed")
    if all(best.registered_at <= a.registered_at for a in assets):
        reasons.append("registered first")
    return best, ", ".join(reasons) or "best overall"
