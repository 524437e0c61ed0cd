"""Roles, ordered: each one may do everything the ones below it may."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Role(StrEnum):
    VIEWER = "viewer"  # read, search, verify
    EDITOR = "editor"  # + upload, edit, delete
    ADMIN = "admin"  # + users, tokens of others, audit log

    def allows(self, needed: Role) -> bool:
        order = list(Role)
        return order.index(self) >= order.index(needed)


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is making a request, and how they proved it.

    `via` is "token", "session", "anonymous" (read-only sharing) or "cli" (someone with the
    library folder, who is trusted like an admin).
    """

    name: str
    role: Role
    via: str
    user_id: int | None = None
    csrf_token: str | None = None

    def can(self, needed: Role) -> bool:
        return self.role.allows(needed)
