"""Who may use a library over HTTP: users and roles, API tokens, web sessions, audit log.

The service (SQLAlchemy, Argon2) loads on first use of its names, so a command line that only
needs `Role` to parse its options does not pay for it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from assetloom.accounts.roles import Principal, Role

if TYPE_CHECKING:
    from assetloom.accounts.service import AccountService, AuditEntry, TokenInfo, UserInfo

__all__ = ["AccountService", "AuditEntry", "Principal", "Role", "TokenInfo", "UserInfo"]

_FROM_SERVICE = {"AccountService", "AuditEntry", "TokenInfo", "UserInfo"}


def __getattr__(name: str) -> Any:
    if name in _FROM_SERVICE:
        from assetloom.accounts import service

        return getattr(service, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
