"""`assetloom demo`: the main job on real files, needing nothing but the package itself."""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from importlib import resources
from pathlib import Path
from typing import Any

from PIL import Image, ImageDraw, ImageOps

from assetloom.app.library import Library
from assetloom.app.search import SearchQuery

Log = Callable[[str], None] | None


def example_photos() -> list[Path]:
    folder = resources.files("assetloom") / "examples"
    return sorted(Path(str(p)) for p in folder.iterdir() if str(p).endswith(".jpg"))


def make_edited_copy(source: Path, dest: Path) -> Path:
    """What happens to a photo on social media: flipped, shrunk, captioned, recompressed."""
    with Image.open(source) as im:
        edited = ImageOps.mirror(im.convert("RGB"))
    edited = edited.resize((edited.width // 2, edited.height // 2), Image.Resampling.LANCZOS)
    draw = ImageDraw.Draw(edited)
    draw.rectangle((0, edited.height - 28, edited.width, edited.height), fill=(0, 0, 0))
    draw.text((8, edited.height - 22), "reposted without credit", fill=(255, 255, 255))
    edited.save(dest, "JPEG", quality=45)
    return dest


def run_demo(path: Path | None, log: Log = None) -> dict[str, Any]:
    root = path or Path(tempfile.mkdtemp(prefix="assetloom-demo-")) / "library"
    say = log or (lambda _msg: None)
    say(f"Creating a library at {root}")
    photos = example_photos()
    with Library.create(root) as lib:
        say(f"Adding {len(photos)} example photos")
        report = lib.add(photos)
        work = root.parent / "suspects" if path is None else Path(tempfile.mkdtemp())
        work.mkdir(parents=True, exist_ok=True)
        edited = make_edited_copy(photos[0], work / f"edited-{photos[0].stem}.jpg")
        unrelated = work / "unrelated.png"
        Image.radial_gradient("L").resize((300, 300)).save(unrelated)
        say("Verifying an edited copy, an exact copy and an unrelated picture")
        results = lib.verify([edited, photos[1], unrelated])
        searches = []
        if lib.settings.understanding:
            for query in ("a cat", "一杯咖啡", "a rocket launch"):
                say(f"Searching for {query!r}")
                hits = lib.search(SearchQuery(text=query, limit=1))
                searches.append(
                    {"query": query, "top": hits[0].asset.original_name if hits else None}
                )
    checks = []
    for r in results:
        best = r.matches[0] if r.matches else None
        checks.append(
            {
                "file": r.file,
                "tier": r.tier.value,
                "asset": f"{best.original_name} ({best.asset_id[:12]})" if best else "",
            }
        )
    return {
        "library": str(root),
        "added": len(report.added),
        "checks": checks,
        "searches": searches,
    }
