"""File names as users and the catalog see them."""

from __future__ import annotations

import os
from pathlib import Path


def display_path(path: Path | str) -> str:
    """A printable, storable name even when the file name is not valid UTF-8."""
    return os.fsencode(path).decode("utf-8", "backslashreplace")
