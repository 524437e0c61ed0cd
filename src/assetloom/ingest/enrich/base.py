"""The Enricher seam: model-backed steps run over a whole chunk of prepared files at once
(models batch across files), in the worker, before the write transaction.

An enricher reads what extractors decoded (`ModelInputs`) and writes onto the records
(vectors, later OCR text, transcripts, moderation scores). A new model step is a new module
registered here. `order` is run order.
"""

from __future__ import annotations

from typing import Protocol

from assetloom.ingest.records import ModelInputs, Options, Prepared


class Enricher(Protocol):
    name: str
    order: int
    """Run order: steps that find text (speech recognition, OCR) come before embedding."""

    def wanted(self, opts: Options) -> bool:
        """Whether this step runs at all under these options (e.g. embeddings are off)."""
        ...

    def enrich(self, items: list[tuple[Prepared, ModelInputs]], opts: Options) -> None: ...


_registry: list[Enricher] = []


def register(enricher: Enricher) -> Enricher:
    _registry.append(enricher)
    _registry.sort(key=lambda e: e.order)
    return enricher


def enrichers(opts: Options) -> list[Enricher]:
    return [e for e in _registry if e.wanted(opts)]
