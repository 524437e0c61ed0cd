"""Typed settings: `assetloom.toml` in the library, overridden by ASSETLOOM_* variables."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, ClassVar, Literal

from pydantic import Field, ValidationError
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from assetloom.errors import BadInputError


class Settings(BaseSettings):
    """Everything a library run can tune. No other module reads the environment."""

    model_config = SettingsConfigDict(env_prefix="ASSETLOOM_", extra="ignore")
    toml_path: ClassVar[Path | None] = None

    library: Path | None = Field(default=None, description="Library folder (ASSETLOOM_LIBRARY)")
    workers: int = Field(default=0, ge=0, description="Decode/hash processes; 0 = one per core")
    executor: str = Field(
        default="local",
        description="Where per-file work runs: 'local' (worker processes), or 'ray:HOST:PORT' "
        "(tasks on that Ray cluster; 'ray:auto' reads RAY_ADDRESS)",
    )
    max_image_pixels: int = Field(default=200_000_000, description="Decompression-bomb limit")
    max_file_bytes: int = Field(default=2 * 1024**3, description="Largest file add accepts")
    thumbnail_size: int = 256
    busy_timeout_s: float = Field(default=30.0, description="Wait this long for another writer")
    ledger_origin: str = Field(default="", description="Transparency-log origin, set at init")
    understanding: bool = Field(
        default=True, description="Embed and tag assets at ingest (needs the model packages)"
    )
    model: str = Field(default="offline", description="'offline' or 'clip:<folder or hub id>'")
    asr_model: str = Field(
        default="whisper-base",
        description="Speech to text for audio and video at ingest (with understanding on): "
        "'whisper-base' (multilingual), 'whisper-tiny.en' (English only, ~2x faster) or 'off'",
    )
    ocr: Literal["rapidocr", "off"] = Field(
        default="rapidocr",
        description="Read the text in images and key frames at ingest (with understanding on), "
        "so keyword search finds it: 'rapidocr' (PP-OCRv4, zh/en) or 'off'",
    )
    moderation: Literal["off", "flag", "quarantine"] = Field(
        default="flag",
        description="NSFW scoring at ingest (with understanding on): 'flag' marks assets scoring "
        "moderation_threshold or more for review; 'quarantine' also hides them from lists, "
        "searches and similar until an admin approves them (`assetloom review`); 'off'",
    )
    moderation_threshold: float = Field(
        default=0.8,
        ge=0.0,
        le=1.0,
        description="NSFW score (0..1) from which an asset is flagged (docs/media.md: the "
        "false-positive rate on benign photos at this value)",
    )
    verify_watermarks: Literal["auto", "always", "never"] = Field(
        default="auto",
        description="Read the studio's invisible watermark in images `verify` checks (~1 s "
        "each): 'auto' once the library has watermarked an output, 'always' or 'never'",
    )
    model_idle_s: float = Field(
        default=600.0,
        ge=0,
        description="Unload a model unused this long in a long-running server (seconds), "
        "so many models can share one; 0 = keep every model loaded",
    )
    trash_days: float = Field(
        default=30.0,
        ge=0,
        description="Days `rm` keeps an asset in the trash; after them `trash empty --expired` "
        "(and the server's periodic sweep) removes it for good; 0 = keep until emptied by hand",
    )
    public_url: str = Field(
        default="",
        description="The address people reach the server at (https://dam.example.com): share "
        "links start with it; empty: the address a request came to (the CLI: "
        "http://127.0.0.1:8420, where `assetloom serve` listens by default)",
    )
    catalog: str = Field(
        default="",
        description="Catalog database URL (postgresql://USER@HOST:PORT/DB); empty: catalog.db",
    )
    blobs: str = Field(
        default="",
        description="Where originals live (s3://BUCKET/PREFIX); empty: the library folder. "
        "Credentials and endpoint come from the AWS_* environment, never from this file",
    )
    model_cache: Path = Field(
        default=Path.home() / ".cache" / "assetloom" / "models",
        description="Exported model graphs, shared by all libraries (keyed by content digest)",
    )

    @property
    def worker_count(self) -> int:
        """Processes for decoding, hashing and embedding: `workers`, or one per core."""
        return self.workers or os.cpu_count() or 1

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        if cls.toml_path is not None and cls.toml_path.exists():
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=cls.toml_path))
        return tuple(sources)


def load_settings(library_dir: Path | None = None, **overrides: Any) -> Settings:
    """Settings for one library: its `assetloom.toml`, then the environment, then overrides."""

    class _LibrarySettings(Settings):
        toml_path: ClassVar[Path | None] = (
            library_dir / "assetloom.toml" if library_dir is not None else None
        )

    try:
        return _LibrarySettings(**overrides)
    except ValidationError as exc:
        toml = library_dir / "assetloom.toml" if library_dir is not None else None
        problems = []
        for e in exc.errors():
            name = ".".join(str(p) for p in e["loc"])
            origin = f"{toml} or ASSETLOOM_{name.upper()}" if toml else f"ASSETLOOM_{name.upper()}"
            problems.append(f"{name} = {e.get('input')!r} ({e['msg']}; from {origin})")
        raise BadInputError(
            "invalid setting: " + "; ".join(problems),
            hint="fix the value in assetloom.toml, or the ASSETLOOM_* variable that overrides it",
        ) from exc
