"""Users, API tokens, web sessions and the audit log, kept in the library's catalog.

The API, the web UI and the `user`/`token`/`audit-log` commands all go through
`AccountService`, so a token made on the command line works over HTTP and every write lands
in the same audit log. The service decides (passwords, roles, secrets, what is audited); its
`AccountStore` (`store/accounts.py`) only reads and writes the rows.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from assetloom.accounts.base import AccountStore, TokenRecord, UserRecord
from assetloom.accounts.errors import (
    AuthenticationError,
    TokenNotFoundError,
    UserExistsError,
    UserNotFoundError,
)
from assetloom.accounts.passwords import hash_password, needs_rehash, verify_password
from assetloom.accounts.roles import Principal, Role
from assetloom.errors import AssetLoomError, BadInputError
from assetloom.store.accounts import HasSessions, SqlAccountStore

TOKEN_PREFIX = "alt_"
# ASCII only, so every name is its own NFC form and lower() is its case fold (SQLite's lower()
# folds ASCII alone). fullmatch: `$` would let a trailing newline through.
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@-]{0,63}")
RESERVED_NAMES = frozenset({"anonymous"})
"""`anonymous` is who visitors are with --public-read; a user of that name would be them."""
# Recording every token use would turn each read into a write; once per interval is enough.
_LAST_USED_EVERY = timedelta(minutes=5)


@dataclass(frozen=True, slots=True)
class UserInfo:
    id: int
    name: str
    role: Role
    disabled: bool
    created_at: datetime
    has_password: bool

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "role": self.role.value,
            "disabled": self.disabled,
            "created_at": _iso(self.created_at),
            "has_password": self.has_password,
        }


@dataclass(frozen=True, slots=True)
class TokenInfo:
    id: int
    user: str
    label: str
    prefix: str
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "user": self.user,
            "label": self.label,
            "prefix": self.prefix,
            "created_at": _iso(self.created_at),
            "last_used_at": _iso(self.last_used_at),
            "revoked": self.revoked_at is not None,
        }


@dataclass(frozen=True, slots=True)
class AuditEntry:
    id: int
    at: datetime
    actor: str
    action: str
    target: str
    outcome: str
    client: str
    request_id: str
    detail: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "at": _iso(self.at),
            "actor": self.actor,
            "action": self.action,
            "target": self.target,
            "outcome": self.outcome,
            "client": self.client,
            "request_id": self.request_id,
            "detail": self.detail,
        }


@dataclass(frozen=True, slots=True)
class WebSession:
    secret: str
    csrf_token: str
    expires_at: datetime


class AccountService:
    def __init__(self, store: AccountStore) -> None:
        self._store = store

    @classmethod
    def of(cls, lib: HasSessions) -> AccountService:
        return cls(SqlAccountStore.of(lib))

    # ------------------------------------------------------------------ users
    def add_user(self, name: str, role: Role, password: str | None) -> UserInfo:
        validate_user_name(name)
        pw_hash = hash_password(password) if password is not None else None
        row = self._store.add_user(name, role.value, pw_hash, _now())
        if row is None:
            raise UserExistsError(f"user {name!r} already exists")
        return _user(row)

    def list_users(self) -> list[UserInfo]:
        return [_user(r) for r in self._store.users()]

    def has_users(self) -> bool:
        return self._store.has_users()

    def update_user(
        self,
        name: str,
        *,
        role: Role | None = None,
        password: str | None = None,
        disabled: bool | None = None,
    ) -> UserInfo:
        """Change a user; disabling one also ends their sessions (tokens stop working too)."""
        pw_hash = hash_password(password) if password is not None else None
        row = self._store.update_user(
            name,
            role=role.value if role is not None else None,
            password_hash=pw_hash,
            disabled=disabled,
            end_sessions=bool(disabled) or pw_hash is not None,
        )
        if row is None:
            raise _no_user(name)
        return _user(row)

    def authenticate(self, name: str, password: str) -> UserInfo:
        """The user with this name and password; one vague error for every kind of miss."""
        row = self._store.user(name)
        stored = row.password_hash if row is not None else None
        user = _user(row) if row is not None else None
        if not verify_password(stored, password) or user is None or user.disabled:
            raise AuthenticationError("wrong user name or password")
        if stored and needs_rehash(stored):
            self.update_user(user.name, password=password)
        return user

    # ------------------------------------------------------------------ API tokens
    def create_token(self, user_name: str, label: str = "") -> tuple[TokenInfo, str]:
        """A new token for the user; the secret is returned once and only its hash is kept."""
        secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
        row = self._store.add_token(
            user_name,
            label=label.strip()[:128] or "token",
            prefix=secret[:10],
            token_hash=_digest(secret),
            created_at=_now(),
        )
        if row is None:
            raise _no_user(user_name)
        return _token(row), secret

    def list_tokens(self, user_name: str | None = None) -> list[TokenInfo]:
        rows = self._store.tokens(user_name)
        if rows is None:
            raise _no_user(str(user_name))
        return [_token(t) for t in rows]

    def revoke_token(self, token_id: int, *, owner: str | None = None) -> TokenInfo:
        """Revoke by id; with `owner`, only that user's own token (non-admins)."""
        row = self._store.revoke_token(token_id, owner=owner, at=_now())
        if row is None:
            raise TokenNotFoundError(f"no token {token_id}")
        return _token(row)

    def principal_for_token(self, secret: str) -> Principal:
        found = self._store.token_holder(_digest(secret))
        if found is None or found[0].revoked_at is not None or found[1].disabled:
            raise AuthenticationError(
                "the API token is not valid", hint="it may have been revoked; create a new one"
            )
        token, user = found
        last = token.last_used_at
        if last is None or _now() - last > _LAST_USED_EVERY:
            self._store.touch_token(token.id, _now())
        return Principal(user.name, Role(user.role), "token", user_id=user.id)

    # ------------------------------------------------------------------ web sessions
    def start_session(self, user: UserInfo, client: str, lifetime: timedelta) -> WebSession:
        secret = secrets.token_urlsafe(32)
        csrf = secrets.token_urlsafe(32)
        now = _now()
        self._store.add_session(
            id_hash=_digest(secret),
            user_id=user.id,
            csrf_token=csrf,
            created_at=now,
            expires_at=now + lifetime,
            client=client[:64],
        )
        return WebSession(secret, csrf, now + lifetime)

    def principal_for_session(self, secret: str) -> Principal:
        found = self._store.session_holder(_digest(secret))
        if found is None or found[1].disabled or found[0].expires_at < _now():
            raise AuthenticationError("your session has ended", hint="sign in again")
        session, user = found
        return Principal(
            user.name, Role(user.role), "session", user_id=user.id, csrf_token=session.csrf_token
        )

    def end_session(self, secret: str) -> None:
        self._store.end_session(_digest(secret))

    # ------------------------------------------------------------------ audit log
    def record(
        self,
        actor: str,
        action: str,
        target: str,
        *,
        outcome: str = "ok",
        client: str = "",
        request_id: str = "",
        detail: dict[str, Any] | None = None,
    ) -> None:
        self._store.add_audit(
            at=_now(),
            actor=printable(actor, 64),
            action=action,
            target=printable(target, 200),
            outcome=outcome,
            client=client[:64],
            request_id=request_id[:64],
            detail=detail or {},
        )

    @contextmanager
    def audited(
        self, actor: str, action: str, target: str, *, client: str = "", request_id: str = ""
    ) -> Iterator[dict[str, Any]]:
        """Record a write however it ends (every interface's writes go through this): the body
        fills the yielded dict with details; a failure is recorded with its error code as the
        outcome ("internal_error" for anything else) and re-raised."""
        detail: dict[str, Any] = {}
        outcome = "ok"
        try:
            yield detail
        except AssetLoomError as exc:
            outcome = exc.code
            raise
        except BaseException:
            outcome = "internal_error"
            raise
        finally:
            self.record(
                actor,
                action,
                target,
                outcome=outcome,
                client=client,
                request_id=request_id,
                detail=detail,
            )

    def audit_log(
        self, *, limit: int = 100, offset: int = 0, actor: str | None = None
    ) -> tuple[int, list[AuditEntry]]:
        """(total, newest entries first)."""
        total, rows = self._store.audit_log(limit=limit, offset=offset, actor=actor)
        entries = [
            AuditEntry(
                r.id, r.at, r.actor, r.action, r.target, r.outcome, r.client, r.request_id, r.detail
            )
            for r in rows
        ]
        return total, entries


