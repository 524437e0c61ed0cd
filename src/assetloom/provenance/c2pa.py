"""C2PA manifests on what the studio makes: signed with the library's chain, read back offline.

A manifest says the file was made by a trained model (`c2pa.created` with the IPTC digital
source type `trainedAlgorithmicMedia`, or `compositeWithTrainedAlgorithmicMedia` when
library assets were placed into it), by which backend and model, which library asset it is
(our `org.assetloom.asset` assertion) and from which parents (ingredient assertions). The
parents need not be at hand: an ingredient is described (title, format, relationship) and
carries the parent's asset id, role and SHA-256 in its metadata, which c2pa accepts without
the parent's bytes.

Checked here with c2pa-python 0.38.1 (c2pa-rs 0.91): JPEG, PNG and MP4 sign and read back;
a read is `Valid` (the signature holds, the signer is unknown), `Trusted` (it chains to the
root given) or `Invalid` (a hash or signature does not match: any edit of the signed bytes).
A re-encode drops the manifest altogether; the watermark is what survives that.
Remote manifests and OCSP are never fetched: reading stays offline.
"""

from __future__ import annotations

import io
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import IO, TYPE_CHECKING, Any, Literal

from assetloom import __version__
from assetloom.errors import AssetLoomError, BadInputError, UnsupportedMediaError

if TYPE_CHECKING:
    from assetloom.provenance.credentials import Credentials

TRAINED = "trainedAlgorithmicMedia"
COMPOSITE = "compositeWithTrainedAlgorithmicMedia"
SourceType = Literal["trainedAlgorithmicMedia", "compositeWithTrainedAlgorithmicMedia"]
IPTC = "http://cv.iptc.org/newscodes/digitalsourcetype/"
ASSET_LABEL = "org.assetloom.asset"
METADATA_KEY = "org.assetloom"
UNTRUSTED = "signingCredential.untrusted"
"""Reported beside any failure when no trust anchor vouches for the signer: that is what
`Valid` means, not why a manifest is `Invalid`."""
State = Literal["Invalid", "Valid", "Trusted"]

SIGNED_TYPES = frozenset({"image/jpeg", "image/png", "video/mp4"})
"""What we sign and read, each checked by tests: c2pa knows many more formats, and the list
grows when one is tested."""

PLACED_ROLES = frozenset({"subject", "background", "source"})
"""Parent roles whose pixels end up in a composite (`componentOf`); the others (a style, a
reference) only steered the model (`inputTo`)."""

_SIGN_SETTINGS: dict[str, Any] = {
    # Our own thumbnails live in derived/; one in the manifest would add ~2/3 to a JPEG.
    "builder": {"thumbnail": {"enabled": False}},
    "verify": {"remote_manifest_fetch": False, "ocsp_fetch": False},
}


class C2paError(AssetLoomError):
    """c2pa could not sign the file, or is not installed."""

    code = "c2pa"


@dataclass(frozen=True)
class Ingredient:
    """A parent asset as the manifest names it; its bytes are not needed."""

    asset_id: str
    role: str
    title: str
    sha256: str
    media_type: str = ""


@dataclass(frozen=True)
class ManifestSpec:
    """What one output's manifest states. `asset_id`: the library asset the output becomes
    (its first 8 hex digits are also its watermark); `recipe_digest`: `Recipe.digest()`."""

    title: str
    source_type: SourceType
    backend: str
    model: str
    asset_id: str
    ingredients: Sequence[Ingredient] = ()
    recipe_digest: str | None = None

    def __post_init__(self) -> None:
        if self.source_type not in (TRAINED, COMPOSITE):
            raise BadInputError(
                f"digital source type {self.source_type!r} is neither {TRAINED} nor {COMPOSITE}"
            )
        for name in ("title", "backend", "model", "asset_id"):
            if not getattr(self, name):
                raise BadInputError(f"a C2PA manifest needs a {name}")

    def definition(self, media_type: str) -> dict[str, Any]:
        """The c2pa manifest definition (JSON) of this spec."""
        relationship = "componentOf" if self.source_type == COMPOSITE else "inputTo"
        asset: dict[str, Any] = {"asset_id": self.asset_id}
        if self.recipe_digest:
            asset["recipe_sha256"] = self.recipe_digest
        return {
            "claim_generator_info": [{"name": "AssetLoom", "version": __version__}],
            "title": self.title,
            "format": media_type,
            "assertions": [
                {
                    "label": "c2pa.actions.v2",
                    "data": {
                        "actions": [
                            {
                                "action": "c2pa.created",
                                "digitalSourceType": IPTC + self.source_type,
                                "softwareAgent": {
                                    "name": self.model,
                                    "org.assetloom.backend": self.backend,
                                },
                            }
                        ]
                    },
                },
                {"label": ASSET_LABEL, "data": asset},
            ],
            "ingredients": [
                {
                    "title": i.title,
                    "format": i.media_type or "application/octet-stream",
                    "relationship": relationship if i.role in PLACED_ROLES else "inputTo",
                    "instance_id": f"assetloom:asset:{i.asset_id}",
                    "description": i.role,
                    "metadata": {
                        METADATA_KEY: {"asset_id": i.asset_id, "role": i.role, "sha256": i.sha256}
                    },
                }
                for i in self.ingredients
            ],
        }


