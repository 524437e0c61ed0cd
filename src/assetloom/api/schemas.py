"""The API's own JSON shapes: errors, request bodies, download URLs, accounts, the ledger.

The shapes it shares with the CLI's `--json` are defined once, in `assetloom.app.results`;
the routes declare those as their response models.
"""

from __future__ import annotations

from typing import Any, Literal

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
    preview_urls: list[str] = Field(
        default_factory=list,
        exclude_if=lambda v: not v,
        description="A video's strip, a document's pages (left out when there are none)",
    )


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


# ---------------------------------------------------------------------- the studio
OutputKind = Literal["text", "image", "speech", "music", "video"]
ImageFormat = Literal["1:1", "9:16", "16:9"]
JobState = Literal["queued", "running", "done", "partial", "failed", "cancelled", "interrupted"]


class CreateIn(BaseModel):
    """`assetloom create`'s arguments; as multipart fields, `outputs` and `formats` may also
    be comma-separated and `backend` repeats, with the style reference as `style_ref`."""

    model_config = ConfigDict(extra="forbid")

    brief: str = Field(max_length=16000, description="What to make, in Chinese or English")
    lang: Literal["zh", "en"] | None = Field(default=None, description="Default: the brief's")
    outputs: list[OutputKind] | None = Field(default=None, max_length=5)
    formats: list[ImageFormat] | None = Field(default=None, max_length=3)
    backend: list[str] = Field(
        default_factory=list,
        max_length=5,
        description="KIND=BACKEND, one per kind (text=template, image=compose, ...); one with "
        "an argument (a URL, a folder) only for admins",
    )
    seed: int | None = Field(default=None, ge=0, le=2**32 - 1)


class RepurposeIn(BaseModel):
    """`assetloom repurpose`'s arguments (the asset is in the path)."""

    model_config = ConfigDict(extra="forbid")

    instruction: str = Field(max_length=16000, examples=["put the product in a rainforest"])
    outputs: list[OutputKind] | None = Field(default=None, max_length=5)
    formats: list[ImageFormat] | None = Field(default=None, max_length=3)
    backend: list[str] = Field(default_factory=list, max_length=5)
    seed: int | None = Field(default=None, ge=0, le=2**32 - 1)


class JobStepOut(BaseModel):
    step: str
    at: str
    elapsed_s: float = Field(description="Seconds since the job started")


class JobErrorOut(BaseModel):
    code: str
    message: str
    hint: str | None = None


class StudioResultOut(BaseModel):
    """`create --json`: the plan, the outputs (each with its asset id, recipe and quality, or
    its error) and the report (copyright flags, quality, errors)."""

    project_id: str
    brief: str
    brief_asset_id: str
    state: str
    plan: dict[str, Any]
    inputs: dict[str, str]
    outputs: list[dict[str, Any]]
    report: dict[str, Any]


class JobOut(BaseModel):
    job_id: str = Field(description="Also the id of the project the run makes")
    kind: Literal["create", "repurpose"]
    state: JobState
    brief: str
    request: dict[str, Any] | None = Field(
        description="What was asked (the style reference by its file name)"
    )
    created_at: str
    started_at: str | None
    finished_at: str | None
    steps: list[JobStepOut]
    result: StudioResultOut | None = Field(
        description="When the run ended with outputs; null for a job of an earlier server "
        "process: its project (`project_url`) is the record"
    )
    error: JobErrorOut | None
    rerun_of: str | None = Field(description="The project this job runs again")
    job_url: str
    project_url: str
    page_url: str


class CreationOut(BaseModel):
    asset_id: str
    project_id: str
    kind: str
    backend: str
    recipe: dict[str, Any]
    quality: dict[str, Any]


class ProjectOut(BaseModel):
    project_id: str
    kind: str
    brief: str
    language: str
    state: JobState
    plan: dict[str, Any]
    report: dict[str, Any] = Field(
        description="copyright, quality, errors; `request` (what was asked), `error` if it failed"
    )
    created_at: str
    finished_at: str | None
    outputs: list[CreationOut]


class LineageEdgeOut(BaseModel):
    child_id: str
    child_name: str | None = Field(description="null when the asset is no longer in the library")
    parent_id: str
    parent_name: str | None
    role: str = Field(description="brief, subject, background, style, source, copy")
    project_id: str | None


class LineageOut(BaseModel):
    """`lineage --json`: edges up (made from, recursively) and down (made into)."""

    asset_id: str
    original_name: str
    creation: CreationOut | None
    up: list[LineageEdgeOut]
    down: list[LineageEdgeOut]
    truncated: bool


def errors(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses` entries for these error statuses (all share ErrorOut)."""
    return {status: {"model": ErrorOut} for status in statuses}
