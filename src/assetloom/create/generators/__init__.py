"""Generators: one protocol per modality (`base`), backends by (kind, name) (`registry`)."""

from assetloom.create.generators.base import (
    KINDS,
    Generated,
    Generator,
    ImageGenerator,
    MusicGenerator,
    Parent,
    Recipe,
    SpeechGenerator,
    TextGenerator,
    VideoGenerator,
)
from assetloom.create.generators.registry import (
    BackendChoice,
    get_generator,
    parse_backend,
    parse_backends,
    register,
    registered,
)

__all__ = [
    "KINDS",
    "BackendChoice",
    "Generated",
    "Generator",
    "ImageGenerator",
    "MusicGenerator",
    "Parent",
    "Recipe",
    "SpeechGenerator",
    "TextGenerator",
    "VideoGenerator",
    "get_generator",
    "parse_backend",
    "parse_backends",
    "register",
    "registered",
]
