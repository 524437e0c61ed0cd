"""Which passage of an asset a keyword query was found in.

Keyword search ranks whole assets (BM25 over the asset's text); to say *where* in a
recording or document the words were, the asset's passages are scored by how many of the
query's terms each contains (CJK one character per term, as the keyword index tokenises it),
ties to the earliest. Cheap, and exact about what it claims: the passage holds the words.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence

from assetloom.core.assets import Segment

_TERM = re.compile(r"[\u3400-\u9fff\uf900-\ufaff\u3040-\u30ff\uac00-\ud7af]|[^\W_]+", re.UNICODE)


def terms(text: str) -> set[str]:
    return set(_TERM.findall(unicodedata.normalize("NFKC", text).casefold()))


def best_passage(query: str, passages: Sequence[Segment]) -> Segment | None:
    """The passage holding most of the query's terms (at least one); None if none does."""
    wanted = terms(query)
    best: Segment | None = None
    best_score = 0
    for p in passages:
        score = len(wanted & terms(p.text or ""))
        if score > best_score:
            best, best_score = p, score
    return best
