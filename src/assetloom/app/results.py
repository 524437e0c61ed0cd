"""Results the library returns, and the one definition of each JSON shape they take.

The CLI's `--json` prints `to_json()` of these models and the API declares them as its
`response_model`s (the OpenAPI document is generated from them), so the two cannot drift
apart. Where an interface adds fields (the API's download URLs, `show`'s local paths), it
subclasses the shared shape. The add report stays a plain dataclass, built item by item as
files finish; pydantic reads dataclasses as they are.

Models build their schemas on first use (`defer_build`): `list` pays for the two it prints,
not for all of them.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import PurePosixPath
from typing import Any, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, with_config

from assetloom.core.assets import Asset, Fingerprint, Match, Segment, Tier

TierName = Literal["exact", "near-identical", "similar", "none"]


def _absent(value: object) -> bool:
    return value is None


def _empty(value: object) -> bool:
    return not value


class Shape(BaseModel):
    """A JSON document (or part of one) the CLI and the API both print."""

    # "constants": a NaN in metadata prints as the CLI always printed it (the API refuses it).
    model_config = ConfigDict(
        defer_build=True,
        ser_json_inf_nan="constants",
        json_schema_serialization_defaults_required=True,
    )

    def to_json(self) -> dict[str, Any]:
        return self.model_dump(mode="json")


class OpenShape(Shape):
    """A shape that may gain fields: clients must ignore the ones they do not know."""

    model_config = ConfigDict(extra="allow")


@dataclass(slots=True)
class FileOutcome:
    file: str
    asset_id: str


@dataclass(slots=True)
class SkippedFile:
    file: str
    reason: str


@with_config(ConfigDict(json_schema_serialization_defaults_required=True))
@dataclass(slots=True)
class AddReport:
    """`add --json` and `POST /api/v1/assets`."""

    added: list[FileOutcome] = field(default_factory=list)
    present: list[FileOutcome] = field(default_factory=list)
    skipped: list[SkippedFile] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


class FingerprintOut(OpenShape):
    kind: str
    value: str = Field(description="Hex")
    quality: int | None = Field(default=None, exclude_if=_absent)

    @classmethod
    def of(cls, f: Fingerprint) -> Self:
        return cls(kind=f.kind, value=f.hex, quality=f.quality or None)


class AssetOut(OpenShape):
    """An asset in a list (`list --json`)."""

    asset_id: str
    sha256: str
    media_type: str
    mime: str
    size: int
    original_name: str
    width: int | None
    height: int | None
    registered_at: str

    @classmethod
    def of(cls, a: Asset, **more: Any) -> Self:
        """`more`: the fields a subclass adds."""
        return cls(
            asset_id=a.asset_id,
            sha256=a.sha256,
            media_type=a.media_type.value,
            mime=a.mime,
            size=a.size,
            original_name=a.original_name,
            width=a.width,
            height=a.height,
            registered_at=iso(a.registered_at),
            **more,
        )


class PassageOut(Shape):
    """Text found inside an asset and where: a transcript segment (seconds), a page, an
    OCR line. Absent places are left out."""

    source: str
    start: float | None = Field(default=None, exclude_if=_absent)
    end: float | None = Field(default=None, exclude_if=_absent)
    page: int | None = Field(default=None, exclude_if=_absent)
    text: str

    @classmethod
    def of(cls, p: Segment) -> Self:
        return cls(source=p.source, start=p.start, end=p.end, page=p.page, text=p.text or "")


class AssetFullOut(AssetOut):
    """One asset with everything known about it; `show` and the API add where its files are."""

    source: str | None = Field(
        description='Where it came from: the path `add` was given, or "upload by <user>: <name>"'
    )
    metadata: dict[str, Any]
    fingerprints: list[FingerprintOut]
    passages: list[PassageOut] = Field(
        default_factory=list,
        exclude_if=_empty,
        description="Transcript, page text, OCR lines, in order (left out when there are none)",
    )

    @classmethod
    def of(cls, a: Asset, *, passages: list[Segment] | None = None, **more: Any) -> Self:
        return super().of(
            a,
            source=source_label(a.source),
            metadata=a.metadata,
            fingerprints=[FingerprintOut.of(f) for f in a.fingerprints],
            passages=[PassageOut.of(p) for p in passages or []],
            **more,
        )


class ShownAssetOut(AssetFullOut):
    """`show --json`: the asset and where its files lie on this machine."""

    blob_path: str
    thumbnail_path: str | None


def asset_json(a: Asset, *, full: bool = True) -> dict[str, Any]:
    return (AssetFullOut if full else AssetOut).of(a).to_json()


class AssetListOut(Shape):
    """`list --json` and `GET /api/v1/assets`."""

    total: int = Field(description="Assets passing the filters, on every page")
    offset: int
    next_cursor: str | None = Field(description="`cursor` for the next page; null on the last")
    assets: list[AssetOut]


class RemovedOut(Shape):
    """`rm --json` and `DELETE /api/v1/assets/{id}`."""

    class Item(Shape):
        asset_id: str
        original_name: str

    removed: list[Item]

    @classmethod
    def of(cls, assets: list[Asset]) -> Self:
        return cls(
            removed=[cls.Item(asset_id=a.asset_id, original_name=a.original_name) for a in assets]
        )


class TrashedOut(RemovedOut):
    """`rm --json` and `DELETE /api/v1/assets/{id}`: the removal shape as before, plus when
    the assets went to the trash, when they go for good, and how to undo it."""

    trashed_at: str
    purge_after: str | None = Field(description="When they may be removed for good; null: never")
    restore: dict[str, Any] = Field(
        description='The undo: POST `path` with `{"ids": ids}` (`assetloom trash restore`)'
    )


class SearchHitOut(OpenShape):
    asset_id: str
    score: float
    original_name: str
    media_type: str
    matched: list[dict[str, Any]] = Field(description="Which retrievers found it, and why")
    explanation: str = Field(
        default="", description="Why it matched, in words: picture matches 'dog on grass'; ..."
    )


class SearchOut(Shape):
    """`search --json`, `similar --json` and the API's searches."""

    results: list[SearchHitOut]