def validate_user_name(name: str) -> None:
    """Raise BadInputError unless `name` may be a new user's name (see _NAME)."""
    if not _NAME.fullmatch(name):
        raise BadInputError(
            f"user name {name!r} is not valid",
            hint="1-64 ASCII letters, digits, '.', '_', '@' or '-'; start with a letter or digit",
        )
    if name.lower() in RESERVED_NAMES:
        raise BadInputError(
            f"user name {name!r} is reserved for anonymous visitors", hint="choose another name"
        )


def printable(text: str, limit: int) -> str:
    """`text` with control and invisible characters escaped (`\\x1b`, `\\u202e`), cut to `limit`
    characters: audit entries are shown in terminals and pages, and a name typed into the
    sign-in form must not move the cursor, fake a line or reverse the text there."""
    escaped = "".join(
        ch if ch.isprintable() else ch.encode("unicode_escape").decode("ascii") for ch in text
    )
    return escaped[:limit]


def _digest(secret: str) -> bytes:
    return hashlib.sha256(secret.encode()).digest()


def _now() -> datetime:
    return datetime.now(UTC)


def _iso(dt: datetime | None) -> str | None:
    """UTC with a 'Z' (the store hands back zone-aware UTC times)."""
    return dt.isoformat().replace("+00:00", "Z") if dt else None


def _no_user(name: str) -> UserNotFoundError:
    return UserNotFoundError(f"no user {name!r}", hint="`assetloom user list` shows them")


def _user(row: UserRecord) -> UserInfo:
    return UserInfo(
        row.id,
        row.name,
        Role(row.role),
        row.disabled,
        row.created_at,
        row.password_hash is not None,
    )


def _token(row: TokenRecord) -> TokenInfo:
    return TokenInfo(
        row.id, row.user, row.label, row.prefix, row.created_at, row.last_used_at, row.revoked_at
    )
