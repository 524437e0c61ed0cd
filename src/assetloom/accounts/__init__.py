"""Who may use a library over HTTP: users and roles, API tokens, web sessions, audit log."""

from assetloom.accounts.roles import Principal, Role
from assetloom.accounts.service import AccountService, AuditEntry, TokenInfo, UserInfo

__all__ = ["AccountService", "AuditEntry", "Principal", "Role", "TokenInfo", "UserInfo"]
