"""XMP write-back: a copy of each original with its edited metadata embedded, for tools that
read XMP (Lightroom, Bridge, ExifTool, photo sites).

Written by ExifTool, the reference reader and writer of XMP, through a subprocess with an
argument list (never a shell): it embeds XMP correctly in JPEG, PNG, TIFF, PDF, MP4/MOV, PSD,
HEIC and more, and says when a format cannot hold it. python-xmp-toolkit would need the
Exempi C library and still leave each container format's embedding to us. ExifTool writes
with `-o TARGET SOURCE`: it reads the stored original and writes a new file, so the original
(and its SHA-256, and its ledger leaf) never changes. Where the format cannot carry XMP (WebP
in this ExifTool, MP3, text, office files) the copy is byte-for-byte the original and the
metadata goes into a sidecar `NAME.xmp` beside it.

The mapping: title -> dc:title and photoshop:Headline, description -> dc:description,
keywords -> dc:subject, creator -> dc:creator, copyright -> dc:rights (xmpRights:Marked),
licence -> xmpRights:WebStatement when it is a link, else xmpRights:UsageTerms, usage rights
-> photoshop:Instructions, rating -> xmp:Rating, status -> xmp:Label. Custom fields have no
standard property and are not written.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from assetloom.app.metadata import MetaOut, metadata, resolve_assets
from assetloom.app.results import Shape
from assetloom.errors import AssetLoomError, BadInputError

if TYPE_CHECKING:
    from assetloom.app.library import Library
    from assetloom.core.assets import Asset

EXIFTOOL_TIMEOUT_S = 120


class ExiftoolMissingError(AssetLoomError):
    code = "exiftool_missing"


class ExportFailedError(AssetLoomError):
    code = "export_failed"


class ExportedFile(Shape):
    asset_id: str
    path: str
    """The copy of the original (with the XMP embedded, unless `sidecar` is set)."""
    embedded: bool
    sidecar: str | None
    """The `.xmp` beside it, for a format that cannot hold XMP."""


class ExportOut(Shape):
    """`export --json`."""

    files: list[ExportedFile]


def export_assets(lib: Library, asset_ids: Sequence[str], to_dir: Path) -> ExportOut:
    """Write each asset's original with its metadata into `to_dir` (made if missing); a name
    taken already gets the asset id's first characters, nothing there is overwritten."""
    exiftool = _exiftool()
    if to_dir.exists() and not to_dir.is_dir():
        raise BadInputError(f"{to_dir} is not a folder")
    to_dir.mkdir(parents=True, exist_ok=True)
    assets = resolve_assets(lib, asset_ids)
    metas = {m.asset_id: m for m in metadata(lib, [a.asset_id for a in assets])}
    files = []
    for asset in assets:
        target = _free_name(to_dir, asset)
        files.append(write_copy(lib, exiftool, asset, metas[asset.asset_id], target))
    return ExportOut(files=files)


def export_one(lib: Library, asset_id: str, workdir: Path) -> tuple[Asset, ExportedFile]:
    """One asset's copy (and sidecar) in `workdir`, for a download."""
    exiftool = _exiftool()
    asset = lib.get(asset_id)
    meta = metadata(lib, [asset.asset_id])[0]
    target = workdir / _safe_name(asset.original_name)
    return asset, write_copy(lib, exiftool, asset, meta, target)


