"""One exception hierarchy; interfaces map it to exit codes and HTTP statuses.

Every error carries a message a user can act on: what went wrong, where, and what to do.
Exit codes (the CLI's, documented in README and `assetloom --help`): 1 bad input, 2 usage or
no library, 3 not found, 4 busy, 5 integrity, 6 auth.
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


class UsageError(AssetLoomError):
    """A command line the parser refused (unknown option, missing or invalid argument)."""

    code = "usage"
    exit_code = 2


class LibraryExistsError(AssetLoomError):
    code = "library_exists"
    exit_code = 1  # bad input (the folder given); 2 is usage / no library


class AssetNotFoundError(AssetLoomError):
    code = "asset_not_found"
    exit_code = 3


class ProjectNotFoundError(AssetLoomError):
    """No studio project (or server job) has that id."""

    code = "project_not_found"
    exit_code = 3


class CollectionNotFoundError(AssetLoomError):
    code = "collection_not_found"
    exit_code = 3


class CollectionExistsError(AssetLoomError):
    code = "collection_exists"


class ShareNotFoundError(AssetLoomError):
    """No live share link has that token (revoked, expired, wrong password or never made)."""

    code = "share_not_found"
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


class CatalogCorruptError(IntegrityError):
    """catalog.db is not a readable SQLite database: the indexes are rebuilt from it, so only
    a backup can bring it back."""

    code = "catalog_corrupt"


class InternalError(AssetLoomError):
    """An exception nobody anticipated: the message names it, the traceback goes to a log."""

    code = "internal"


class InterruptedByUserError(AssetLoomError):
    """Ctrl-C: what was committed stays, and a re-run finishes the job."""

    code = "interrupted"
    exit_code = 130


class VectorIndexError(AssetLoomError):
    """A vector index refused input (wrong dimension, bad values) or a file it cannot read."""

    code = "vector_index"


_CORRUPT = ("file is not a database", "malformed")


def from_database_error(exc: BaseException) -> AssetLoomError | None:
    """Our error for a SQLite failure anywhere in `exc`'s chain (SQLAlchemy wraps sqlite3's
    errors): a lock held past the busy timeout, or a catalog file that is not a database.
    None when the chain holds neither, so the caller treats `exc` as unexpected."""
    import sqlite3

    seen: set[int] = set()
    todo: list[BaseException | None] = [exc]
    while todo:
        e = todo.pop()
        if e is None or id(e) in seen:
            continue
        seen.add(id(e))
        if isinstance(e, sqlite3.OperationalError) and "is locked" in str(e):
            return LibraryBusyError(
                "the library is busy: another process holds its catalog's write lock",
                hint="wait for the other `assetloom` command or server ingest to finish and run "
                "this again; busy_timeout_s in assetloom.toml makes commands wait longer",
            )
        if isinstance(e, sqlite3.DatabaseError) and any(s in str(e) for s in _CORRUPT):
            return CatalogCorruptError(
                f"the library's catalog (catalog.db) is damaged: {e}",
                hint="restore catalog.db from a backup; `assetloom index rebuild` cannot repair "
                "it (the indexes are rebuilt from the catalog, not the other way round)",
            )
        todo += [getattr(e, "orig", None), e.__cause__, e.__context__]
    return None
