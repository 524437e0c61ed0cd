"""Embeddings at ingest, batched per worker chunk: images into the shared space and the
backbone's visual space, text documents into the shared (text) space."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from assetloom.core.assets import MediaType, Space
from assetloom.ingest.prepare import Options, Prepared, Skipped

# e5-small reads at most 512 tokens; the opening of a document carries its topic.
TEXT_CHARS = 2000
VISUAL, BACKBONE, TEXT = Space.VISUAL, Space.BACKBONE, Space.TEXT


def embed_records(
    results: list[Prepared | Skipped], images: dict[int, Image.Image], opts: Options
) -> None:
    from assetloom.models.registry import get_image_encoder, get_text_encoder

    cache = Path(opts.model_cache)
    if images:
        encoder = get_image_encoder(opts.model, cache)
        order = sorted(images)
        visual, features = encoder.encode_with_features([images[i] for i in order])
        for row, i in enumerate(order):
            rec = results[i]
            assert isinstance(rec, Prepared)
            _put(rec, VISUAL, visual[row], encoder.name)
            _put(rec, BACKBONE, features[row], f"{encoder.name}-features")
    texts = [
        (i, r)
        for i, r in enumerate(results)
        if isinstance(r, Prepared) and r.media_type is MediaType.TEXT and r.text_content
    ]
    if texts:
        text_encoder = get_text_encoder(opts.model, cache)
        vectors = text_encoder.encode_passages([passage(r) for _, r in texts])
        for row, (_, rec) in enumerate(texts):
            _put(rec, TEXT, vectors[row], text_encoder.name)


def passage(rec: Prepared) -> str:
    title = str(rec.metadata.get("title", ""))
    body = (rec.text_content or "")[:TEXT_CHARS]
    return body if body.startswith(title) else f"{title}\n{body}"


def _put(rec: Prepared, space: str, vector: np.ndarray, model: str) -> None:
    rec.embeddings[space] = np.asarray(vector, dtype=np.float32).tobytes()
    rec.embedding_model[space] = model
