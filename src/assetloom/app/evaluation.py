"""`assetloom eval retrieval`: Recall@K and MRR through the very code path users search with.

Two libraries are measured, the second made from the first:

- **images** (the default mode's text→image figures): the file's images alone, as a user's photo
  library holds them. Every caption is a query `search "caption" --type image`.
- **with captions**: the same library plus every caption as a text document (the only mode
  before issue #14). Text→image here is reported next to the images-only figure; image→text
  (`search --like IMAGE --type text`) needs the documents, so it is always measured here.

Captions in the library soak up the keyword hits a query's words would otherwise find on
images, so the two text→image figures differ; the images-only one is what users get.

Each query's ranked list becomes one row of a similarity matrix (depth minus the position where
retrieved, below every retrieved one where not), so the order users see is what is measured
(equal scores keep the order search gave them), misses count against the relevant item, and
the figures follow `core.retrieval_metrics`' conventions. Lists are cut at `depth` (default
100), so MRR is MRR@depth. With `library`, the two libraries are kept in that folder (`images/`,
`captions-<lang>/`) and reused by later runs, which then encode nothing again.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal

import numpy as np

from assetloom.app.library import Library
from assetloom.app.search import SearchQuery
from assetloom.core.assets import MediaType
from assetloom.core.retrieval_metrics import retrieval_metrics
from assetloom.errors import BadInputError

Progress = Callable[[int, int], None]
Mode = Literal["images", "captions"]
MODES: tuple[Mode, ...] = ("images", "captions")


def load_pairs(data: Path, lang: str) -> list[tuple[Path, list[str]]]:
    """[(image path, captions)] from a Flickr8k-style JSONL file."""
    key = f"captions_{lang}"
    pairs = []
    try:
        lines = data.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise BadInputError(f"{data}: cannot read ({exc.strerror or exc})") from exc
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        expected = f'{data}:{n}: expected {{"image": "<path>", "{key}": ["<caption>", ...]}}'
        try:
            item = json.loads(line)
            image, captions = data.parent / item["image"], item[key]
        except (json.JSONDecodeError, KeyError, TypeError) as exc:
            raise BadInputError(expected, hint=str(exc)) from exc
        if not isinstance(captions, list) or not all(isinstance(c, str) for c in captions):
            raise BadInputError(expected, hint=f"{key} is not a list of strings")
        pairs.append((image, captions))
    if not pairs:
        raise BadInputError(f"{data}: no items")
    return pairs


def eval_retrieval(
    data: Path,
    lang: str = "en",
    *,
    depth: int = 100,
    mode: str = "images",
    library: Path | None = None,
    progress: Progress | None = None,
) -> dict[str, Any]:
    if mode not in MODES:
        raise BadInputError(f"mode {mode!r}: use one of {', '.join(MODES)}")
    pairs = load_pairs(data, lang)
    captions = [c for _, cs in pairs for c in cs]
    image_of_text = [i for i, (_, cs) in enumerate(pairs) for _ in cs]
    done = [0]
    total = len(captions) * (2 if mode == "images" else 1) + len(pairs)

    def step() -> None:
        done[0] += 1
        if progress:
            progress(done[0], total)

    with tempfile.TemporaryDirectory(prefix="assetloom-eval-") as tmp:
        root = library.expanduser().absolute() if library else Path(tmp)
        root.mkdir(parents=True, exist_ok=True)
        with _library(root / "images") as lib:
            image_ids = _add_images(lib, pairs)
        with_captions = root / f"captions-{lang}"
        if not (with_captions / "assetloom.toml").exists():
            shutil.rmtree(with_captions, ignore_errors=True)
            shutil.copytree(root / "images", with_captions)
        with (
            _library(root / "images") as images_lib,
            _library(with_captions) as lib,
        ):
            _add_images(lib, pairs, expect_more=True)
            text_ids = _add_captions(lib, pairs, with_captions / "captions")
            # Both libraries answer each caption in turn, so it is encoded once (query cache).
            libraries = {"captions": lib} | ({"images": images_lib} if mode == "images" else {})
            t2i = _text_to_image(libraries, captions, image_ids, image_of_text, depth, step)
            backward = _image_to_text(lib, image_ids, text_ids, image_of_text, depth, step)
    forward = t2i["captions"]
    images_only = t2i.get("images")
    result: dict[str, Any] = {
        "mode": mode,
        "text_to_image": images_only if images_only is not None else forward,
        "image_to_text": backward,
    }
    if images_only is not None:
        result["with_captions"] = {"text_to_image": forward}
    result.update({"images": len(pairs), "queries": len(captions), "lang": lang, "depth": depth})
    return result


def _library(path: Path) -> Library:
    return Library.open(path) if (path / "assetloom.toml").exists() else Library.create(path)


def _add_images(
    lib: Library, pairs: list[tuple[Path, list[str]]], *, expect_more: bool = False
) -> list[str]:
    """The images' asset ids, in file order (a reused library only checks they are there)."""
    paths = [p for p, _ in pairs]
    report = lib.add(paths)
    if report.skipped:
        first = report.skipped[0]
        raise BadInputError(f"{first.file}: not added ({first.reason})")
    ids = {Path(o.file).resolve(): o.asset_id for o in report.added + report.present}
    image_ids = [ids[p.resolve()] for p in paths]
    if not expect_more and lib.count() != len(set(image_ids)):
        raise BadInputError(
            f"{lib.root} holds other assets besides the evaluation's images",
            hint="give --library a folder used only by eval retrieval on this file",
        )
    return image_ids