class MatchOut(OpenShape):
    asset_id: str
    tier: TierName
    distance: float
    registered_at: str
    original_name: str
    ledger: dict[str, Any] | None = Field(
        default=None,
        exclude_if=_absent,
        description="Inclusion proof of the match's registration, checked",
    )
    segment: dict[str, Any] | None = Field(
        default=None,
        exclude_if=_absent,
        description='Where in the asset the file matched, e.g. {"source": "audio", "start": '
        '12.4, "end": 22.4} (seconds); absent when it matched the whole asset',
    )
    inliers: int | None = Field(
        default=None,
        exclude_if=_absent,
        description="Local-feature matches one similarity transform explains, when geometric "
        "verification (not the hashes) made the match near-identical; absent otherwise",
    )

    @classmethod
    def of(cls, m: Match, ledger: dict[str, Any] | None = None) -> Self:
        return cls(
            asset_id=m.asset_id,
            tier=m.tier.value,
            distance=m.distance,
            registered_at=iso(m.registered_at),
            original_name=m.original_name,
            ledger=ledger,
            segment=m.segment.to_json() if m.segment else None,
            inliers=m.inliers,
        )


class C2paOut(OpenShape):
    """The C2PA manifest embedded in a verified file."""

    state: Literal["Invalid", "Valid", "Trusted"] = Field(
        description="Trusted: signed by a chain to this library's root; Valid: the signature "
        "holds but the signer is not ours; Invalid: the file changed after signing"
    )
    asset_id: str | None = Field(
        default=None, exclude_if=_absent, description="The AssetLoom asset the manifest names"
    )
    source_type: str | None = Field(
        default=None,
        exclude_if=_absent,
        description="IPTC digital source type, e.g. trainedAlgorithmicMedia",
    )
    problems: list[str] = Field(
        default_factory=list,
        exclude_if=_empty,
        description="Why an Invalid manifest is invalid (C2PA validation codes)",
    )


class WatermarkOut(OpenShape):
    """The invisible watermark read from a verified image."""

    asset_id: str | None = Field(
        default=None,
        exclude_if=_absent,
        description="The asset our watermark names, when the match is beyond chance",
    )
    bits_ok: float | None = Field(
        description="Share of the 32 bits agreeing with the closest watermarked asset "
        "(null when the library watermarked none)"
    )
    bits: str = Field(description="The 32 bits read, as 8 hex digits")
    chance: float | None = Field(
        default=None,
        exclude_if=_absent,
        description="Probability that an unmarked image comes this close to some watermarked asset",
    )


class C2paRootOut(Shape):
    """`ledger export-root --json`: the root of the library's C2PA chain, for trust lists."""

    pem: str
    sha256: str = Field(description="SHA-256 of the certificate (DER), to compare out of band")
    subject: str
    not_after: str
    file: str | None = Field(default=None, exclude_if=_absent, description="Where it was written")


class VerifyResultOut(OpenShape):
    file: str
    tier: TierName
    matches: list[MatchOut]
    error: str | None = Field(default=None, exclude_if=_absent)
    c2pa: C2paOut | None = Field(default=None, exclude_if=_absent)
    watermark: WatermarkOut | None = Field(default=None, exclude_if=_absent)


class VerifyOut(Shape):
    """`verify --json` and `POST /api/v1/verify`."""

    results: list[VerifyResultOut]


