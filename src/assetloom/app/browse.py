"""Ways to browse the library beyond the grid: the capture timeline, the map of assets with
a GPS position, and many originals in one zip download.

The zip is written as it streams (stored, not deflated: photos and videos are compressed
already), so a big selection never sits in the server's memory; it is bounded in assets and
bytes so one request cannot tie up the server for long.
"""

from __future__ import annotations

import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from assetloom.core.assets import Asset
from assetloom.core.listing import ListQuery
from assetloom.errors import AssetNotFoundError, BadInputError

if TYPE_CHECKING:
    from assetloom.app.library import Library

MAX_ZIP_ASSETS = 1000
MAX_ZIP_BYTES = 4 * 1024**3
MAP_POINTS = 5000
_CHUNK = 1024 * 1024


@dataclass(frozen=True, slots=True)
class Month:
    month: str
    """YYYY-MM"""
    assets: int


@dataclass(frozen=True, slots=True)
class MapPoint:
    asset_id: str
    original_name: str
    latitude: float
    longitude: float


def timeline(lib: Library, query: ListQuery) -> list[Month]:
    """Capture months of the assets passing the query's filters, newest first."""
    return [Month(m, n) for m, n in lib.catalog.capture_months(query)]


def map_points(lib: Library, query: ListQuery, limit: int = MAP_POINTS) -> list[MapPoint]:
    """Assets with a GPS position (EXIF), oldest first, at most `limit` of them."""
    return [MapPoint(*row) for row in lib.catalog.gps_points(query, limit)]


def zip_selection(lib: Library, asset_ids: Iterable[str]) -> list[Asset]:
    """The assets a zip download holds, in the order asked (each once); every id must name
    an asset the reader may see (not quarantined, not in the trash), within the bounds."""
    ids = list(dict.fromkeys(asset_ids))
    if not ids:
        raise BadInputError("no assets to put in the zip", hint="select some assets first")
    if len(ids) > MAX_ZIP_ASSETS:
        raise BadInputError(
            f"{len(ids)} assets in one zip; at most {MAX_ZIP_ASSETS}",
            hint="download the selection in parts",
        )
    found = lib.get_many(ids)
    for held in lib.catalog.held_among(found):
        del found[held]
    missing = [i for i in ids if i not in found]
    if missing:
        raise AssetNotFoundError(
            f"no asset {missing[0]!r}"
            + (f" (and {len(missing) - 1} more)" if len(missing) > 1 else "")
        )
    assets = [found[i] for i in ids]
    total = sum(a.size for a in assets)
    if total > MAX_ZIP_BYTES:
        raise BadInputError(
            f"the selection holds {total // 1024**2} MiB; a zip holds at most "
            f"{MAX_ZIP_BYTES // 1024**3} GiB",
            hint="download the selection in parts",
        )
    return assets


def zip_names(assets: list[Asset]) -> list[str]:
    """One file name per asset: its original name, with ` (2)` before the extension when
    another asset has the same name; never a path (a name with slashes keeps its last part)."""
    taken: set[str] = set()
    out: list[str] = []
    for a in assets:
        base = a.original_name.replace("\\", "/").rsplit("/", 1)[-1] or a.asset_id
        stem, dot, ext = base.rpartition(".")
        if not dot:
            stem, ext = base, ""
        name, n = base, 1
        while name.lower() in taken:
            n += 1
            name = f"{stem} ({n}).{ext}" if dot else f"{stem} ({n})"
        taken.add(name.lower())
        out.append(name)
    return out


class _Sink:
    """A write-only, unseekable file for zipfile whose bytes are taken out as they come."""

    def __init__(self) -> None:
        self.parts: list[bytes] = []
        self.offset = 0

    def write(self, data: bytes) -> int:
        self.parts.append(bytes(data))
        self.offset += len(data)
        return len(data)

    def tell(self) -> int:
        return self.offset

    def flush(self) -> None:
        pass

    def take(self) -> bytes:
        out = b"".join(self.parts)
        self.parts.clear()
        return out


def zip_stream(lib: Library, assets: list[Asset]) -> Iterator[bytes]:
    """The zip of these assets' originals, a piece at a time."""
    sink = _Sink()
    with zipfile.ZipFile(sink, "w", zipfile.ZIP_STORED, allowZip64=True) as zf:  # type: ignore[arg-type]
        for asset, name in zip(assets, zip_names(assets), strict=True):
            info = zipfile.ZipInfo(name, date_time=_zip_time(asset))
            info.file_size = asset.size
            with (
                lib.blobs.open(asset.sha256) as src,
                zf.open(info, "w", force_zip64=asset.size >= 2**31) as dst,
            ):
                while chunk := src.read(_CHUNK):
                    dst.write(chunk)
                    if sink.parts:
                        yield sink.take()
    if sink.parts:
        yield sink.take()


def _zip_time(asset: Asset) -> tuple[int, int, int, int, int, int]:
    t = asset.registered_at
    return (max(t.year, 1980), t.month, t.day, t.hour, t.minute, t.second)
