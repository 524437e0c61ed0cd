"""Provenance of what the studio makes: sign and watermark its outputs, export the root
verifiers trust, and say what `verify` finds of both in a file.

The studio calls `sign_output` on the encoded bytes and `watermark_output` on the picture
before encoding (the watermark is in the pixels; the manifest signs the bytes, so it comes
last). `ProvenanceCheck` is what `verify` runs per file: the C2PA read always (cheap, for
the formats we sign), the watermark decode (~1 s an image) per the `verify_watermarks`
setting: "auto" reads it only once the library has watermarked something.
"""

from __future__ import annotations

import logging
from functools import cached_property
from typing import TYPE_CHECKING

from PIL import Image

from assetloom.app.results import C2paOut, C2paRootOut, WatermarkOut
from assetloom.core.assets import MediaType
from assetloom.provenance import c2pa, credentials, watermark
from assetloom.provenance.c2pa import ManifestSpec
from assetloom.provenance.credentials import C2PA_DIR, Credentials

if TYPE_CHECKING:
    from assetloom.app.library import Library
    from assetloom.ingest.records import Prepared

log = logging.getLogger("assetloom.provenance")


def library_credentials(lib: Library) -> Credentials:
    """The library's C2PA chain, made on first need for a library older than C2PA."""
    return credentials.ensure(lib.root / "keys", lib.settings.ledger_origin)


def c2pa_root(lib: Library) -> C2paRootOut:
    creds = library_credentials(lib)
    root = creds.root
    return C2paRootOut(
        pem=creds.root_pem,
        sha256=creds.root_fingerprint(),
        subject=root.subject.rfc4514_string(),
        not_after=root.not_valid_after_utc.isoformat(),
    )


def sign_output(lib: Library, data: bytes, media_type: str, spec: ManifestSpec) -> bytes:
    """`data` with a C2PA manifest signed by the library (JPEG, PNG, MP4)."""
    return c2pa.sign(data, media_type, spec, library_credentials(lib))


def watermark_output(lib: Library, image: Image.Image, asset_id: str) -> Image.Image:
    """`image` carrying `asset_id`'s watermark, noted so that `verify` looks for it."""
    marked = watermark.embed(image, asset_id)
    watermark.record(lib.root, asset_id)
    return marked


class ProvenanceCheck:
    """Per verified file: its C2PA manifest and our watermark, when it has them."""

    def __init__(self, lib: Library) -> None:
        self.lib = lib
        mode = lib.settings.verify_watermarks
        recorded = watermark.recorded(lib.root) if mode != "never" else []
        # Only assets still in the library can be named; removed ones would only add chance.
        self.candidates = sorted(lib.get_many(recorded)) if recorded else []
        self.read_marks = mode == "always" or (mode == "auto" and bool(self.candidates))

    @cached_property
    def trust_root(self) -> str | None:
        """The library's root, if it has a chain: verify never makes one."""
        keys = self.lib.root / "keys"
        if not (keys / C2PA_DIR).exists():
            return None
        try:
            return credentials.load(keys).root_pem
        except credentials.C2paCredentialsError as exc:
            log.warning("C2PA manifests are not checked against our root: %s", exc)
            return None

    def c2pa(self, rec: Prepared) -> C2paOut | None:
        if rec.mime not in c2pa.SIGNED_TYPES:
            return None
        try:
            with open(rec.path, "rb") as f:
                report = c2pa.read(f, rec.mime, self.trust_root)
        except (OSError, c2pa.C2paError) as exc:
            log.warning("could not read %s for its C2PA manifest: %s", rec.path, exc)
            return None
        if report is None:
            return None
        return C2paOut(
            state=report.state,
            asset_id=report.asset_id,
            source_type=report.source_type,
            problems=report.problems,
        )

    def watermark(self, rec: Prepared) -> WatermarkOut | None:
        if not (
            self.read_marks
            and rec.media_type is MediaType.IMAGE
            and watermark.can_carry(rec.width, rec.height)
        ):
            return None
        try:
            with Image.open(rec.path) as image:
                image.load()
                found = watermark.identify(image, self.candidates)
        except (OSError, ValueError, Image.DecompressionBombError, watermark.WatermarkError) as exc:
            log.warning("could not read %s for a watermark: %s", rec.path, exc)
            return None
        return WatermarkOut(
            asset_id=found.asset_id,
            bits_ok=found.bits_ok,
            bits=found.bits,
            chance=found.chance if found.asset_id else None,
        )