class CopiesOut(Shape):
    """`GET /api/v1/assets/{id}/copies`: verify on the asset's own original, itself left out."""

    asset_id: str
    matches: list[MatchOut]


@dataclass(slots=True)
class VerifyResult:
    file: str
    tier: Tier
    matches: list[Match] = field(default_factory=list)
    error: str | None = None
    proofs: list[dict[str, Any]] = field(default_factory=list)
    """The ledger proof of each match, in order (the CLI checks and shows them)."""
    c2pa: C2paOut | None = None
    watermark: WatermarkOut | None = None

    def out(self) -> VerifyResultOut:
        ledgers: list[dict[str, Any] | None] = [*self.proofs[: len(self.matches)]]
        ledgers += [None] * (len(self.matches) - len(ledgers))
        return VerifyResultOut(
            file=self.file,
            tier=self.tier.value,
            matches=[MatchOut.of(m, p) for m, p in zip(self.matches, ledgers, strict=True)],
            error=self.error or None,
            c2pa=self.c2pa,
            watermark=self.watermark,
        )

    def to_json(self) -> dict[str, Any]:
        return self.out().to_json()


class DuplicateAssetOut(OpenShape):
    asset_id: str
    original_name: str
    size: int
    width: int | None
    height: int | None
    distance: float


class DuplicateGroupOut(Shape):
    tier: TierName
    keeper: str
    reason: str
    assets: list[DuplicateAssetOut]


class DuplicatesOut(Shape):
    """`duplicates --json` and `GET /api/v1/duplicates`."""

    groups: list[DuplicateGroupOut]


class DismissOut(Shape):
    """`duplicates dismiss|restore --json` and `POST /api/v1/duplicates/dismiss|restore`."""

    asset_ids: list[str] = Field(description="The assets named, full ids")
    pairs: int = Field(description="Pairs among them")
    changed: int = Field(
        description="Pairs newly remembered as not duplicates (restore: forgotten); the "
        "others were so already"
    )
    decision: Literal["distinct", "none"] = Field(
        description="What the pairs are now: distinct (dismissed) or none (restored)"
    )


@dataclass(slots=True)
class DuplicateGroup:
    tier: Tier
    keeper: str
    reason: str
    assets: list[Asset]
    distances: dict[str, float]

    def out(self) -> DuplicateGroupOut:
        return DuplicateGroupOut(
            tier=self.tier.value,
            keeper=self.keeper,
            reason=self.reason,
            assets=[
                DuplicateAssetOut(
                    asset_id=a.asset_id,
                    original_name=a.original_name,
                    size=a.size,
                    width=a.width,
                    height=a.height,
                    distance=self.distances.get(a.asset_id, 0.0),
                )
                for a in self.assets
            ],
        )


class TagOut(Shape):
    """A tag of the vocabulary and how many assets carry it."""

    key: str
    name_en: str
    name_zh: str
    builtin: bool
    assets: int


class TagsOut(Shape):
    """`tags list --json` and `GET /api/v1/tags`."""

    tags: list[TagOut]


class AssetTagOut(OpenShape):
    key: str
    name_en: str
    name_zh: str
    score: float
    source: str


class AssetTagsOut(Shape):
    """`tags show --json` and `GET /api/v1/assets/{id}/tags`."""

    asset_id: str
    tags: list[AssetTagOut]


class TagDefinedOut(Shape):
    """`tags define --json` and `POST /api/v1/tags`."""

    key: str
    tagged: int


def source_label(source: str | None) -> str | None:
    """Where an asset came from, for people: as the catalog recorded it, except for files
    uploaded before uploads were labelled ("upload by <user>: <name>"). Those recorded their
    staging path, `<library>/tmp/uploads/up-*/<i>/<name>`, deleted when the request ended:
    they show as just the file name. Matched by shape, so a library that has since moved (or is
    mounted elsewhere, as in a container) is covered too."""
    if not source:
        return source
    parts = PurePosixPath(source).parts
    if (
        len(parts) >= 6
        and parts[0] == "/"
        and parts[-5:-3] == ("tmp", "uploads")
        and parts[-3].startswith("up-")
        and parts[-2].isdigit()
    ):
        return parts[-1]
    return source


def clock(seconds: float) -> str:
    """Seconds as m:ss.s (h:mm:ss.s past an hour), as the CLI and the web UI show times."""
    minutes, secs = divmod(float(seconds), 60)
    hours, minutes = divmod(int(minutes), 60)
    return f"{hours}:{minutes:02}:{secs:04.1f}" if hours else f"{minutes}:{secs:04.1f}"


def iso(dt: Any) -> str:
    text = dt.isoformat()
    return text.replace("+00:00", "Z")
