"""With the models on: an edited title is found by meaning (the shared text space), rejected
auto-tags never come back on re-runs of the tagger (`tags define`, `index embed`), and
re-embedding keeps what a person edited and tagged (and embeds the edited title again)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import delete

from assetloom.app.library import Library
from assetloom.app.search import SearchQuery
from assetloom.models.errors import ModelNotInstalledError
from assetloom.store.search_tables import EmbeddingRow

pytestmark = pytest.mark.slow


@pytest.fixture
def lib(tmp_path: Path, understanding: None) -> Library:
    made = Library.create(tmp_path / "lib")
    try:
        made.text_encoder().encode_queries(["probe"])
    except ModelNotInstalledError as exc:
        made.close()
        pytest.skip(f"offline encoders not available: {exc}")
    return made


def _dev_photos(shared: Path, n: int) -> list[Path]:
    """Real photos of the kind the tagger knows (Flickr8k dev), so auto-tags are there to reject:
    a generated picture gets none now that the head must agree with the ImageNet classifier."""
    lines = (shared / "data/flickr8k/dev.jsonl").read_text().splitlines()[:n]
    return [shared / "data/flickr8k" / json.loads(line)["image"] for line in lines]


def test_edits_search_and_rejections_survive_retagging(
    lib: Library, tmp_path: Path, shared: Path
) -> None:
    with lib:
        report = lib.add(_dev_photos(shared, 3))
        a, b, _ = (x.asset_id for x in sorted(report.added, key=lambda x: x.file))

        # By meaning: the edited title and description are a vector in the text space.
        lib.set_metadata(
            [a],
            {"title": "灯塔 lighthouse keeper's cottage", "description": "rocky coast at dusk"},
            actor="alice",
        )
        hits = lib.search(SearchQuery(text="lighthouse on a rocky coast", limit=3))
        assert hits and hits[0].asset.asset_id == a
        moments = [m for m in hits[0].matched if m.get("source") == "metadata"]
        assert moments and moments[0]["via"] == "text" and "lighthouse" in moments[0]["text"]
        # A second edit replaces that vector rather than adding one.
        lib.set_metadata([a], {"title": "灯塔 lighthouse at night"}, actor="alice")
        with lib.catalog.unit_of_work() as uow:
            from assetloom.store.metadata import MetadataWrites

            assert len(MetadataWrites(uow.session).metadata_vector_rows([a], "metadata")) == 1

        # A user tag re-scored by `tags define` never comes back where it was rejected.
        assert lib.define_tag("mine", "my shot", "我的", [a], None) >= 1
        assert "mine" in {k for k, _, _ in lib.catalog.tags_of(a)}
        lib.reject_tag(a, "mine", actor="alice")
        lib.change_tags([b], add=["mine"], actor="alice")  # by hand elsewhere
        lib.define_tag("mine", "my shot", "我的", [a], None)
        assert "mine" not in {k for k, _, _ in lib.catalog.tags_of(a)}
        assert ("mine", 1.0, "manual") in lib.catalog.tags_of(b)

        # Zero-shot tags: reject one, re-embed the asset (`index embed` after a model change).
        auto = [k for k, _, source in lib.catalog.tags_of(a) if source == "zero-shot"]
        assert auto, "the tagger gave this dev photo no zero-shot tag to reject"
        lib.reject_tag(a, auto[0], actor="alice")
        lib.change_tags([a], add=["sku-1234"], actor="alice")
        with lib.catalog.unit_of_work() as uow:
            uow.session.execute(delete(EmbeddingRow).where(EmbeddingRow.asset_id == a))
        assert lib.embed_missing() == 1
        keys = {k: source for k, _, source in lib.catalog.tags_of(a)}
        assert auto[0] not in keys and keys["sku-1234"] == "manual"
        assert lib.metadata([a])[0].rejected_tags == sorted({auto[0], "mine"})
        # The edited title's vector is made again, so it is still found by meaning.
        hits = lib.search(SearchQuery(text="lighthouse at night", limit=3))
        assert hits and hits[0].asset.asset_id == a
        assert any(m.get("source") == "metadata" for m in hits[0].matched)
        # Re-embedding rewrote the keyword row from the file, keeping the edits and tags.
        found = {h.asset.asset_id for h in lib.search(SearchQuery(text="灯塔"))}
        assert a in found
        assert a in {h.asset.asset_id for h in lib.search(SearchQuery(text="sku"))}
