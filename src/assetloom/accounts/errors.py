"""Account and access errors, in the one AssetLoom hierarchy (mapped to 401, 403, 429...)."""

from __future__ import annotations

from assetloom.errors import AssetLoomError


class AuthenticationError(AssetLoomError):
    """No valid credentials: a wrong password, an unknown, revoked or expired token or session."""

    code = "unauthenticated"
    exit_code = 6


class PermissionDeniedError(AssetLoomError):
    """Signed in, but the role does not allow this action."""

    code = "forbidden"
    exit_code = 6


class CsrfError(AssetLoomError):
    """A browser write without the session's CSRF token (a forged cross-site request)."""

    code = "csrf_failed"
    exit_code = 6


class RateLimitedError(AssetLoomError):
    """Too many failed sign-ins from one client or for one user; try again later."""

    code = "rate_limited"
    exit_code = 6

    def __init__(self, message: str, *, retry_after_s: int, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.retry_after_s = retry_after_s


class UserExistsError(AssetLoomError):
    code = "user_exists"
    exit_code = 1  # bad input; 2 is usage / no library


class UserNotFoundError(AssetLoomError):
    code = "user_not_found"
    exit_code = 3


class TokenNotFoundError(AssetLoomError):
    code = "token_not_found"
    exit_code = 3
