"""Embeddings at ingest: pictures into the shared space and the backbone's visual space,
passages into the shared (text) space, batched over the chunk."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from assetloom.core.assets import Space
from assetloom.ingest.enrich.base import register
from assetloom.ingest.records import ModelInputs, Options, Prepared


class EmbedImages:
    """One vector per record in each image space; the record's first picture is the one
    embedded (the image itself)."""

    name = "embed-images"

    def wanted(self, opts: Options) -> bool:
        return opts.embed

    def enrich(self, items: list[tuple[Prepared, ModelInputs]], opts: Options) -> None:
        todo = [(rec, inputs.images[0]) for rec, inputs in items if inputs.images]
        if not todo:
            return
        from assetloom.models.registry import get_image_encoder

        encoder = get_image_encoder(opts.model, Path(opts.model_cache))
        visual, features = encoder.encode_with_features([image for _, image in todo])
        for row, (rec, _) in enumerate(todo):
            _put(rec, Space.VISUAL, visual[row], encoder.name)
            _put(rec, Space.BACKBONE, features[row], f"{encoder.name}-features")


class EmbedTexts:
    name = "embed-texts"

    def wanted(self, opts: Options) -> bool:
        return opts.embed

    def enrich(self, items: list[tuple[Prepared, ModelInputs]], opts: Options) -> None:
        todo = [(rec, inputs.texts[0]) for rec, inputs in items if inputs.texts]
        if not todo:
            return
        from assetloom.models.registry import get_text_encoder

        encoder = get_text_encoder(opts.model, Path(opts.model_cache))
        vectors = encoder.encode_passages([text for _, text in todo])
        for row, (rec, _) in enumerate(todo):
            _put(rec, Space.TEXT, vectors[row], encoder.name)


def _put(rec: Prepared, space: str, vector: np.ndarray, model: str) -> None:
    rec.embeddings[space] = np.asarray(vector, dtype=np.float32).tobytes()
    rec.embedding_model[space] = model


register(EmbedImages())
register(EmbedTexts())
