"""Users, API tokens, web sessions and the audit log, kept in the library's catalog.

The API, the web UI and the `user`/`token`/`audit-log` commands all go through
`AccountService`, so a token made on the command line works over HTTP and every write lands
in the same audit log.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session, sessionmaker

from assetloom.accounts.errors import (
    AuthenticationError,
    TokenNotFoundError,
    UserExistsError,
    UserNotFoundError,
)
from assetloom.accounts.passwords import hash_password, needs_rehash, verify_password
from assetloom.accounts.roles import Principal, Role
from assetloom.errors import BadInputError
from assetloom.store.account_tables import ApiTokenRow, AuditRow, UserRow, WebSessionRow

TOKEN_PREFIX = "alt_"
# ASCII only, so every name is its own NFC form and lower() is its case fold (SQLite's lower()
# folds ASCII alone). fullmatch: `$` would let a trailing newline through.
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@-]{0,63}")
RESERVED_NAMES = frozenset({"anonymous"})
"""`anonymous` is who visitors are with --public-read; a user of that name would be them."""
# Recording every token use would turn each read into a write; once per interval is enough.
_LAST_USED_EVERY = timedelta(minutes=5)


class HasSessions(Protocol):
    """What the service needs of a library: its catalog's session factories."""

    read_session: sessionmaker[Session]
    write_session: sessionmaker[Session]


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
    def __init__(self, reader: sessionmaker[Session], writer: sessionmaker[Session]) -> None:
        self._reader = reader
        self._writer = writer

    @classmethod
    def of(cls, lib: HasSessions) -> AccountService:
        return cls(lib.read_session, lib.write_session)

    # ------------------------------------------------------------------ users
    def add_user(self, name: str, role: Role, password: str | None) -> UserInfo:
        validate_user_name(name)
        pw_hash = hash_password(password) if password is not None else None
        with self._writer.begin() as s:
            if s.scalar(select(UserRow.id).where(func.lower(UserRow.name) == name.lower())):
                raise UserExistsError(f"user {name!r} already exists")
            row = UserRow(
                name=name, role=role.value, password_hash=pw_hash, disabled=False, created_at=_now()
            )
            s.add(row)
            s.flush()
            return _user(row)

    def list_users(self) -> list[UserInfo]:
        with self._reader() as s:
            return [_user(r) for r in s.scalars(select(UserRow).order_by(UserRow.name))]

    def has_users(self) -> bool:
        with self._reader() as s:
            return bool(s.scalar(select(func.count()).select_from(UserRow)))

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
        with self._writer.begin() as s:
            row = self._user_row(s, name)
            if role is not None:
                row.role = role.value
            if pw_hash is not None:
                row.password_hash = pw_hash
            if disabled is not None:
                row.disabled = disabled
            if disabled or pw_hash is not None:
                s.execute(delete(WebSessionRow).where(WebSessionRow.user_id == row.id))
            return _user(row)

    def authenticate(self, name: str, password: str) -> UserInfo:
        """The user with this name and password; one vague error for every kind of miss."""
        with self._reader() as s:
            row = s.scalar(select(UserRow).where(func.lower(UserRow.name) == name.lower()))
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
        with self._writer.begin() as s:
            user = self._user_row(s, user_name)
            row = ApiTokenRow(
                user_id=user.id,
                label=label.strip()[:128] or "token",
                prefix=secret[:10],
                token_hash=_digest(secret),
                created_at=_now(),
            )
            s.add(row)
            s.flush()
            return _token(row, user.name), secret

    def list_tokens(self, user_name: str | None = None) -> list[TokenInfo]:
        with self._reader() as s:
            q = select(ApiTokenRow, UserRow.name).join(UserRow).order_by(ApiTokenRow.id)
            if user_name is not None:
                q = q.where(UserRow.id == self._user_row(s, user_name).id)
            return [_token(t, n) for t, n in s.execute(q)]

    def revoke_token(self, token_id: int, *, owner: str | None = None) -> TokenInfo:
        """Revoke by id; with `owner`, only that user's own token (non-admins)."""
        with self._writer.begin() as s:
            found = s.execute(
                select(ApiTokenRow, UserRow.name).join(UserRow).where(ApiTokenRow.id == token_id)
            ).first()
            if found is None or (owner is not None and found[1].lower() != owner.lower()):
                raise TokenNotFoundError(f"no token {token_id}")
            row, name = found
            if row.revoked_at is None:
                row.revoked_at = _now()
            return _token(row, name)

    def principal_for_token(self, secret: str) -> Principal:
        with self._reader() as s:
            found = s.execute(
                select(ApiTokenRow, UserRow)
                .join(UserRow)
                .where(ApiTokenRow.token_hash == _digest(secret))
            ).first()
        if found is None or found[0].revoked_at is not None or found[1].disabled:
            raise AuthenticationError(
                "the API token is not valid", hint="it may have been revoked; create a new one"
            )
        token, user = found
        last = _aware(token.last_used_at) if token.last_used_at else None
        if last is None or _now() - last > _LAST_USED_EVERY:
            with self._writer.begin() as s:
                s.execute(
                    update(ApiTokenRow)
                    .where(ApiTokenRow.id == token.id)
                    .values(last_used_at=_now())
                )
        return Principal(user.name, Role(user.role), "token", user_id=user.id)

    # ------------------------------------------------------------------ web sessions
    def start_session(self, user: UserInfo, client: str, lifetime: timedelta) -> WebSession:
        secret = secrets.token_urlsafe(32)
        csrf = secrets.token_urlsafe(32)
        now = _now()
        with self._writer.begin() as s:
            s.execute(delete(WebSessionRow).where(WebSessionRow.expires_at < now))
            s.add(
                WebSessionRow(
                    id_hash=_digest(secret),
                    user_id=user.id,
                    csrf_token=csrf,
                    created_at=now,
                    expires_at=now + lifetime,
                    client=client[:64],
                )
            )
        return WebSession(secret, csrf, now + lifetime)

    def principal_for_session(self, secret: str) -> Principal:
        with self._reader() as s:
            found = s.execute(
                select(WebSessionRow, UserRow)
                .join(UserRow)
                .where(WebSessionRow.id_hash == _digest(secret))
            ).first()
        if found is None or found[1].disabled or _aware(found[0].expires_at) < _now():
            raise AuthenticationError("your session has ended", hint="sign in again")
        session, user = found
        return Principal(
            user.name, Role(user.role), "session", user_id=user.id, csrf_token=session.csrf_token
        )

    def end_session(self, secret: str) -> None:
        with self._writer.begin() as s:
            s.execute(delete(WebSessionRow).where(WebSessionRow.id_hash == _digest(secret)))

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
        with self._writer.begin() as s:
            s.add(
                AuditRow(
                    at=_now(),
                    actor=printable(actor, 64),
                    action=action,
                    target=printable(target, 200),
                    outcome=outcome,
                    client=client[:64],
                    request_id=request_id[:64],
                    detail=detail or {},
                )
            )

    def audit_log(
        self, *, limit: int = 100, offset: int = 0, actor: str | None = None
    ) -> tuple[int, list[AuditEntry]]:
        """(total, newest entries first)."""
        with self._reader() as s:
            q = select(AuditRow)
            count = select(func.count()).select_from(AuditRow)
            if actor is not None:
                q = q.where(AuditRow.actor == actor)
                count = count.where(AuditRow.actor == actor)
            rows = s.scalars(q.order_by(AuditRow.id.desc()).limit(limit).offset(offset))
            entries = [
                AuditEntry(
                    r.id,
                    _aware(r.at),
                    r.actor,
                    r.action,
                    r.target,
                    r.outcome,
                    r.client,
                    r.request_id,
                    dict(r.detail or {}),
                )
                for r in rows
            ]
            return int(s.scalar(count) or 0), entries

    # ------------------------------------------------------------------ helpers
    def _user_row(self, s: Session, name: str) -> UserRow:
        row = s.scalar(select(UserRow).where(func.lower(UserRow.name) == name.lower()))
        if row is None:
            raise UserNotFoundError(f"no user {name!r}", hint="`assetloom user list` shows them")
        return row


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


def _aware(dt: datetime) -> datetime:
    """SQLite hands datetimes back without their zone; they were stored as UTC."""
    return dt if dt.tzinfo else dt.replace(tzinfo=UTC)


def _iso(dt: datetime | None) -> str | None:
    return _aware(dt).isoformat().replace("+00:00", "Z") if dt else None


def _user(row: UserRow) -> UserInfo:
    return UserInfo(
        row.id,
        row.name,
        Role(row.role),
        row.disabled,
        _aware(row.created_at),
        row.password_hash is not None,
    )


def _token(row: ApiTokenRow, user: str) -> TokenInfo:
    return TokenInfo(
        row.id,
        user,
        row.label,
        row.prefix,
        _aware(row.created_at),
        _aware(row.last_used_at) if row.last_used_at else None,
        _aware(row.revoked_at) if row.revoked_at else None,
    )
