"""The JSON shapes of the API, for the OpenAPI document (the same shapes as `--json`).

Routes return the library's own `to_json()` renderings directly; these models only describe
them (and the request bodies), so the CLI and the API cannot drift apart by a second copy.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from assetloom.accounts import Role

Tier = Literal["exact", "near-identical", "similar", "none"]


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


class FileOutcomeOut(BaseModel):
    file: str
    asset_id: str


class SkippedOut(BaseModel):
    file: str
    reason: str


class AddReportOut(BaseModel):
    added: list[FileOutcomeOut]
    present: list[FileOutcomeOut]
    skipped: list[SkippedOut]


class AssetOut(_Open):
    asset_id: str
    sha256: str
    media_type: str
    mime: str
    size: int
    original_name: str
    width: int | None
    height: int | None
    registered_at: str


class FingerprintOut(_Open):
    kind: str
    value: str


class AssetDetailOut(AssetOut):
    source: str | None = Field(
        description='Where it came from: the path `add` was given, or "upload by <user>: <name>"'
    )
    metadata: dict[str, Any]
    fingerprints: list[FingerprintOut]
    original_url: str
    thumbnail_url: str | None


class AssetListOut(BaseModel):
    total: int = Field(description="Assets passing the filters, on every page")
    offset: int
    next_cursor: str | None = Field(description="`cursor` for the next page; null on the last")
    assets: list[AssetOut]


class RemovedOut(BaseModel):
    class Item(BaseModel):
        asset_id: str
        original_name: str

    removed: list[Item]


class SearchHitOut(_Open):
    asset_id: str
    score: float
    original_name: str
    media_type: str
    matched: list[dict[str, Any]] = Field(description="Which retrievers found it, and why")


class SearchOut(BaseModel):
    results: list[SearchHitOut]


class MatchOut(_Open):
    asset_id: str
    tier: Tier
    distance: float
    registered_at: str
    original_name: str
    ledger: dict[str, Any] | None = Field(
        default=None, description="Inclusion proof of the match's registration, checked"
    )


class VerifyResultOut(_Open):
    file: str
    tier: Tier
    matches: list[MatchOut]
    error: str | None = None


class VerifyOut(BaseModel):
    results: list[VerifyResultOut]


class CopiesOut(BaseModel):
    asset_id: str
    matches: list[MatchOut]


class DuplicateAssetOut(_Open):
    asset_id: str
    original_name: str
    size: int
    width: int | None
    height: int | None
    distance: float


class DuplicateGroupOut(BaseModel):
    tier: Tier
    keeper: str
    reason: str
    assets: list[DuplicateAssetOut]


class DuplicatesOut(BaseModel):
    groups: list[DuplicateGroupOut]


class TagOut(BaseModel):
    key: str
    name_en: str
    name_zh: str
    builtin: bool
    assets: int


class TagsOut(BaseModel):
    tags: list[TagOut]


class AssetTagOut(_Open):
    key: str
    name_en: str
    name_zh: str
    score: float
    source: str


class AssetTagsOut(BaseModel):
    asset_id: str
    tags: list[AssetTagOut]


class TagDefineIn(BaseModel):
    key: str = Field(min_length=1, max_length=64, examples=["spring-campaign"])
    name_en: str = Field(default="", max_length=200)
    name_zh: str = Field(default="", max_length=200)
    examples: list[str] = Field(default_factory=list, max_length=100)
    threshold: float | None = Field(default=None, ge=0.0, le=1.0)


class TagDefinedOut(BaseModel):
    key: str
    tagged: int


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
