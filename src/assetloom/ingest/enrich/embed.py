"""Embeddings at ingest: pictures into the shared space and the backbone's visual space,
passages into the shared (text) space, batched over the chunk.

Parts of an asset (a video's key frames, a recording's transcript passages, a document's
pages) get a segment vector each, so search can rank the asset once by its best moment."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from assetloom.core.assets import Space
from assetloom.ingest.enrich.base import register
from assetloom.ingest.records import ModelInputs, Options, Prepared, SegmentVector


class EmbedImages:
    """The record's first picture in both image spaces (the image itself, a video's poster);
    each frame in the shared space as a segment vector."""

    name = "embed-images"
    order = 50

    def wanted(self, opts: Options) -> bool:
        return opts.embed

    def enrich(self, items: list[tuple[Prepared, ModelInputs]], opts: Options) -> None:
        todo = [(rec, inputs.images[0]) for rec, inputs in items if inputs.images]
        frames = [(rec, seg, image) for rec, inputs in items for seg, image in inputs.frames]
        if not todo and not frames:
            return
        from assetloom.models.registry import get_image_encoder

        encoder = get_image_encoder(opts.model, Path(opts.model_cache))
        if todo:
            visual, features = encoder.encode_with_features([image for _, image in todo])
            for row, (rec, _) in enumerate(todo):
                _put(rec, Space.VISUAL, visual[row], encoder.name)
                _put(rec, Space.BACKBONE, features[row], f"{encoder.name}-features")
        if frames:
            vectors = encoder.encode([image for _, _, image in frames])
            for row, (rec, seg, _) in enumerate(frames):
                rec.segment_vectors.append(
                    SegmentVector(Space.VISUAL, encoder.name, _bytes(vectors[row]), seg)
                )


class EmbedTexts:
    """The record's first text (a document's opening) as its text vector; each passage
    (transcript, page, OCR) as a segment vector, all in one batch."""

    name = "embed-texts"
    order = 50

    def wanted(self, opts: Options) -> bool:
        return opts.embed

    def enrich(self, items: list[tuple[Prepared, ModelInputs]], opts: Options) -> None:
        todo = [(rec, inputs.texts[0]) for rec, inputs in items if inputs.texts]
        parts = [(rec, seg) for rec, _ in items for seg in rec.passages if seg.text]
        if not todo and not parts:
            return
        from assetloom.models.registry import get_text_encoder

        encoder = get_text_encoder(opts.model, Path(opts.model_cache))
        texts = [text for _, text in todo] + [seg.text or "" for _, seg in parts]
        vectors = encoder.encode_passages(texts)
        for row, (rec, _) in enumerate(todo):
            _put(rec, Space.TEXT, vectors[row], encoder.name)
        for row, (rec, seg) in enumerate(parts, start=len(todo)):
            rec.segment_vectors.append(
                SegmentVector(Space.TEXT, encoder.name, _bytes(vectors[row]), seg)
            )


def _bytes(vector: np.ndarray) -> bytes:
    return np.asarray(vector, dtype=np.float32).tobytes()


def _put(rec: Prepared, space: str, vector: np.ndarray, model: str) -> None:
    rec.embeddings[space] = _bytes(vector)
    rec.embedding_model[space] = model


register(EmbedImages())
register(EmbedTexts())
