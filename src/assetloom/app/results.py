"""Results the library returns; the CLI and API render these same objects."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import PurePosixPath
from typing import Any

from assetloom.core.assets import Asset, Match, Tier


@dataclass(slots=True)
class FileOutcome:
    file: str
    asset_id: str


@dataclass(slots=True)
class SkippedFile:
    file: str
    reason: str


@dataclass(slots=True)
class AddReport:
    added: list[FileOutcome] = field(default_factory=list)
    present: list[FileOutcome] = field(default_factory=list)
    skipped: list[SkippedFile] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(slots=True)
class VerifyResult:
    file: str
    tier: Tier
    matches: list[Match] = field(default_factory=list)
    error: str | None = None
    proofs: list[dict[str, Any]] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "file": self.file,
            "tier": self.tier.value,
            "matches": [match_json(m) for m in self.matches],
        }
        if self.error:
            out["error"] = self.error
        for m, proof in zip(out["matches"], self.proofs, strict=False):
            m["ledger"] = proof
        return out


def match_json(m: Match) -> dict[str, Any]:
    return {
        "asset_id": m.asset_id,
        "tier": m.tier.value,
        "distance": m.distance,
        "registered_at": iso(m.registered_at),
        "original_name": m.original_name,
    }


@dataclass(slots=True)
class DuplicateGroup:
    tier: Tier
    keeper: str
    reason: str
    assets: list[Asset]
    distances: dict[str, float]

    def to_json(self) -> dict[str, Any]:
        return {
            "tier": self.tier.value,
            "keeper": self.keeper,
            "reason": self.reason,
            "assets": [
                {
                    "asset_id": a.asset_id,
                    "original_name": a.original_name,
                    "size": a.size,
                    "width": a.width,
                    "height": a.height,
                    "distance": self.distances.get(a.asset_id, 0.0),
                }
                for a in self.assets
            ],
        }


def asset_json(a: Asset, *, full: bool = True) -> dict[str, Any]:
    out: dict[str, Any] = {
        "asset_id": a.asset_id,
        "sha256": a.sha256,
        "media_type": a.media_type.value,
        "mime": a.mime,
        "size": a.size,
        "original_name": a.original_name,
        "width": a.width,
        "height": a.height,
        "registered_at": iso(a.registered_at),
    }
    if full:
        out["source"] = source_label(a.source)
        out["metadata"] = a.metadata
        out["fingerprints"] = [
            {"kind": f.kind, "value": f.hex, **({"quality": f.quality} if f.quality else {})}
            for f in a.fingerprints
        ]
    return out


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


def iso(dt: Any) -> str:
    text = dt.isoformat()
    return text.replace("+00:00", "Z")
