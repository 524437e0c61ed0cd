"""Share links: a token that lets anyone holding it see one asset or one collection, nothing
else of the library, until it expires or is revoked.

Only the token's SHA-256 is stored (as API tokens: accounts/service.py), and a password with
the accounts' Argon2id hashing. Everything a visitor asks for is checked against what the link
covers, by exact asset id (no prefixes, no search, no lists beyond its own): an id outside it,
an expired or revoked link, a trashed target and a wrong token all answer the same not-found.
Each visit and each download is counted on the link and written to the audit log as
`share:<prefix>` from the visitor's address.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Literal

from pydantic import Field

from assetloom.app.collections import member_ids, members
from assetloom.app.results import Shape, iso
from assetloom.core.assets import Asset
from assetloom.errors import BadInputError, ShareNotFoundError

if TYPE_CHECKING:
    from assetloom.app.library import Library
    from assetloom.store.organise import ShareRecord

TOKEN_PREFIX = "als_"
SHOWN_PREFIX = 10
"""Characters of a token kept in clear to tell links apart (the prefix and 6 random ones)."""
DEFAULT_EXPIRY = "7d"
_DURATION = re.compile(r"(\d{1,4})\s*([mhdw])")
_UNITS = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}
GONE = "no such share link"
"""What every refusal says, so a visitor learns nothing from which check failed."""


class ShareOut(Shape):
    """A link as `share list --json` and `GET /api/v1/shares` list it (never its token)."""

    id: int
    prefix: str = Field(description="The token's first characters, to tell links apart")
    kind: Literal["collection", "asset"]
    collection: str | None
    asset_id: str | None
    allow_download: bool
    password: bool = Field(description="Visitors must give a password")
    state: Literal["active", "expired", "revoked"]
    created_by: str
    created_at: str
    expires_at: str | None
    revoked_at: str | None
    uses: int = Field(description="Visits and downloads so far")
    last_used_at: str | None


class ShareListOut(Shape):
    shares: list[ShareOut]


class ShareCreatedOut(ShareOut):
    """`share create --json` and `POST /api/v1/shares`: the only time the token is shown."""

    url: str
    token: str


def parse_expiry(text: str, now: datetime) -> datetime | None:
    """ "7d", "12h", "30m", "2w", a date (YYYY-MM-DD, the end of that day UTC) or "never"."""
    text = text.strip().lower()
    if text == "never":
        return None
    if m := _DURATION.fullmatch(text):
        amount = int(m.group(1))
        if amount < 1:
            raise BadInputError("--expires must be in the future")
        return now + timedelta(**{_UNITS[m.group(2)]: amount})
    try:
        day = datetime.strptime(text, "%Y-%m-%d").replace(tzinfo=UTC)
    except ValueError as exc:
        raise BadInputError(
            f"--expires {text!r} is not a duration or a date",
            hint='give e.g. "7d", "12h", "2w", "2027-01-31" or "never"',
        ) from exc
    end = day + timedelta(days=1) - timedelta(microseconds=1)
    if end <= now:
        raise BadInputError(f"--expires {text} is in the past")
    return end


def create(
    lib: Library,
    *,
    by: str,
    base_url: str,
    collection: str | None = None,
    asset_id: str | None = None,
    expires: str = DEFAULT_EXPIRY,
    password: str | None = None,
    allow_download: bool = False,
) -> ShareCreatedOut:
    """A new link; `base_url` (the server's address, may be "") starts its URL."""
    from assetloom.accounts.passwords import hash_password

    if (collection is None) == (asset_id is None):
        raise BadInputError(
            "share one collection or one asset", hint="give --collection NAME or --asset ID"
        )
    now = _now()
    expires_at = parse_expiry(expires, now)
    token = TOKEN_PREFIX + secrets.token_urlsafe(24)
    record = lib.organise.create_share(
        token_hash=digest(token),
        prefix=token[:SHOWN_PREFIX],
        by=by,
        at=now,
        collection=collection,
        asset_id=asset_id,
        password_hash=hash_password(password) if password is not None else None,
        allow_download=allow_download,
        expires_at=expires_at,
    )
    return ShareCreatedOut(
        **_out(record, now).model_dump(), url=f"{base_url.rstrip('/')}/s/{token}", token=token
    )


def list_all(lib: Library) -> ShareListOut:
    now = _now()
    return ShareListOut(shares=[_out(r, now) for r in lib.organise.shares()])


def revoke(lib: Library, token_or_id: str) -> ShareOut:
    """Revoke by the token itself or by the id `share list` shows."""
    text = token_or_id.strip()
    now = _now()
    if text.isdigit():
        record = lib.organise.revoke_share(at=now, share_id=int(text))
    else:
        record = lib.organise.revoke_share(at=now, token_hash=digest(text))
    return _out(record, now)


def digest(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


# ---------------------------------------------------------------------- visitors
def open_link(lib: Library, token: str) -> ShareRecord:
    """The live link for this token; ShareNotFoundError for anything else (wrong, revoked,
    expired, or its asset or collection no longer visible)."""
    if not token.startswith(TOKEN_PREFIX) or len(token) > 100:
        raise ShareNotFoundError(GONE)
    record = lib.organise.share_of_hash(digest(token))
    if record is None or _state(record, _now()) != "active":
        raise ShareNotFoundError(GONE)
    if record.asset_id is not None and lib.catalog.held_among([record.asset_id]):
        raise ShareNotFoundError(GONE)
    return record


def password_ok(record: ShareRecord, password: str) -> bool:
    from assetloom.accounts.passwords import verify_password

    return record.password_hash is not None and verify_password(record.password_hash, password)


def pass_for(record: ShareRecord, token: str) -> str:
    """What a visitor's cookie holds once they gave the password: an HMAC of the token keyed
    by the password's hash, which only someone who knew the password was handed (and which a
    new password or a revoked link makes worthless)."""
    key = (record.password_hash or "").encode()
    return hmac.new(key, token.encode(), hashlib.sha256).hexdigest()


def pass_ok(record: ShareRecord, token: str, supplied: str | None) -> bool:
    if record.password_hash is None:
        return True
    return bool(supplied) and hmac.compare_digest(pass_for(record, token), supplied or "")


def covered(
    lib: Library, record: ShareRecord, *, limit: int | None = None, offset: int = 0
) -> tuple[int, list[Asset]]:
    """(how many, one page of) the assets the link shows."""
    if record.asset_id is not None:
        found = lib.get_many([record.asset_id])
        hidden = lib.catalog.held_among(found)
        assets = [a for a in found.values() if a.asset_id not in hidden]
        return len(assets), assets[offset : None if limit is None else offset + limit]
    assert record.collection is not None
    return members(lib, lib.organise.collection(record.collection), limit=limit, offset=offset)


def covered_asset(lib: Library, record: ShareRecord, asset_id: str) -> Asset:
    """The asset with exactly this id if the link covers it; ShareNotFoundError otherwise."""
    if record.asset_id is not None:
        ok = asset_id == record.asset_id
    elif record.collection_id is not None:
        collection = lib.organise.collection_by_id(record.collection_id)
        if collection.query is None:
            ok = lib.organise.holds(collection.id, asset_id)
        else:
            ok = asset_id in member_ids(lib, collection)
    else:
        ok = False
    if not ok or lib.catalog.held_among([asset_id]):
        raise ShareNotFoundError(GONE)
    return lib.get_many([asset_id])[asset_id]


def title_of(record: ShareRecord, assets: list[Asset]) -> str:
    if record.collection is not None:
        return record.collection
    return assets[0].original_name if assets else ""


def count_use(
    lib: Library,
    record: ShareRecord,
    action: str,
    target: str,
    client: str,
    *,
    counted: bool = True,
) -> None:
    """One visit or download: counted on the link (unless not `counted`: a wrong password)
    and written to the audit log."""
    from assetloom.accounts import AccountService

    if counted:
        lib.organise.count_use(record.id, _now())
    AccountService.of(lib).record(
        f"share:{record.prefix}",
        action,
        target,
        outcome="ok" if counted else "unauthenticated",
        client=client,
        detail={"share": record.id, "collection": record.collection, "asset": record.asset_id},
    )


def _state(r: ShareRecord, now: datetime) -> Literal["active", "expired", "revoked"]:
    if r.revoked_at is not None:
        return "revoked"
    if r.expires_at is not None and r.expires_at <= now:
        return "expired"
    return "active"


def _out(r: ShareRecord, now: datetime) -> ShareOut:
    return ShareOut(
        id=r.id,
        prefix=r.prefix,
        kind="collection" if r.collection_id is not None else "asset",
        collection=r.collection,
        asset_id=r.asset_id,
        allow_download=r.allow_download,
        password=r.password_hash is not None,
        state=_state(r, now),
        created_by=r.created_by,
        created_at=iso(r.created_at),
        expires_at=iso(r.expires_at) if r.expires_at else None,
        revoked_at=iso(r.revoked_at) if r.revoked_at else None,
        uses=r.uses,
        last_used_at=iso(r.last_used_at) if r.last_used_at else None,
    )


def _now() -> datetime:
    return datetime.now(UTC)
