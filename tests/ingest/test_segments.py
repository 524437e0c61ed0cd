"""Parts of an asset: passages and their vectors are stored with the asset, and a search hit
names the passage it matched by meaning or by keyword, with its time."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import ClassVar

import pytest

from assetloom.app.library import Library
from assetloom.app.search import SearchQuery
from assetloom.core.assets import MediaType, Segment, Space
from assetloom.ingest.extractors import base as extractor_base
from assetloom.ingest.records import ModelInputs, Options, Prepared

SEGMENTS = [
    (0.0, 6.5, "Welcome to the spring product launch of our new bottle."),
    (6.5, 14.0, "A red kayak glides down a calm river at sunrise."),
    (14.0, 21.0, "Ask about the zanzibar limited edition in every store."),
]


class TranscriptExtractor:
    """Stands in for speech recognition: a JSON file that *is* a transcript."""

    media_type: ClassVar[MediaType] = MediaType.AUDIO

    def accepts(self, mime: str) -> bool:
        return mime == "application/json"

    def mime_of(self, where: str, mime: str) -> str:
        return "audio/x-test-transcript"

    def extract(self, path: Path, record: Prepared, opts: Options, *, query: bool) -> ModelInputs:
        rows = json.loads(path.read_text("utf-8"))
        record.passages = [Segment("transcript", s, e, text=t) for s, e, t in rows]
        record.text_content = " ".join(t for _, _, t in rows)
        record.metadata = {"duration": rows[-1][1]}
        return ModelInputs()


@pytest.fixture
def transcripts() -> Iterator[None]:
    extractor = TranscriptExtractor()
    extractor_base._registry.insert(0, extractor)
    try:
        yield
    finally:
        extractor_base._registry.remove(extractor)


@pytest.fixture
def lib(tmp_path: Path, understanding: None, transcripts: None) -> Iterator[Library]:
    with Library.create(tmp_path / "lib") as lib:
        lib.settings = lib.settings.model_copy(update={"workers": 1})
        yield lib


def _add(lib: Library, tmp_path: Path) -> str:
    path = tmp_path / "launch.json"
    path.write_text(json.dumps(SEGMENTS))
    report = lib.add([path])
    assert report.skipped == []
    return report.added[0].asset_id


def test_passages_and_their_vectors_are_stored(lib: Library, tmp_path: Path) -> None:
    asset_id = _add(lib, tmp_path)
    stored = lib.catalog.passages_of([asset_id])[asset_id]
    assert [(p.start, p.end, p.text) for p in stored] == SEGMENTS
    # The whole asset has no vector of its own here: only its passages do.
    assert Space.TEXT not in lib.catalog.vectors_of(asset_id)
    assert lib.vector_spaces().sizes().get(Space.TEXT) == len(SEGMENTS)
    lib.remove(asset_id)
    assert lib.catalog.passages_of([asset_id]) == {}
    assert lib.vector_spaces().sizes().get(Space.TEXT, 0) == 0


def test_a_hit_by_meaning_names_the_passage_and_its_time(lib: Library, tmp_path: Path) -> None:
    asset_id = _add(lib, tmp_path)
    hits = lib.search(SearchQuery(text="boat paddling on a quiet stream at dawn", limit=3))
    assert hits[0].asset.asset_id == asset_id
    moment = hits[0].matched[0]
    assert moment["source"] == "transcript" and moment["via"] == "text"
    assert (moment["start"], moment["end"]) == (6.5, 14.0)
    assert "kayak" in moment["text"]
    retrievers = [m for m in hits[0].matched if "rank" in m]
    assert retrievers and all("segment" not in m for m in retrievers)


def test_a_keyword_hit_names_the_passage_holding_the_words(lib: Library, tmp_path: Path) -> None:
    asset_id = _add(lib, tmp_path)
    hits = lib.search(SearchQuery(text="zanzibar", limit=3, media_type=MediaType.AUDIO))
    assert hits and hits[0].asset.asset_id == asset_id
    by_keyword = [m for m in hits[0].matched if m.get("via") == "keyword"]
    vector_moments = [m for m in hits[0].matched if m.get("via") == "text"]
    starts = {m["start"] for m in by_keyword + vector_moments}
    assert 14.0 in starts  # the passage that says it, by whichever retriever named it first


def test_show_and_the_api_list_the_passages(lib: Library, tmp_path: Path) -> None:
    from assetloom.api.views import asset_doc
    from tests.media import make_photo

    asset_id = _add(lib, tmp_path)
    doc = asset_doc(lib, lib.get(asset_id))
    assert [(p["start"], p["end"], p["text"]) for p in doc["passages"]] == SEGMENTS
    assert all(set(p) == {"source", "start", "end", "text"} for p in doc["passages"])
    photo = lib.add([make_photo(tmp_path / "p.jpg", seed=1)]).added[0].asset_id
    assert "passages" not in asset_doc(lib, lib.get(photo))  # shapes without any stay as they were


def test_the_human_search_table_names_the_moment(
    lib: Library, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from assetloom.cli.understand import _render_hits

    _add(lib, tmp_path)
    hits = lib.search(SearchQuery(text="boat paddling on a quiet stream at dawn", limit=3))
    _render_hits(hits, as_json=False)
    assert "transcript at 0:06.5" in capsys.readouterr().out
