"""The account store port: the reads and writes `AccountService` makes, and nothing it decides.

`store.accounts.SqlAccountStore` fills it over the catalog's account tables (SQLite and
PostgreSQL). The service keeps the policy: hashing passwords and digesting secrets before
they get here, roles, which changes end sessions, when a token's use is recorded, and what
the audit log says. Each call is one transaction; a miss comes back as None, and the service
chooses the error.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Protocol, runtime_checkable

from assetloom.store.accounts import AuditRecord, SessionRecord, TokenRecord, UserRecord

__all__ = ["AccountStore", "AuditRecord", "SessionRecord", "TokenRecord", "UserRecord"]


@runtime_checkable
class AccountStore(Protocol):
    def add_user(
        self, name: str, role: str, password_hash: str | None, created_at: datetime
    ) -> UserRecord | None:
        """None when a user of that name (any case) exists."""
        ...

    def users(self) -> list[UserRecord]:
        """By name."""
        ...

    def has_users(self) -> bool: ...

    def user(self, name: str) -> UserRecord | None: ...

    def update_user(
        self,
        name: str,
        *,
        role: str | None,
        password_hash: str | None,
        disabled: bool | None,
        end_sessions: bool,
    ) -> UserRecord | None:
        """Set what is not None; `end_sessions` deletes the user's web sessions too."""
        ...

    def add_token(
        self, user_name: str, *, label: str, prefix: str, token_hash: bytes, created_at: datetime
    ) -> TokenRecord | None:
        """None when there is no such user."""
        ...

    def tokens(self, user_name: str | None = None) -> list[TokenRecord] | None:
        """By id; None when `user_name` names nobody."""
        ...

    def revoke_token(self, token_id: int, *, owner: str | None, at: datetime) -> TokenRecord | None:
        """None when there is no such token, or `owner` does not own it."""
        ...

    def token_holder(self, token_hash: bytes) -> tuple[TokenRecord, UserRecord] | None: ...

    def touch_token(self, token_id: int, at: datetime) -> None: ...

    def add_session(
        self,
        *,
        id_hash: bytes,
        user_id: int,
        csrf_token: str,
        created_at: datetime,
        expires_at: datetime,
        client: str,
    ) -> None:
        """Also deletes the sessions that expired before `created_at`."""
        ...

    def session_holder(self, id_hash: bytes) -> tuple[SessionRecord, UserRecord] | None: ...

    def end_session(self, id_hash: bytes) -> None: ...

    def add_audit(
        self,
        *,
        at: datetime,
        actor: str,
        action: str,
        target: str,
        outcome: str,
        client: str,
        request_id: str,
        detail: dict[str, Any],
    ) -> None: ...

    def audit_log(
        self, *, limit: int, offset: int, actor: str | None = None
    ) -> tuple[int, list[AuditRecord]]:
        """(total, of `actor` if given; one page, newest first)."""
        ...
