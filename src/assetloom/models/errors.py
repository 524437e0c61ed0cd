"""Model-layer errors, in the one AssetLoom hierarchy, each saying what to do next."""

from __future__ import annotations

from assetloom.errors import AssetLoomError


class ModelError(AssetLoomError):
    """A model could not be loaded or run."""

    code = "model_error"


class ModelNotInstalledError(ModelError):
    """A backend's package or weights are missing on this machine."""

    code = "model_not_installed"


class UnknownBackendError(ModelError):
    """The model setting names no backend AssetLoom knows."""

    code = "unknown_model_backend"
