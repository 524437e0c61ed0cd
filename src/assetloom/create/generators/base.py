"""What every generator returns, and one protocol per modality.

A generator's output is bytes, their media type and a `Recipe`: everything needed to say how
the asset was made (backend, model, prompt, seed, parameters) and from what (parent assets and
the role each played). Lineage rows and C2PA manifests are made from the recipe, so it is plain
data with a canonical JSON form; `parameters` are exactly the keyword arguments that, with the
prompt and seed, ask the same backend for the same output again.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple, Protocol, runtime_checkable

from assetloom.errors import BadInputError

TEXT, IMAGE, SPEECH, MUSIC, VIDEO = "text", "image", "speech", "music", "video"
KINDS = (TEXT, IMAGE, SPEECH, MUSIC, VIDEO)
RECIPE_VERSION = 1
MAX_SEED = 2**63 - 1
"""Seeds are stored as signed 64-bit integers (catalog columns, C2PA assertions)."""


class Parent(NamedTuple):
    """An asset a generation started from, and how it was used ("reference", "style",
    "source", "mask"...)."""

    asset_id: str
    role: str


@dataclass(frozen=True)
class Recipe:
    """How one output was made. `parameters` must be JSON (string keys; no NaN)."""

    kind: str
    backend: str
    model: str
    prompt: str
    seed: int
    parameters: Mapping[str, Any] = field(default_factory=dict)
    parents: tuple[Parent, ...] = ()

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise BadInputError(f"recipe kind {self.kind!r} is none of {', '.join(KINDS)}")
        for name in ("backend", "model"):
            value = getattr(self, name)
            if not isinstance(value, str) or not value:
                raise BadInputError(f"recipe {name} must be a non-empty string, not {value!r}")
        if not isinstance(self.prompt, str):
            raise BadInputError(f"recipe prompt must be a string, not {self.prompt!r}")
        check_seed(self.seed)
        # Through JSON once, so a recipe equals its own round trip (tuples become lists).
        object.__setattr__(self, "parameters", _json_object(self.parameters))
        object.__setattr__(self, "parents", tuple(_parent(p) for p in self.parents))

    def as_dict(self) -> dict[str, Any]:
        return {
            "version": RECIPE_VERSION,
            "kind": self.kind,
            "backend": self.backend,
            "model": self.model,
            "prompt": self.prompt,
            "seed": self.seed,
            "parameters": dict(self.parameters),
            "parents": [{"asset_id": p.asset_id, "role": p.role} for p in self.parents],
        }

    def to_json(self) -> str:
        """Canonical JSON (sorted keys, no spaces, UTF-8 text kept): equal recipes give equal
        strings, so the text can be hashed and signed."""
        return json.dumps(self.as_dict(), sort_keys=True, separators=(",", ":"), ensure_ascii=False)

    def digest(self) -> str:
        """SHA-256 of the canonical JSON, hex: names the recipe in lineage and manifests."""
        return hashlib.sha256(self.to_json().encode("utf-8")).hexdigest()

    @classmethod
    def from_json(cls, text: str) -> Recipe:
        try:
            data = json.loads(text)
        except ValueError as exc:
            raise BadInputError(f"recipe is not JSON: {exc}") from exc
        if not isinstance(data, dict):
            raise BadInputError("recipe JSON must be an object")
        if data.get("version") != RECIPE_VERSION:
            raise BadInputError(
                f"recipe version {data.get('version')!r} is not {RECIPE_VERSION}",
                hint="it was written by another AssetLoom version",
            )
        expected = {"version", "kind", "backend", "model", "prompt", "seed", "parameters"}
        missing = sorted(expected - data.keys())
        unknown = sorted(data.keys() - expected - {"parents"})
        problems = [f"lacks {', '.join(missing)}"] if missing else []
        problems += [f"has unknown keys {', '.join(unknown)}"] if unknown else []
        if problems:
            raise BadInputError("recipe JSON " + " and ".join(problems))
        parents = data.get("parents", [])
        if not isinstance(parents, list) or not all(
            isinstance(p, dict) and p.keys() == {"asset_id", "role"} for p in parents
        ):
            raise BadInputError('recipe parents must be a list of {"asset_id", "role"} objects')
        return cls(
            kind=data["kind"],
            backend=data["backend"],
            model=data["model"],
            prompt=data["prompt"],
            seed=data["seed"],
            parameters=data["parameters"],
            parents=tuple(Parent(p["asset_id"], p["role"]) for p in parents),
        )


@dataclass(frozen=True)
class Generated:
    """One output: the bytes as they would be stored, their MIME type, and their recipe."""

    data: bytes
    media_type: str
    recipe: Recipe


def check_seed(seed: object) -> int:
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed <= MAX_SEED:
        raise BadInputError(f"seed {seed!r} must be an integer from 0 to {MAX_SEED}")
    return seed


def resolve_seed(seed: int | None) -> int:
    """The seed to use and record: the one given, or a fresh one, so every recipe has one."""
    return secrets.randbelow(2**31) if seed is None else check_seed(seed)


def _json_object(value: Mapping[str, Any]) -> dict[str, Any]:
    if not isinstance(value, Mapping) or not all(isinstance(k, str) for k in value):
        raise BadInputError(f"recipe parameters must map strings to JSON values: {value!r}")
    try:
        return json.loads(json.dumps(value, allow_nan=False))
    except (TypeError, ValueError) as exc:
        raise BadInputError(f"recipe parameters are not JSON: {exc}") from exc


def _parent(value: object) -> Parent:
    if (
        isinstance(value, tuple | list)
        and len(value) == 2
        and all(isinstance(v, str) and v for v in value)
    ):
        return Parent(*value)
    raise BadInputError(
        f"a recipe parent must be (asset_id, role), two non-empty strings: {value!r}"
    )


# ---------------------------------------------------------------------- one protocol per kind
# Each takes the prompt (brief, script...) and the knobs of its modality, and records in its
# recipe the seed it used (a fresh one when given None).


@runtime_checkable
class TextGenerator(Protocol):
    """Copy, captions, prompts: UTF-8 text."""

    backend: str
    model: str

    def generate(
        self,
        prompt: str,
        *,
        language: str = "en",
        seed: int | None = None,
        parents: Sequence[Parent] = (),
    ) -> Generated: ...


@runtime_checkable
class ImageGenerator(Protocol):
    """Still images (PNG, JPEG, WebP).

    `references`: encoded images by the role they play, as the parents name them: "subject"
    (the product to show), "background" (a scene), "style" (a look to match), "source" (the
    image to re-purpose). A backend uses the roles it can and records which in its recipe.
    `overlay`: a headline to lay out on the image, for backends that set type."""

    backend: str
    model: str

    def generate(
        self,
        prompt: str,
        *,
        width: int = 1024,
        height: int = 1024,
        seed: int | None = None,
        parents: Sequence[Parent] = (),
        references: Mapping[str, bytes] | None = None,
        overlay: str = "",
    ) -> Generated: ...


@runtime_checkable
class SpeechGenerator(Protocol):
    """Spoken text (WAV, MP3, Opus)."""

    backend: str
    model: str

    def generate(
        self,
        prompt: str,
        *,
        voice: str = "",
        language: str = "en",
        seed: int | None = None,
        parents: Sequence[Parent] = (),
    ) -> Generated: ...


@runtime_checkable
class MusicGenerator(Protocol):
    """Music and sound beds (WAV, MP3, MIDI)."""

    backend: str
    model: str

    def generate(
        self,
        prompt: str,
        *,
        duration_s: float = 30.0,
        seed: int | None = None,
        parents: Sequence[Parent] = (),
    ) -> Generated: ...


@runtime_checkable
class VideoGenerator(Protocol):
    """Clips (MP4, WebM)."""

    backend: str
    model: str

    def generate(
        self,
        prompt: str,
        *,
        duration_s: float = 5.0,
        width: int = 1280,
        height: int = 720,
        fps: float = 24.0,
        seed: int | None = None,
        parents: Sequence[Parent] = (),
    ) -> Generated: ...


Generator = TextGenerator | ImageGenerator | SpeechGenerator | MusicGenerator | VideoGenerator
PROTOCOLS: dict[str, type] = {
    TEXT: TextGenerator,
    IMAGE: ImageGenerator,
    SPEECH: SpeechGenerator,
    MUSIC: MusicGenerator,
    VIDEO: VideoGenerator,
}
