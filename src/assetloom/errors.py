"""One exception hierarchy; interfaces map it to exit codes and HTTP statuses.

Every error carries a message a user can act on: what went wrong, where, and what to do.
"""

from __future__ import annotations


class AssetLoomError(Exception):
    """Base class: `message` is user-facing; `code` is stable for scripts."""

    code = "error"
    exit_code = 1

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.message} ({self.hint})" if self.hint else self.message


class NotALibraryError(AssetLoomError):
    code = "not_a_library"
    exit_code = 2


class LibraryExistsError(AssetLoomError):
    code = "library_exists"
    exit_code = 2


class AssetNotFoundError(AssetLoomError):
    code = "asset_not_found"
    exit_code = 3


class UnsupportedMediaError(AssetLoomError):
    code = "unsupported_media"


class BadInputError(AssetLoomError):
    code = "bad_input"


class LibraryBusyError(AssetLoomError):
    code = "library_busy"
    exit_code = 4


class IntegrityError(AssetLoomError):
    code = "integrity"
    exit_code = 5


class VectorIndexError(AssetLoomError):
    """A vector index refused input (wrong dimension, bad values) or a file it cannot read."""

    code = "vector_index"
