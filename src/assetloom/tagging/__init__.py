"""Zero-shot tags in Chinese and English from a curated vocabulary plus the library's own tags.

`load_builtin_definitions()` reads the shipped vocabulary; `Tagger(definitions, text_encoder)`
scores visual vectors against it. Thresholds and score calibration come from
tools/calibrate_tags.py (see docs/tags.md).
"""

from assetloom.tagging.tagger import (
    Calibration,
    TagDefinition,
    Tagger,
    load_builtin_definitions,
    load_calibration,
)

__all__ = [
    "Calibration",
    "TagDefinition",
    "Tagger",
    "load_builtin_definitions",
    "load_calibration",
]
