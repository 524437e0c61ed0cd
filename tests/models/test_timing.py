"""Encode calls report model, task, batch size and duration to observers (what /metrics uses)."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image

from assetloom.models import TextEncoder, get_image_encoder, get_text_encoder, timing
from assetloom.models.text_e5 import E5TextEncoder

Call = tuple[str, str, int, float]


@pytest.fixture
def calls() -> Iterator[list[Call]]:
    seen: list[Call] = []

    def observer(model: str, task: str, batch: int, seconds: float) -> None:
        seen.append((model, task, batch, seconds))

    timing.add_observer(observer)
    yield seen
    timing.remove_observer(observer)


def test_text_encoder_reports_model_task_and_batch(calls: list[Call]) -> None:
    e5 = get_text_encoder("offline")
    e5.encode_queries(["a dog on the beach", "一只狗"])
    e5.encode_passages(["Minutes: the harbour shoot moved to Friday."])
    assert [c[:3] for c in calls] == [
        ("e5-small", "text_query", 2),
        ("e5-small", "text_passage", 1),
    ]
    assert all(c[3] > 0 for c in calls)


def test_handed_out_encoder_keeps_its_attributes() -> None:
    e5 = get_text_encoder("offline")
    assert isinstance(e5, TextEncoder) and not isinstance(e5, E5TextEncoder)
    assert isinstance(e5.__wrapped__, E5TextEncoder)
    assert (e5.name, e5.dim) == ("e5-small", 384)  # read through from the backend


def test_empty_batches_and_failed_calls_are_not_reported(calls: list[Call]) -> None:
    assert get_text_encoder("offline").encode_queries([]).shape == (0, 384)

    def fail() -> None:
        raise RuntimeError("the runtime broke")

    with pytest.raises(RuntimeError):
        timing.timed("m", timing.IMAGE, 1, fail)
    assert calls == []


def test_removed_observer_is_not_called() -> None:
    seen: list[Call] = []

    def observer(*args: object) -> None:
        seen.append(args)  # type: ignore[arg-type]

    timing.add_observer(observer)
    timing.remove_observer(observer)
    timing.remove_observer(observer)  # unknown now: ignored
    get_text_encoder("offline").encode_queries(["a red car"])
    assert seen == []


def test_a_failing_observer_neither_fails_the_call_nor_starves_others(
    calls: list[Call], caplog: pytest.LogCaptureFixture
) -> None:
    def broken(*args: object) -> None:
        raise ValueError("metrics sink down")

    timing.add_observer(broken)
    try:
        with caplog.at_level(logging.ERROR, logger="assetloom.models"):
            assert timing.timed("m", timing.TEXT_QUERY, 3, lambda: 42) == 42
    finally:
        timing.remove_observer(broken)
    assert [c[:3] for c in calls] == [("m", "text_query", 3)]
    assert "inference observer" in caplog.text


def test_observers_added_and_removed_from_many_threads() -> None:
    before = timing._observers

    def churn() -> None:
        for _ in range(200):

            def observer(*args: object) -> None:
                pass

            timing.add_observer(observer)
            timing.timed("m", timing.TEXT_QUERY, 1, lambda: None)
            timing.remove_observer(observer)

    threads = [threading.Thread(target=churn) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert timing._observers == before


def test_image_encoder_reports_image_task(
    calls: list[Call], tmp_path_factory: pytest.TempPathFactory
) -> None:
    pytest.importorskip("tokenizers")
    tiny_clip = pytest.importorskip("tiny_clip", reason="test helper beside this file")
    clip_dir: Path = tiny_clip.write_tiny_clip(tmp_path_factory.mktemp("tiny-clip"))
    encoder = get_image_encoder(f"clip:{clip_dir}")
    images = [Image.new("RGB", (40, 30), (200, 30, 30)), Image.new("L", (32, 32), 90)]
    encoder.encode_with_features(images)
    encoder.encode(images[:1])
    encoder.backbone_features(images)
    assert [c[:3] for c in calls] == [
        (encoder.name, "image", 2),
        (encoder.name, "image", 1),
        (encoder.name, "image", 2),
    ]
