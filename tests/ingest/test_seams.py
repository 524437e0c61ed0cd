"""The ingest seams: a new media type is one registered extractor, a new model step one
registered enricher, and per-file work runs through any Executor, in order."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import ClassVar

import pytest

from assetloom.app.library import Library
from assetloom.core.assets import Fingerprint, MediaType, Segment
from assetloom.errors import BadInputError
from assetloom.ingest.enrich import base as enrich_base
from assetloom.ingest.extractors import base as extractor_base
from assetloom.ingest.pipeline import parallel_prepare
from assetloom.ingest.prepare import prepare_files
from assetloom.ingest.records import ModelInputs, Options, Prepared, Skipped
from assetloom.ingest.runners import InProcessExecutor, ProcessExecutor, executor_for
from assetloom.ingest.runners.base import ChunkFn, R
from tests.media import make_photo


class JsonExtractor:
    """A media type the library does not know: JSON documents, read as text."""

    media_type: ClassVar[MediaType] = MediaType.TEXT

    def accepts(self, mime: str) -> bool:
        return mime == "application/json"

    def mime_of(self, where: str, mime: str) -> str:
        return mime

    def extract(self, path: Path, record: Prepared, opts: Options, *, query: bool) -> ModelInputs:
        try:
            data = json.loads(path.read_text("utf-8"))
        except ValueError as exc:
            raise BadInputError(f"{path}: not valid JSON ({exc})") from exc
        if not isinstance(data, dict):
            raise BadInputError(f"{path}: a JSON brief is an object, not a {type(data).__name__}")
        record.metadata = {"keys": sorted(data)}
        record.text_content = json.dumps(data, sort_keys=True)
        record.fingerprints = [Fingerprint("json-keys", ",".join(sorted(data)).encode())]
        return ModelInputs(texts=[record.text_content])


class CountingEnricher:
    name = "count"
    order = 90

    def __init__(self) -> None:
        self.batches: list[list[str]] = []

    def wanted(self, opts: Options) -> bool:
        return True

    def enrich(self, items: list[tuple[Prepared, ModelInputs]], opts: Options) -> None:
        self.batches.append([Path(rec.path).name for rec, _ in items])
        for rec, inputs in items:
            rec.metadata["inputs"] = {"images": len(inputs.images), "texts": len(inputs.texts)}


@pytest.fixture
def json_extractor() -> Iterator[JsonExtractor]:
    extractor = JsonExtractor()
    extractor_base._registry.insert(0, extractor)
    try:
        yield extractor
    finally:
        extractor_base._registry.remove(extractor)


@pytest.fixture
def counting() -> Iterator[CountingEnricher]:
    enricher = CountingEnricher()
    enrich_base._registry.append(enricher)
    try:
        yield enricher
    finally:
        enrich_base._registry.remove(enricher)


def _opts() -> Options:
    return Options(max_image_pixels=10**8, max_file_bytes=10**9, thumbnail_size=64)


def test_a_registered_extractor_makes_a_new_type_addable(
    library: Library, tmp_path: Path, json_extractor: JsonExtractor
) -> None:
    library.settings = library.settings.model_copy(update={"workers": 1})  # in this process
    good = tmp_path / "brief.json"
    good.write_text(json.dumps({"product": "bottle", "tone": "calm"}))
    bad = tmp_path / "broken.json"
    bad.write_text("[1, 2, 3]")
    report = library.add([good, bad])
    assert [Path(f.file).name for f in report.added] == ["brief.json"]
    assert [Path(s.file).name for s in report.skipped] == ["broken.json"]
    assert "not a list" in report.skipped[0].reason
    asset = library.get(report.added[0].asset_id)
    assert asset.mime == "application/json" and asset.metadata["keys"] == ["product", "tone"]
    assert [f.kind for f in asset.fingerprints] == ["json-keys"]


def test_without_the_extractor_the_type_is_refused(library: Library, tmp_path: Path) -> None:
    path = tmp_path / "brief.json"
    path.write_text(json.dumps({"product": "bottle"}))
    report = library.add([path])
    assert report.added == [] and "application/json" in report.skipped[0].reason


def test_enrichers_see_the_whole_chunk_and_what_extractors_decoded(
    tmp_path: Path, counting: CountingEnricher
) -> None:
    files = [make_photo(tmp_path / f"p{i}.jpg", seed=i) for i in range(3)]
    (tmp_path / "notes.txt").write_text("spring campaign notes")
    files.append(tmp_path / "notes.txt")
    results = prepare_files([str(f) for f in files], _opts())
    assert counting.batches == [["p0.jpg", "p1.jpg", "p2.jpg", "notes.txt"]]
    inputs = [r.metadata["inputs"] for r in results if isinstance(r, Prepared)]
    assert inputs == [{"images": 1, "texts": 0}] * 3 + [{"images": 0, "texts": 1}]


class RecordingExecutor:
    """Another place to run chunks (here: this process, recording what it was given)."""

    name = "recording"
    parallelism = 2

    def __init__(self) -> None:
        self.chunks: list[list[str]] = []

    def map_chunks(
        self, fn: ChunkFn[R], chunks: Iterable[list[str]], opts: Options
    ) -> Iterator[list[R]]:
        for chunk in chunks:
            self.chunks.append([Path(p).name for p in chunk])
            yield fn(chunk, opts)


def test_any_executor_runs_the_same_prepare_functions(tmp_path: Path) -> None:
    files = [make_photo(tmp_path / f"p{i:02}.jpg", seed=i) for i in range(11)]
    executor = RecordingExecutor()
    out = list(parallel_prepare(prepare_files, files, _opts(), executor))
    assert [Path(r.path).name for r in out] == [f.name for f in files]
    assert [len(c) for c in executor.chunks] == [8, 3]
    local = list(parallel_prepare(prepare_files, files, _opts(), ProcessExecutor(2)))
    assert [(r.sha256, r.fingerprints) for r in local if isinstance(r, Prepared)] == [
        (r.sha256, r.fingerprints) for r in out if isinstance(r, Prepared)
    ]


def test_skips_keep_their_place_in_order(tmp_path: Path) -> None:
    good = make_photo(tmp_path / "a.jpg", seed=1)
    empty = tmp_path / "b.jpg"
    empty.write_bytes(b"")
    out = list(parallel_prepare(prepare_files, [good, empty], _opts(), InProcessExecutor()))
    assert isinstance(out[0], Prepared) and isinstance(out[1], Skipped)
    assert "empty file" in out[1].reason


def test_executor_setting() -> None:
    assert isinstance(executor_for("local", 4), ProcessExecutor)
    assert isinstance(executor_for("local", 1), InProcessExecutor)
    with pytest.raises(BadInputError, match="unknown executor"):
        executor_for("spark://x", 2)


class PickyEnricher:
    """A model step that cannot read one of the files (and has already written onto the
    others when it fails, as a batched step would)."""

    name = "picky"
    order = 95

    def wanted(self, opts: Options) -> bool:
        return True

    def enrich(self, items: list[tuple[Prepared, ModelInputs]], opts: Options) -> None:
        for rec, _ in items:
            rec.passages.append(Segment("ocr", text=Path(rec.path).name))
            if Path(rec.path).name == "bad.jpg":
                raise RuntimeError("the model cannot read this one")


def test_a_step_failing_on_one_file_costs_only_that_file_its_step(tmp_path: Path) -> None:
    picky = PickyEnricher()
    enrich_base._registry.append(picky)
    try:
        files = [
            make_photo(tmp_path / n, seed=i) for i, n in enumerate(["a.jpg", "bad.jpg", "c.jpg"])
        ]
        results = prepare_files([str(f) for f in files], _opts())
    finally:
        enrich_base._registry.remove(picky)
    assert all(isinstance(r, Prepared) for r in results)
    a, bad, c = results
    assert isinstance(a, Prepared) and isinstance(bad, Prepared) and isinstance(c, Prepared)
    assert [p.text for p in a.passages] == ["a.jpg"]  # once: the batch's write was undone
    assert [p.text for p in c.passages] == ["c.jpg"]
    assert bad.passages == []
    assert bad.metadata["enrich_errors"] == {
        "picky": "RuntimeError: the model cannot read this one"
    }