def _add_captions(lib: Library, pairs: list[tuple[Path, list[str]]], folder: Path) -> list[str]:
    """Every caption as a text document, one id per caption (identical ones share an asset)."""
    folder.mkdir(exist_ok=True)
    files = []
    for i, (_, captions) in enumerate(pairs):
        for j, caption in enumerate(captions):
            path = folder / f"{i:05d}-{j}.txt"
            if not path.exists() or path.read_text(encoding="utf-8") != caption:
                path.write_text(caption, encoding="utf-8")
            files.append(path)
    report = lib.add(files)
    ids = {Path(o.file).resolve(): o.asset_id for o in report.added + report.present}
    return [ids[p.resolve()] for p in files]


def _text_to_image(
    libraries: dict[str, Library],
    captions: list[str],
    image_ids: list[str],
    image_of_text: list[int],
    depth: int,
    step: Callable[[], None],
) -> dict[str, dict[str, float]]:
    col_of_image = {a: i for i, a in enumerate(image_ids)}
    t2i = {
        name: np.full((len(captions), len(image_ids)), -1.0, dtype=np.float32) for name in libraries
    }
    for j, caption in enumerate(captions):
        for name, lib in libraries.items():
            query = SearchQuery(text=caption, media_type=MediaType.IMAGE, limit=depth)
            for n, h in enumerate(lib.search(query)):
                if h.asset.asset_id in col_of_image:
                    t2i[name][j, col_of_image[h.asset.asset_id]] = depth - n
            step()
    return {name: retrieval_metrics(m, image_of_text)["text_to_image"] for name, m in t2i.items()}


def _image_to_text(
    lib: Library,
    image_ids: list[str],
    text_ids: list[str],
    image_of_text: list[int],
    depth: int,
    step: Callable[[], None],
) -> dict[str, float]:
    cols_of_text: dict[str, list[int]] = {}
    for j, a in enumerate(text_ids):  # identical captions share one asset
        cols_of_text.setdefault(a, []).append(j)
    i2t = np.full((len(text_ids), len(image_ids)), -1.0, dtype=np.float32)
    for i, image_id in enumerate(image_ids):
        hits = lib.search(SearchQuery(like=image_id, media_type=MediaType.TEXT, limit=depth))
        for n, h in enumerate(hits):
            for j in cols_of_text.get(h.asset.asset_id, []):
                i2t[j, i] = depth - n
        step()
    return retrieval_metrics(i2t, image_of_text)["image_to_text"]