@dataclass(frozen=True)
class C2paReport:
    """A manifest as read: its validation state and what it claims (claims of a manifest
    that is not `Trusted` are only as good as its signer)."""

    state: State
    asset_id: str | None = None
    title: str | None = None
    source_type: str | None = None
    generator: str | None = None
    signer: str | None = None
    ingredients: list[dict[str, str]] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    """Validation failure codes (`assertion.dataHash.mismatch`...), for an Invalid read."""


def _c2pa() -> Any:
    try:
        import c2pa
    except ImportError as exc:
        raise C2paError(
            "c2pa-python is not installed", hint="pip install -r requirements/studio.txt"
        ) from exc
    return c2pa


def sign(data: bytes, media_type: str, manifest: ManifestSpec, credentials: Credentials) -> bytes:
    """`data` with the manifest embedded, signed ES256 by the library's signer."""
    c2pa = _c2pa()

    _check_type(media_type)
    signer_info = c2pa.C2paSignerInfo(
        c2pa.C2paSigningAlg.ES256,
        credentials.chain_pem.encode("ascii"),
        credentials.key_pem.encode("ascii"),
        None,  # no time-stamping authority: offline
    )
    out = io.BytesIO()
    try:
        with (
            c2pa.Signer.from_info(signer_info) as signer,
            c2pa.Builder(
                manifest.definition(media_type), context=c2pa.Context.from_dict(_SIGN_SETTINGS)
            ) as builder,
        ):
            builder.sign(signer, media_type, io.BytesIO(data), out)
    except c2pa.C2paError as exc:
        raise C2paError(f"could not sign the {media_type} output: {exc}") from exc
    return out.getvalue()


def read(
    data: bytes | IO[bytes], media_type: str, trust_root_pem: str | None = None
) -> C2paReport | None:
    """The manifest embedded in `data`, validated (offline) against `trust_root_pem`; None
    when there is none (never signed, or re-encoded since)."""
    c2pa = _c2pa()

    _check_type(media_type)
    settings: dict[str, Any] = {"verify": {"remote_manifest_fetch": False, "ocsp_fetch": False}}
    if trust_root_pem:
        settings["trust"] = {"trust_anchors": trust_root_pem}
    stream = io.BytesIO(data) if isinstance(data, bytes) else data
    try:
        with c2pa.Reader(media_type, stream, context=c2pa.Context.from_dict(settings)) as reader:
            store = json.loads(reader.json())
    except c2pa.C2paError.ManifestNotFound:
        return None
    except c2pa.C2paError as exc:
        # A manifest store that does not even parse is a broken one, not an absent one.
        return C2paReport(state="Invalid", problems=[str(exc)])
    return _report(store)


def _report(store: dict[str, Any]) -> C2paReport:
    active = store.get("manifests", {}).get(store.get("active_manifest") or "", {})
    state = store.get("validation_state")
    if state not in ("Invalid", "Valid", "Trusted"):
        state = "Invalid"
    asset_id = source_type = generator = None
    for assertion in active.get("assertions", []):
        data = assertion.get("data") or {}
        if assertion.get("label") == ASSET_LABEL:
            asset_id = data.get("asset_id")
        elif str(assertion.get("label", "")).startswith("c2pa.actions"):
            for action in data.get("actions", []):
                if action.get("action") == "c2pa.created":
                    source_type = str(action.get("digitalSourceType", "")).rsplit("/", 1)[-1]
                    agent = action.get("softwareAgent")
                    generator = agent.get("name") if isinstance(agent, dict) else agent
    ingredients = []
    for ing in active.get("ingredients", []):
        ours = (ing.get("metadata") or {}).get(METADATA_KEY) or {}
        ingredients.append(
            {
                k: str(v)
                for k, v in {
                    "title": ing.get("title"),
                    "relationship": ing.get("relationship"),
                    "asset_id": ours.get("asset_id"),
                    "role": ours.get("role"),
                    "sha256": ours.get("sha256"),
                }.items()
                if v
            }
        )
    failures = [s.get("code", "") for s in store.get("validation_status", []) or []]
    signature = active.get("signature_info") or {}
    return C2paReport(
        state=state,
        asset_id=asset_id if isinstance(asset_id, str) else None,
        title=active.get("title"),
        source_type=source_type or None,
        generator=generator if isinstance(generator, str) else None,
        signer=signature.get("common_name") or signature.get("issuer"),
        ingredients=ingredients,
        problems=[c for c in failures if c and c != UNTRUSTED and state == "Invalid"],
    )


def _check_type(media_type: str) -> None:
    if media_type not in SIGNED_TYPES:
        raise UnsupportedMediaError(
            f"C2PA manifests are made and read for {', '.join(sorted(SIGNED_TYPES))}, "
            f"not {media_type}"
        )
