"""Studio errors, in the one AssetLoom hierarchy, each saying what failed and what to do next."""

from __future__ import annotations

from assetloom.errors import AssetLoomError


class GenerationError(AssetLoomError):
    """A generator could not make what was asked: the message says what, the hint how to fix
    the brief, the parameters or the backend."""

    code = "generation_failed"
