"""Password hashing with Argon2id (argon2-cffi's RFC 9106 defaults).

The hasher and the timing equaliser's dummy hash are made on first use, not at import: the
dummy alone costs a full Argon2 hash (~0.4 s), which every CLI call used to pay.
"""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING

from assetloom.errors import BadInputError

if TYPE_CHECKING:
    from argon2 import PasswordHasher

MIN_LENGTH = 8
MAX_LENGTH = 1024


@cache
def _hasher() -> PasswordHasher:
    from argon2 import PasswordHasher

    return PasswordHasher()


@cache
def _dummy() -> str:
    """Checked when a user name is unknown, so a wrong name costs as long as a wrong password."""
    return _hasher().hash("assetloom-timing-equaliser")


def check_strength(password: str) -> None:
    if len(password) < MIN_LENGTH:
        raise BadInputError(f"a password needs at least {MIN_LENGTH} characters")
    if len(password) > MAX_LENGTH:
        raise BadInputError(f"a password may have at most {MAX_LENGTH} characters")


def hash_password(password: str) -> str:
    check_strength(password)
    return _hasher().hash(password)


def verify_password(stored: str | None, password: str) -> bool:
    """True when `password` matches; a missing hash still spends the same time."""
    from argon2.exceptions import InvalidHashError, VerificationError

    dummy = _dummy()  # made on the first check whichever way it goes: no first-call tell
    try:
        return _hasher().verify(stored or dummy, password) and stored is not None
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(stored: str) -> bool:
    return _hasher().check_needs_rehash(stored)
