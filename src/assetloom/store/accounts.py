"""`SqlAccountStore`: the account tables' queries (users, API tokens, web sessions, audit log).

Only rows in and records out; what they mean is `accounts.service.AccountService`'s (password
hashing, roles, which sessions a change ends, what is audited and how it is cut). Each method
is one transaction, so a check and the write it guards never interleave with another writer.
Names are matched case-insensitively (lower() on both sides: they are ASCII). Dialect-neutral
SQL, run on SQLite and PostgreSQL alike; every time comes back zone-aware, in UTC.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from sqlalchemy import ColumnElement, delete, func, select, update
from sqlalchemy.orm import Session, sessionmaker

from assetloom.store.account_tables import ApiTokenRow, AuditRow, UserRow, WebSessionRow


class HasSessions(Protocol):
    """What the account store needs of a library: its catalog's session factories."""

    read_session: sessionmaker[Session]
    write_session: sessionmaker[Session]


@dataclass(frozen=True, slots=True)
class UserRecord:
    id: int
    name: str
    role: str
    password_hash: str | None
    disabled: bool
    created_at: datetime


@dataclass(frozen=True, slots=True)
class TokenRecord:
    id: int
    user: str
    """The owner's name."""
    label: str
    prefix: str
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


@dataclass(frozen=True, slots=True)
class SessionRecord:
    csrf_token: str
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class AuditRecord:
    id: int
    at: datetime
    actor: str
    action: str
    target: str
    outcome: str
    client: str
    request_id: str
    detail: dict[str, Any]