def write_copy(
    lib: Library, exiftool: str, asset: Asset, meta: MetaOut, target: Path
) -> ExportedFile:
    args = xmp_arguments(meta)
    # ExifTool picks the output's type from its name's extension (`-o x.jpg` from a WebP
    # would make a JPEG "from scratch" and fail), so it writes to a neutral name first.
    partial = target.with_name(f".{target.name}.partial")
    partial.unlink(missing_ok=True)
    with lib.blobs.local_path(asset.sha256) as source:
        done = _run([exiftool, "-q", "-o", str(partial), *args, str(source)])
        if done.returncode == 0 and partial.is_file():
            partial.replace(target)
            return ExportedFile(
                asset_id=asset.asset_id, path=str(target), embedded=True, sidecar=None
            )
        partial.unlink(missing_ok=True)
        shutil.copyfile(source, target)
        sidecar = target.with_suffix(".xmp") if target.suffix else Path(f"{target}.xmp")
        if sidecar.exists():
            sidecar = Path(f"{target}.xmp")
        made = _run([exiftool, "-q", "-o", str(sidecar), *args, str(source)])
    if made.returncode != 0 or not sidecar.is_file():
        why = (made.stderr or done.stderr).strip().splitlines()
        raise ExportFailedError(
            f"ExifTool could not write the metadata of {asset.asset_id}: "
            + (why[0] if why else f"exit {made.returncode}")
        )
    return ExportedFile(
        asset_id=asset.asset_id, path=str(target), embedded=False, sidecar=str(sidecar)
    )


def xmp_arguments(meta: MetaOut) -> list[str]:
    """ExifTool tag assignments for the metadata. A field a person cleared deletes the
    property from the copy; a field never edited and empty leaves the file's own."""
    edited = set(meta.edited)
    args: list[str] = []

    def text(tag: str, value: str, field: str) -> None:
        if value:
            args.append(f"-{tag}={value}")
        elif field in edited:
            args.append(f"-{tag}=")

    text("XMP-dc:Title", meta.title, "title")
    text("XMP-photoshop:Headline", meta.title, "title")
    text("XMP-dc:Description", meta.description, "description")
    text("XMP-dc:Creator", meta.creator, "creator")
    text("XMP-dc:Rights", meta.copyright, "copyright")
    if meta.copyright:
        args.append("-XMP-xmpRights:Marked=True")
    if meta.licence.startswith(("http://", "https://")):
        text("XMP-xmpRights:WebStatement", meta.licence, "licence")
    else:
        text("XMP-xmpRights:UsageTerms", meta.licence, "licence")
    if meta.keywords:
        args += [f"-XMP-dc:Subject={k}" for k in meta.keywords]
    elif "keywords" in edited:
        args.append("-XMP-dc:Subject=")
    terms = []
    if meta.usage.expires:
        terms.append(f"expires {meta.usage.expires}")
    if meta.usage.channels:
        terms.append("channels: " + ", ".join(meta.usage.channels))
    if meta.usage.approved_for:
        terms.append("approved for: " + ", ".join(meta.usage.approved_for))
    text("XMP-photoshop:Instructions", "; ".join(terms), "usage")
    if meta.rating is not None:
        args.append(f"-XMP-xmp:Rating={meta.rating}")
    if meta.status:
        args.append(f"-XMP-xmp:Label={meta.status}")
    return args


def _run(argv: list[str]) -> subprocess.CompletedProcess[str]:
    try:
        return subprocess.run(
            argv, capture_output=True, text=True, timeout=EXIFTOOL_TIMEOUT_S, check=False
        )
    except subprocess.TimeoutExpired as exc:
        raise ExportFailedError(f"ExifTool took over {EXIFTOOL_TIMEOUT_S} s") from exc


def _exiftool() -> str:
    found = shutil.which("exiftool")
    if found is None:
        raise ExiftoolMissingError(
            "exporting with metadata needs ExifTool, which is not installed",
            hint="install it (Debian/Ubuntu: apt-get install libimage-exiftool-perl)",
        )
    return found


def _safe_name(name: str) -> str:
    base = Path(name.replace("\\", "/")).name.strip() or "asset"
    return base if base not in (".", "..") else "asset"


def _free_name(folder: Path, asset: Asset) -> Path:
    """`folder/NAME`, or `NAME-<id>` when NAME (or its sidecar) is taken."""
    base = Path(_safe_name(asset.original_name))
    for candidate in (base.name, f"{base.stem}-{asset.asset_id[:8]}{base.suffix}"):
        path = folder / candidate
        if not path.exists() and not path.with_suffix(".xmp").exists():
            return path
    return folder / f"{base.stem}-{asset.asset_id}{base.suffix}"
