"""`assetloom eval retrieval`: Recall@K and MRR through the very code path users search with.

A temporary library is built from the file's images (and its captions, as text documents);
text→image runs `search "caption" --type image`, image→text runs `search --like IMAGE
--type text`. Each query's ranked list becomes one row of a similarity matrix (fused score
where retrieved, below every score where not), so ties and misses count against the relevant
item and the figures follow `core.retrieval_metrics`' conventions. Lists are cut at
`depth` (default 100), so MRR is MRR@depth.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from assetloom.app.library import Library
from assetloom.app.search import SearchQuery
from assetloom.core.assets import MediaType
from assetloom.core.retrieval_metrics import retrieval_metrics
from assetloom.errors import BadInputError

Progress = Callable[[int, int], None]


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
    data: Path, lang: str = "en", *, depth: int = 100, progress: Progress | None = None
) -> dict[str, Any]:
    pairs = load_pairs(data, lang)
    with tempfile.TemporaryDirectory(prefix="assetloom-eval-") as tmp:
        root = Path(tmp)
        captions_dir = root / "captions"
        captions_dir.mkdir()
        caption_files, image_of_text = [], []
        for i, (_, captions) in enumerate(pairs):
            for j, caption in enumerate(captions):
                path = captions_dir / f"{i:05d}-{j}.txt"
                path.write_text(caption, encoding="utf-8")
                caption_files.append(path)
                image_of_text.append(i)
        with Library.create(root / "lib") as lib:
            report = lib.add([p for p, _ in pairs] + caption_files)
            ids = {Path(o.file).resolve(): o.asset_id for o in report.added + report.present}
            image_ids = [ids[p.resolve()] for p, _ in pairs]
            text_ids = [ids[p.resolve()] for p in caption_files]
            col_of_image = {a: i for i, a in enumerate(image_ids)}
            cols_of_text: dict[str, list[int]] = {}
            for j, a in enumerate(text_ids):  # identical captions share one asset
                cols_of_text.setdefault(a, []).append(j)
            total = len(text_ids) + len(image_ids)
            t2i = np.full((len(text_ids), len(image_ids)), -1.0, dtype=np.float32)
            for j, caption in enumerate(c for _, cs in pairs for c in cs):
                query = SearchQuery(text=caption, media_type=MediaType.IMAGE, limit=depth)
                hits = lib.search(query)
                for h in hits:
                    if h.asset.asset_id in col_of_image:
                        t2i[j, col_of_image[h.asset.asset_id]] = h.score
                if progress:
                    progress(j + 1, total)
            i2t = np.full((len(text_ids), len(image_ids)), -1.0, dtype=np.float32)
            for i, image_id in enumerate(image_ids):
                query = SearchQuery(like=image_id, media_type=MediaType.TEXT, limit=depth)
                hits = lib.search(query)
                for h in hits:
                    for j in cols_of_text.get(h.asset.asset_id, []):
                        i2t[j, i] = h.score
                if progress:
                    progress(len(text_ids) + i + 1, total)
    forward = retrieval_metrics(t2i, image_of_text)
    backward = retrieval_metrics(i2t, image_of_text)
    return {
        "text_to_image": forward["text_to_image"],
        "image_to_text": backward["image_to_text"],
        "images": len(image_ids),
        "queries": len(text_ids),
        "lang": lang,
        "depth": depth,
    }