class SqlAccountStore:
    """The `accounts.base.AccountStore` port over the catalog's account tables."""

    def __init__(self, reader: sessionmaker[Session], writer: sessionmaker[Session]) -> None:
        self._reader = reader
        self._writer = writer

    @classmethod
    def of(cls, lib: HasSessions) -> SqlAccountStore:
        return cls(lib.read_session, lib.write_session)

    # ------------------------------------------------------------------ users
    def add_user(
        self, name: str, role: str, password_hash: str | None, created_at: datetime
    ) -> UserRecord | None:
        """The new user; None (and nothing written) when one of that name exists."""
        with self._writer.begin() as s:
            if s.scalar(select(UserRow.id).where(_named(name))) is not None:
                return None
            row = UserRow(
                name=name,
                role=role,
                password_hash=password_hash,
                disabled=False,
                created_at=created_at,
            )
            s.add(row)
            s.flush()
            return _user(row)

    def users(self) -> list[UserRecord]:
        """By name."""
        with self._reader() as s:
            return [_user(r) for r in s.scalars(select(UserRow).order_by(UserRow.name))]

    def has_users(self) -> bool:
        with self._reader() as s:
            return bool(s.scalar(select(func.count()).select_from(UserRow)))

    def user(self, name: str) -> UserRecord | None:
        with self._reader() as s:
            row = s.scalar(select(UserRow).where(_named(name)))
            return _user(row) if row is not None else None

    def update_user(
        self,
        name: str,
        *,
        role: str | None,
        password_hash: str | None,
        disabled: bool | None,
        end_sessions: bool,
    ) -> UserRecord | None:
        """Set what is given (None: left as is) and, with `end_sessions`, delete the user's
        web sessions in the same transaction; None when there is no such user."""
        with self._writer.begin() as s:
            row = s.scalar(select(UserRow).where(_named(name)))
            if row is None:
                return None
            if role is not None:
                row.role = role
            if password_hash is not None:
                row.password_hash = password_hash
            if disabled is not None:
                row.disabled = disabled
            if end_sessions:
                s.execute(delete(WebSessionRow).where(WebSessionRow.user_id == row.id))
            return _user(row)

    # ------------------------------------------------------------------ API tokens
    def add_token(
        self, user_name: str, *, label: str, prefix: str, token_hash: bytes, created_at: datetime
    ) -> TokenRecord | None:
        """The new token of that user; None when there is no such user."""
        with self._writer.begin() as s:
            user = s.scalar(select(UserRow).where(_named(user_name)))
            if user is None:
                return None
            row = ApiTokenRow(
                user_id=user.id,
                label=label,
                prefix=prefix,
                token_hash=token_hash,
                created_at=created_at,
            )
            s.add(row)
            s.flush()
            return _token(row, user.name)

    def tokens(self, user_name: str | None = None) -> list[TokenRecord] | None:
        """Every token by id, or that user's; None when `user_name` names nobody."""
        with self._reader() as s:
            q = select(ApiTokenRow, UserRow.name).join(UserRow).order_by(ApiTokenRow.id)
            if user_name is not None:
                user_id = s.scalar(select(UserRow.id).where(_named(user_name)))
                if user_id is None:
                    return None
                q = q.where(UserRow.id == user_id)
            return [_token(t, n) for t, n in s.execute(q)]

    def revoke_token(self, token_id: int, *, owner: str | None, at: datetime) -> TokenRecord | None:
        """Mark the token revoked at `at` unless it already is; with `owner`, only if that
        user owns it. None when there is no such token (of that owner)."""
        with self._writer.begin() as s:
            found = s.execute(
                select(ApiTokenRow, UserRow.name).join(UserRow).where(ApiTokenRow.id == token_id)
            ).first()
            if found is None or (owner is not None and found[1].lower() != owner.lower()):
                return None
            row, name = found
            if row.revoked_at is None:
                row.revoked_at = at
            return _token(row, name)

    def token_holder(self, token_hash: bytes) -> tuple[TokenRecord, UserRecord] | None:
        """The token with this digest and its user."""
        with self._reader() as s:
            found = s.execute(
                select(ApiTokenRow, UserRow)
                .join(UserRow)
                .where(ApiTokenRow.token_hash == token_hash)
            ).first()
            if found is None:
                return None
            token, user = found
            return _token(token, user.name), _user(user)

    def touch_token(self, token_id: int, at: datetime) -> None:
        """Record a use of the token."""
        with self._writer.begin() as s:
            s.execute(update(ApiTokenRow).where(ApiTokenRow.id == token_id).values(last_used_at=at))

    # ------------------------------------------------------------------ web sessions
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
        """A new web session; sessions that expired before `created_at` are deleted in the
        same transaction (each sign-in sweeps them, so the table never grows unbounded)."""
        with self._writer.begin() as s:
            s.execute(delete(WebSessionRow).where(WebSessionRow.expires_at < created_at))
            s.add(
                WebSessionRow(
                    id_hash=id_hash,
                    user_id=user_id,
                    csrf_token=csrf_token,
                    created_at=created_at,
                    expires_at=expires_at,
                    client=client,
                )
            )

    def session_holder(self, id_hash: bytes) -> tuple[SessionRecord, UserRecord] | None:
        """The session with this digest and its user, expired or not."""
        with self._reader() as s:
            found = s.execute(
                select(WebSessionRow, UserRow).join(UserRow).where(WebSessionRow.id_hash == id_hash)
            ).first()
            if found is None:
                return None
            session, user = found
            return SessionRecord(session.csrf_token, _aware(session.expires_at)), _user(user)

    def end_session(self, id_hash: bytes) -> None:
        with self._writer.begin() as s:
            s.execute(delete(WebSessionRow).where(WebSessionRow.id_hash == id_hash))

    # ------------------------------------------------------------------ audit log
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
    ) -> None:
        with self._writer.begin() as s:
            s.add(
                AuditRow(
                    at=at,
                    actor=actor,
                    action=action,
                    target=target,
                    outcome=outcome,
                    client=client,
                    request_id=request_id,
                    detail=detail,
                )
            )

    def audit_log(
        self, *, limit: int, offset: int, actor: str | None = None
    ) -> tuple[int, list[AuditRecord]]:
        """(how many entries there are, of `actor` if given; a page of them, newest first)."""
        with self._reader() as s:
            q = select(AuditRow)
            count = select(func.count()).select_from(AuditRow)
            if actor is not None:
                q = q.where(AuditRow.actor == actor)
                count = count.where(AuditRow.actor == actor)
            rows = s.scalars(q.order_by(AuditRow.id.desc()).limit(limit).offset(offset))
            entries = [
                AuditRecord(
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


def _named(name: str) -> ColumnElement[bool]:
    return func.lower(UserRow.name) == name.lower()


def _aware(dt: datetime) -> datetime:
    """SQLite hands datetimes back without their zone; they were stored as UTC."""
    return dt if dt.tzinfo else dt.replace(tzinfo=UTC)


def _user(row: UserRow) -> UserRecord:
    return UserRecord(
        row.id, row.name, row.role, row.password_hash, row.disabled, _aware(row.created_at)
    )


def _token(row: ApiTokenRow, user: str) -> TokenRecord:
    return TokenRecord(
        row.id,
        user,
        row.label,
        row.prefix,
        _aware(row.created_at),
        _aware(row.last_used_at) if row.last_used_at else None,
        _aware(row.revoked_at) if row.revoked_at else None,
    )
