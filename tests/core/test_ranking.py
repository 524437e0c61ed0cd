"""The ranking rules measured on Flickr8k dev-A / dev-B (docs/search.md), pinned."""

from __future__ import annotations

import math

import pytest

from assetloom.core.ranking import explain, fuse, rank_by_relevance
from assetloom.core.relevance import CALIBRATION, Evidence, query_language, relevance


def _vec(*items: tuple[str, float]) -> list[tuple[str, dict]]:
    return [(a, {"similarity": s}) for a, s in items]


def _kw(*ids: str) -> list[tuple[str, dict]]:
    return [(a, {"bm25": 1.0, "fields": ["title"]}) for a in ids]


def test_query_language_is_zh_on_any_cjk_character() -> None:
    assert query_language("海边的孩子") == "zh"
    assert query_language("kids at the 海边") == "zh"
    assert query_language("dog on grass") == "en"


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_relevance_grows_with_the_cosine_and_falls_with_the_gap(lang: str) -> None:
    low = relevance(Evidence(picture=0.10, picture_best=0.20), lang)
    high = relevance(Evidence(picture=0.19, picture_best=0.20), lang)
    top = relevance(Evidence(picture=0.20, picture_best=0.20), lang)
    assert 0.0 < low < high < top < 1.0
    for kind in ("picture", "text"):
        c = CALIBRATION[kind][lang]
        assert c["cosine"] > 0 and c["gap"] >= 0


def test_a_keyword_hit_in_what_people_wrote_adds_evidence() -> None:
    plain = relevance(Evidence(picture=0.18, picture_best=0.22), "en")
    titled = relevance(Evidence(picture=0.18, picture_best=0.22, keyword_rank=1), "en")
    far_down = relevance(Evidence(picture=0.18, picture_best=0.22, keyword_rank=80), "en")
    assert titled > far_down > plain


def test_a_document_needs_a_far_higher_cosine_than_a_picture() -> None:
    """e5 puts unrelated text near any query (a LICENSE at 0.78 from "海边的孩子"), while a
    matching picture sits near 0.35-0.43 (adapted picture queries; 0.2 before them): a document
    is ranked among pictures only on evidence."""
    for lang in ("en", "zh"):
        picture = relevance(Evidence(picture=0.35, picture_best=0.35), lang)
        licence = relevance(Evidence(text=0.78, text_best=0.78), lang)
        assert licence < picture / 3


def test_rank_by_relevance_puts_a_matching_picture_above_loose_documents() -> None:
    lists = {
        "visual": _vec(("beach-kids", 0.36), ("street", 0.2)),
        "text": _vec(("LICENSE", 0.79), ("README", 0.78)),
        "keyword": [],
    }
    ranked = rank_by_relevance(lists, "zh")
    score = {f.asset_id: f.score for f in ranked}
    assert ranked[0].asset_id == "beach-kids"
    assert score["README"] < score["beach-kids"] / 5 and score["LICENSE"] < 0.02
    assert all(0.0 <= f.score <= 1.0 for f in ranked)
    assert {m.source for m in ranked[0].matched} == {"visual"}


def test_rank_by_relevance_scores_are_not_positions() -> None:
    """Rank fusion gave every query 1.0, 0.98, ... whatever it found; a calibrated score of
    a weak best match is low, so --min-score cuts it."""
    strong = rank_by_relevance({"visual": _vec(("a", 0.24), ("b", 0.10))}, "en")
    weak = rank_by_relevance({"visual": _vec(("a", 0.06), ("b", 0.05))}, "en")
    assert strong[0].score > 2 * weak[0].score
    rrf = fuse({"visual": _vec(("a", 0.06), ("b", 0.05))})
    assert rrf[0].score == 1.0  # what it replaced: a position, not a relevance


