"""Extractors by media type; importing this package registers the built-in ones."""

from assetloom.ingest.extractors import audio as audio
from assetloom.ingest.extractors import design as design
from assetloom.ingest.extractors import image, text
from assetloom.ingest.extractors import office as office
from assetloom.ingest.extractors import pdf as pdf
from assetloom.ingest.extractors import video as video
from assetloom.ingest.extractors.base import MediaExtractor, extractor_for, register

__all__ = ["MediaExtractor", "extractor_for", "image", "register", "text"]
