"""Model steps over prepared chunks; importing this package registers the built-in ones."""

from assetloom.ingest.enrich import embed, moderate, ocr, transcribe
from assetloom.ingest.enrich.base import Enricher, enrichers, register

__all__ = ["Enricher", "embed", "enrichers", "moderate", "ocr", "register", "transcribe"]
