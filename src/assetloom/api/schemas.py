"""The API's own JSON shapes: errors, request bodies, download URLs, accounts, the ledger.

The shapes it shares with the CLI's `--json` are defined once, in `assetloom.app.results`;
the routes declare those as their response models.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from assetloom.accounts import Role
from assetloom.app.results import AssetFullOut


class _Open(BaseModel):
    model_config = ConfigDict(extra="allow")


class ErrorOut(_Open):
    code: str = Field(description="Stable, for scripts: e.g. asset_not_found, too_large")
    message: str = Field(description="What went wrong, for people")
    hint: str | None = Field(default=None, description="What to do about it")
    request_id: str = Field(description="Matches the server's log lines for this request")


class ValidationErrorOut(ErrorOut):
    """422 `invalid_request`: the error shape plus one entry per invalid parameter."""

    errors: list[dict[str, Any]] = Field(
        description="Each invalid parameter: `loc` (where), `msg` (what is wrong), `type`"
    )


class AssetDetailOut(AssetFullOut):
    """`show --json` with download URLs instead of the server's file paths."""

    original_url: str
    thumbnail_url: str | None


class TagDefineIn(BaseModel):
    key: str = Field(min_length=1, max_length=64, examples=["spring-campaign"])
    name_en: str = Field(default="", max_length=200)
    name_zh: str = Field(default="", max_length=200)
    examples: list[str] = Field(default_factory=list, max_length=100)
    threshold: float | None = Field(default=None, ge=0.0, le=1.0)


class CheckpointOut(BaseModel):
    origin: str
    tree_size: int
    root_hash: str
    checkpoint: str
    public_key: str


class ProofOut(BaseModel):
    asset_id: str
    leaf_index: int
    tree_size: int
    leaf: str
    leaf_hash: str
    inclusion_proof: list[str]
    checkpoint: str
    public_key: str


class ConsistencyOut(BaseModel):
    old_size: int
    new_size: int
    old_root: str
    new_root: str
    proof: list[str]


class UserOut(BaseModel):
    name: str
    role: Role
    disabled: bool
    created_at: str
    has_password: bool


class UsersOut(BaseModel):
    users: list[UserOut]


class UserCreateIn(BaseModel):
    name: str = Field(min_length=1, max_length=64)
    role: Role
    password: str | None = Field(default=None, max_length=1024)


class UserUpdateIn(BaseModel):
    role: Role | None = None
    password: str | None = Field(default=None, max_length=1024)
    disabled: bool | None = None


class TokenOut(BaseModel):
    id: int
    user: str
    label: str
    prefix: str
    created_at: str
    last_used_at: str | None
    revoked: bool


class TokensOut(BaseModel):
    tokens: list[TokenOut]


class TokenCreateIn(BaseModel):
    label: str = Field(default="", max_length=128)
    user: str | None = Field(
        default=None, max_length=64, description="Admins only: make the token for this user"
    )


class TokenCreatedOut(TokenOut):
    token: str = Field(description="Shown once; only its hash is kept")


class AuditEntryOut(BaseModel):
    id: int
    at: str
    actor: str
    action: str
    target: str
    outcome: str
    client: str
    request_id: str
    detail: dict[str, Any]


class AuditOut(BaseModel):
    total: int
    offset: int
    entries: list[AuditEntryOut]


class MeOut(BaseModel):
    name: str
    role: Role
    via: str


class HealthOut(BaseModel):
    status: str


class ReadyOut(BaseModel):
    ready: bool
    checks: dict[str, str]


def errors(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses` entries for these error statuses (all share ErrorOut)."""
    return {status: {"model": ErrorOut} for status in statuses}
