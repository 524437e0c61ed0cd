"""Text in pictures, with the real RapidOCR models: found, stored as passages, searchable;
photos without text cost the gate alone."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from assetloom.app.library import Library
from assetloom.app.search import SearchQuery
from assetloom.models import timing
from assetloom.models.ocr.rapid import OCR_GATE, OCR_READ
from assetloom.models.registry import get_ocr_engine
from tests.ocr.pictures import SALE_LINES, example, with_text


def _cer(found: str, truth: str) -> float:
    """Character error rate: edit distance over the truth's length."""
    prev = list(range(len(found) + 1))
    for i, t in enumerate(truth, 1):
        row = [i]
        for j, f in enumerate(found, 1):
            row.append(min(prev[j] + 1, row[j - 1] + 1, prev[j - 1] + (t != f)))
        prev = row
    return prev[-1] / max(1, len(truth))


class Tasks:
    """Which OCR stages ran, as the models layer reports them to any observer."""

    def __init__(self) -> None:
        self.seen: list[str] = []

    def __call__(self, model: str, task: str, batch: int, seconds: float) -> None:
        self.seen.append(task)


@pytest.fixture
def tasks() -> Iterator[Tasks]:
    seen = Tasks()
    timing.add_observer(seen)
    try:
        yield seen
    finally:
        timing.remove_observer(seen)


def test_chinese_and_english_lines_are_read_with_their_boxes(tasks: Tasks) -> None:
    picture = with_text()
    lines = get_ocr_engine().recognise(picture)
    assert [_cer(line.text, truth) for line, truth in zip(lines, SALE_LINES, strict=True)] == [
        0.0,
        0.0,
    ]
    for line in lines:
        assert len(line.box) == 4 and 0.6 <= line.score <= 1.0
        xs, ys = [x for x, _ in line.box], [y for _, y in line.box]
        assert 0 <= min(xs) < max(xs) <= picture.width and 0 <= min(ys) < max(ys) < 120
    assert tasks.seen == [OCR_GATE, OCR_READ]


def test_a_photo_without_text_stops_at_the_gate(tasks: Tasks) -> None:
    assert get_ocr_engine().recognise(example("chelsea.jpg")) == []
    assert tasks.seen == [OCR_GATE]


@pytest.fixture(scope="module")
def lib(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Library]:
    """One library with a product shot carrying text and a photo without any."""
    root = tmp_path_factory.mktemp("ocr")
    with_text().save(root / "sale.jpg", quality=92)
    example("chelsea.jpg").save(root / "cat.jpg", quality=92)
    with pytest.MonkeyPatch.context() as env:
        env.setenv("ASSETLOOM_UNDERSTANDING", "true")
        env.setenv("ASSETLOOM_MODERATION", "off")
        with Library.create(root / "lib") as library:
            library.settings = library.settings.model_copy(update={"workers": 1})
            report = library.add([root / "sale.jpg", root / "cat.jpg"])
            assert report.skipped == []
            yield library


def _id(lib: Library, name: str) -> str:
    return next(a.asset_id for a in lib.list().assets if a.original_name == name)


def test_the_text_is_a_passage_and_in_the_metadata(lib: Library) -> None:
    sale, cat = _id(lib, "sale.jpg"), _id(lib, "cat.jpg")
    passages = lib.catalog.passages_of([sale, cat])
    assert cat not in passages
    [passage] = passages[sale]
    assert passage.source == "ocr" and passage.text == "\n".join(SALE_LINES)
    lines = lib.get(sale).metadata["ocr"]
    assert [line["text"] for line in lines] == list(SALE_LINES)
    assert all(len(line["box"]) == 4 and line["score"] >= 0.6 for line in lines)
    assert "ocr" not in lib.get(cat).metadata


@pytest.mark.parametrize("words", ["zanzibar", "八折", "coffee sale"])
def test_keyword_search_finds_the_text(lib: Library, words: str) -> None:
    hits = lib.search(SearchQuery(text=words, limit=2))
    assert hits[0].asset.asset_id == _id(lib, "sale.jpg")
    keyword = [m for m in hits[0].matched if m.get("source") == "keyword"]
    assert keyword and "content" in keyword[0]["fields"]


def test_a_photo_without_text_adds_no_passages_and_skips_reading(
    lib: Library, tasks: Tasks, tmp_path: Path
) -> None:
    example("astronaut.jpg").save(tmp_path / "astronaut.jpg")
    report = lib.add([tmp_path / "astronaut.jpg"])
    asset_id = report.added[0].asset_id
    assert lib.catalog.passages_of([asset_id]) == {}
    assert OCR_GATE in tasks.seen and OCR_READ not in tasks.seen