def test_a_keyword_only_hit_is_bounded_by_the_vector_lists_last_cosine() -> None:
    lists = {
        "visual": _vec(("a", 0.22), ("b", 0.15), ("c", 0.14)),
        "keyword": _kw("far"),
    }
    ranked = {f.asset_id: f.score for f in rank_by_relevance(lists, "en")}
    at_floor = relevance(Evidence(picture=0.14, picture_best=0.22, keyword_rank=1), "en")
    assert math.isclose(ranked["far"], round(at_floor, 6), abs_tol=1e-6)
    assert ranked["a"] > ranked["c"]


def test_ties_in_the_shown_score_keep_the_model_order() -> None:
    lists = {"visual": _vec(*((f"x{i:03d}", 0.02 - i * 1e-4) for i in range(50)))}
    ranked = [f.asset_id for f in rank_by_relevance(lists, "en")]
    assert ranked == [f"x{i:03d}" for i in range(50)]


def test_explain_in_words() -> None:
    matched = [
        {"source": "visual", "rank": 3, "similarity": 0.54},
        {"source": "keyword", "rank": 1, "bm25": 3.2, "fields": ["title"]},
    ]
    why = explain(matched, "dog on grass", {"title": "Grass field, evening"})
    assert why == "picture matches 'dog on grass'; title contains 'grass'"
    zh = explain(
        [{"source": "keyword", "rank": 1, "fields": ["description"]}],
        "海边的孩子",
        {"description": "两个孩子在海边"},
    )
    assert zh == "description contains '海边的孩子'" or "海边" in zh


def test_explain_names_moments_and_example_images() -> None:
    matched = [
        {"source": "transcript", "start": 72.4, "end": 80.0, "text": "rain", "via": "text"},
        {"source": "text", "rank": 1, "similarity": 0.9},
        {"source": "keyword", "rank": 2, "fields": ["content"]},
    ]
    why = explain(matched, "rain delay", {})
    assert why.startswith("speech at 1:12 reads like 'rain delay'")
    assert "text contains 'rain delay'" in why
    assert "text reads like" not in why  # the moment already says it
    like = explain(
        [{"source": "visual", "rank": 1, "similarity": 0.8}, {"source": "backbone", "rank": 1}],
        None,
    )
    assert like == "picture matches the example; looks like the example picture"


def test_a_document_below_the_bar_yields_to_every_picture_unless_its_words_match() -> None:
    """DOCUMENT_BAR: a README near the words only by e5's text baseline (p about 0.02) comes
    after the pictures, even the weak ones; a hit of all the words keeps it in its place, and
    the any-term fallback (which matches "the", "on") does not count."""
    pictures = _vec(("p1", 0.22), ("p2", 0.12), ("p3", 0.10))
    readme = _vec(("README", 0.80))
    partial = [("README", {"bm25": 0.1, "fields": ["content"], "partial": True})]
    for keyword in ([], partial):
        lists = {"visual": pictures, "text": readme, "keyword": keyword}
        order = [f.asset_id for f in rank_by_relevance(lists, "en")]
        assert order == ["p1", "p2", "p3", "README"], keyword
    hit = [("README", {"bm25": 3.0, "fields": ["content"]})]
    lists = {"visual": pictures, "text": readme, "keyword": hit}
    order = [f.asset_id for f in rank_by_relevance(lists, "en")]
    assert order.index("README") < order.index("p3")
    paraphrase = {"visual": pictures, "text": _vec(("notes", 0.93)), "keyword": []}
    assert rank_by_relevance(paraphrase, "en")[0].asset_id == "notes"


def test_explain_quotes_the_query_when_a_field_holds_all_its_words() -> None:
    matched = [{"source": "keyword", "rank": 1, "fields": ["title", "content"], "partial": False}]
    why = explain(matched, "a dog on the grass", {"title": "A dog on the grass, running"})
    assert why == "title contains 'a dog on the grass'; text contains 'a dog on the grass'"
    partial = [{"source": "keyword", "rank": 4, "fields": ["content"], "partial": True}]
    assert explain(partial, "children on the beach") == "text contains some of the words"
