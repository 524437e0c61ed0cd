"""The ranking rules of issue #14 end to end, with the real shipped models on Flickr8k dev
images: the model's own tags are not keyword evidence, text documents do not crowd pictures
for a visual query, and scores are calibrated relevances explained in words."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from assetloom.app.library import Library
from assetloom.app.search import SearchQuery
from assetloom.core.assets import MediaType

pytestmark = pytest.mark.slow

MIT = """MIT License

Copyright (c) 2026 The Authors

Permission is hereby granted, free of charge, to any person obtaining a copy of this software
and associated documentation files (the "Software"), to deal in the Software without
restriction, including without limitation the rights to use, copy, modify, merge, publish,
distribute, sublicense, and/or sell copies of the Software, and to permit persons to whom the
Software is furnished to do so, subject to the following conditions: THE SOFTWARE IS PROVIDED
"AS IS", WITHOUT WARRANTY OF ANY KIND.
"""


@pytest.fixture(scope="module")
def ranked_library(tmp_path_factory: pytest.TempPathFactory, shared: Path):
    mp = pytest.MonkeyPatch()
    mp.setenv("ASSETLOOM_UNDERSTANDING", "true")
    mp.setenv("ASSETLOOM_OCR", "off")
    lines = (shared / "data/flickr8k/dev.jsonl").read_text().splitlines()[:60]
    items = [json.loads(line) for line in lines]
    docs = tmp_path_factory.mktemp("docs")
    (docs / "README.md").write_text(
        "# assetloom-tools\n\n命令行工具的安装说明。 Install with `pip install .`, then run `make`"
        " to build the documentation. Issues and pull requests are welcome.",
        encoding="utf-8",
    )
    (docs / "LICENSE").write_text(MIT, encoding="utf-8")
    lib = Library.create(tmp_path_factory.mktemp("ranking") / "lib")
    report = lib.add([shared / "data/flickr8k" / it["image"] for it in items] + [docs])
    assert len(report.added) == len(items) + 2, report.skipped
    ids = {Path(a.file).name: a.asset_id for a in report.added}
    yield lib, items, ids
    lib.close()
    mp.undo()


def test_a_model_auto_tag_alone_is_no_keyword_hit(ranked_library) -> None:
    from assetloom.app.tags import tags_of

    lib, items, ids = ranked_library
    auto = {
        t["key"]
        for it in items
        for t in tags_of(lib, ids[Path(it["image"]).name])
        if t["source"] == "zero-shot"
    }
    assert {"dog", "person"} & auto, "the tagger tags these photos"
    images = {ids[Path(it["image"]).name] for it in items}
    for word in ("dog", "狗", "person", "grass"):
        found = {h.asset_id for h in lib.catalog.keyword_search(word, 100)}
        assert not found & images, word  # file names are digits; no one wrote these words
    hits = lib.search(SearchQuery(text="dog running on grass", limit=10))
    assert all(m["source"] != "keyword" for h in hits for m in h.matched)


@pytest.mark.parametrize("query", ["海边的孩子", "children playing on the beach"])
def test_text_documents_do_not_crowd_pictures_for_a_visual_query(ranked_library, query) -> None:
    """Before: LICENSE and README took 3 of the top 6 for "海边的孩子" (rank fusion put each
    retriever's first on a par, and any text is near any text in e5's space)."""
    lib, _, ids = ranked_library
    hits = lib.search(SearchQuery(text=query, limit=6))
    assert len(hits) == 6
    assert all(h.asset.media_type is MediaType.IMAGE for h in hits), [
        (h.asset.original_name, h.score) for h in hits
    ]
    every = [h.asset.asset_id for h in lib.search(SearchQuery(text=query, limit=100))]
    for doc in ("README.md", "LICENSE"):
        if ids[doc] in every:
            assert every.index(ids[doc]) >= 6


def test_a_document_with_real_evidence_still_ranks_first(ranked_library) -> None:
    lib, _, ids = ranked_library
    hits = lib.search(SearchQuery(text="MIT License permission", limit=3))
    assert hits[0].asset.asset_id == ids["LICENSE"]
    assert "text contains" in hits[0].explanation


def test_scores_are_calibrated_relevances_explained_in_words(ranked_library) -> None:
    lib, items, _ = ranked_library
    tops = []
    for lang in ("en", "zh"):
        for it in items[:8]:
            hits = lib.search(SearchQuery(text=it[f"captions_{lang}"][0], limit=5))
            assert all(0.0 <= h.score <= 1.0 for h in hits)
            assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)
            tops.append(hits[0].score)
            picture = next(h for h in hits if h.asset.media_type is MediaType.IMAGE)
            assert picture.explanation.startswith("picture matches '")
            assert picture.to_json()["explanation"] == picture.explanation
    assert len(set(tops)) > len(tops) // 2, "not a position: each query's best scores apart"
    query = items[0]["captions_en"][0]
    every = lib.search(SearchQuery(text=query, limit=50))
    cut = sorted(h.score for h in every)[len(every) // 2]
    kept = lib.search(SearchQuery(text=query, limit=50, min_score=cut))
    assert kept and len(kept) < len(every) and all(h.score >= cut for h in kept)


def test_eval_retrieval_measures_an_images_only_library_and_reuses_it(
    shared: Path, tmp_path: Path, understanding: None
) -> None:
    from assetloom.app.evaluation import eval_retrieval
    from assetloom.errors import BadInputError

    data = tmp_path / "mini.jsonl"
    lines = (shared / "data/flickr8k/dev.jsonl").read_text().splitlines()[:12]
    data.write_text(
        "".join(
            json.dumps({**it, "image": str(shared / "data/flickr8k" / it["image"])}) + "\n"
            for it in map(json.loads, lines)
        )
    )
    kept = tmp_path / "kept"
    first = eval_retrieval(data, "en", library=kept)
    assert first["mode"] == "images" and first["queries"] == 60
    assert set(first["with_captions"]) == {"text_to_image"}
    assert (kept / "images").is_dir() and (kept / "captions-en").is_dir()
    with Library.open(kept / "images") as lib:
        assert lib.count() == 12  # the images alone
    with Library.open(kept / "captions-en") as lib:
        assert lib.count() > 12
    again = eval_retrieval(data, "en", library=kept)
    assert again == first
    old = eval_retrieval(data, "en", mode="captions", library=kept)
    assert old["text_to_image"] == first["with_captions"]["text_to_image"]
    assert "with_captions" not in old and old["image_to_text"] == first["image_to_text"]
    (tmp_path / "note.txt").write_text("Not one of the evaluation's images.")
    with Library.open(kept / "images") as lib:
        assert lib.add([tmp_path / "note.txt"]).added
    with pytest.raises(BadInputError, match="other assets"):
        eval_retrieval(data, "en", library=kept)
