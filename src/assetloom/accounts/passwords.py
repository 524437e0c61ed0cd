"""Password hashing with Argon2id (argon2-cffi's RFC 9106 defaults)."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from assetloom.errors import BadInputError

MIN_LENGTH = 8
MAX_LENGTH = 1024

_hasher = PasswordHasher()
# Checked when a user name is unknown, so a wrong name costs as long as a wrong password.
_DUMMY = _hasher.hash("assetloom-timing-equaliser")


def check_strength(password: str) -> None:
    if len(password) < MIN_LENGTH:
        raise BadInputError(f"a password needs at least {MIN_LENGTH} characters")
    if len(password) > MAX_LENGTH:
        raise BadInputError(f"a password may have at most {MAX_LENGTH} characters")


def hash_password(password: str) -> str:
    check_strength(password)
    return _hasher.hash(password)


def verify_password(stored: str | None, password: str) -> bool:
    """True when `password` matches; a missing hash still spends the same time."""
    try:
        return _hasher.verify(stored or _DUMMY, password) and stored is not None
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(stored: str) -> bool:
    return _hasher.check_needs_rehash(stored)
