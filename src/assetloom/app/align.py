"""`assetloom align train`: fine-tune the image alignment head on a library's captioned images.

The shipped head learned everyday Flickr scenes; a library's own pictures and words (product
names, places, house style) are what its users search for. Captions come from the catalog
(title, description, keywords of XMP/IPTC) and from sidecar files beside the original
(`photo.txt` or `photo.caption` next to `photo.jpg`, one caption per line). A fixed, seeded
share of the images is held back; recall on it is measured with the library's current head and
with the new one, through the runtime encoders. The new head is stored in the library
(`models/alignment_head-<digest>.npz`, the name changing with the content so no process can
mistake an old graph for it), the library's model setting becomes `offline:<that file>`, and
its images are re-embedded.

Training always starts from the shipped head, so repeated runs do not drift; the held-back
split is keyed by content hash, so growing the library moves few images across it.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import tomllib
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from PIL import Image

from assetloom.app.library import SETTINGS_FILE, Library
from assetloom.blobs.local import write_atomic
from assetloom.core.assets import MediaType
from assetloom.core.retrieval_metrics import retrieval_metrics
from assetloom.errors import BadInputError
from assetloom.ingest.decode import decode_for_models
from assetloom.settings import load_settings

if TYPE_CHECKING:
    from assetloom.models.finetune import FinetuneConfig

MIN_CAPTIONED = 20
MIN_HELDOUT = 4
MIN_TRAIN = 16
SIDECAR_SUFFIXES = (".txt", ".caption")
HEAD_DIR = "models"
_BATCH = 64

AlignProgress = Callable[[str, int, int], None]
"""progress(stage, done, total); stages: "captions", "reading", "training", "embedding"."""


@dataclass(frozen=True)
class CaptionedImage:
    asset_id: str
    sha256: str
    captions: tuple[str, ...]


@dataclass
class AlignReport:
    images: int
    train: int
    heldout: int
    uncaptioned: int
    captions: int
    before: dict[str, Any]
    after: dict[str, Any]
    head: Path
    model: str
    reembedded: int
    train_ids: list[str] = field(repr=False)
    heldout_ids: list[str] = field(repr=False)

    def to_json(self) -> dict[str, Any]:
        return {
            "images": self.images,
            "train": self.train,
            "heldout": self.heldout,
            "uncaptioned": self.uncaptioned,
            "captions": self.captions,
            "before": self.before,
            "after": self.after,
            "head": str(self.head),
            "model": self.model,
            "reembedded": self.reembedded,
        }


# ----------------------------------------------------------------------------- captions
def metadata_captions(metadata: dict[str, Any]) -> list[str]:
    """Title, description and the keywords joined into one line, as a user would query."""
    out = [str(metadata[k]) for k in ("title", "description") if metadata.get(k)]
    keywords = metadata.get("keywords")
    if isinstance(keywords, list) and keywords:
        out.append(", ".join(str(k) for k in keywords))
    return out


def sidecar_captions(source_path: str | None) -> list[str]:
    """Lines of `<stem>.txt` / `<stem>.caption` beside the original, where they still exist.

    Uploads have a label ("upload by ...") instead of a path: nothing lies beside them.
    """
    if not source_path or not Path(source_path).is_absolute():
        return []
    source = Path(source_path)
    out: list[str] = []
    for suffix in SIDECAR_SUFFIXES:
        try:
            text = source.with_suffix(suffix).read_text(encoding="utf-8", errors="replace")
        except OSError:  # absent, moved or unreadable: the catalog's captions still count
            continue
        out.extend(text.splitlines())
    return out


def clean_captions(captions: list[str]) -> tuple[str, ...]:
    """Whitespace collapsed, empty lines and repeats (ignoring case) dropped, order kept."""
    seen: dict[str, str] = {}
    for caption in captions:
        text = re.sub(r"\s+", " ", caption).strip()
        if text:
            seen.setdefault(text.casefold(), text)
    return tuple(seen.values())


def collect_captioned(lib: Library) -> tuple[list[CaptionedImage], int]:
    """The library's images with at least one caption, and how many images have none."""
    rows = lib.catalog.source_rows(MediaType.IMAGE.value)
    captioned, uncaptioned = [], 0
    for asset_id, sha256, source_path, metadata in rows:
        captions = clean_captions(metadata_captions(metadata or {}) + sidecar_captions(source_path))
        if captions:
            captioned.append(CaptionedImage(asset_id, sha256, captions))
        else:
            uncaptioned += 1
    return captioned, uncaptioned


def split_heldout(
    items: list[CaptionedImage], holdout: float, seed: int = 0
) -> tuple[list[CaptionedImage], list[CaptionedImage]]:
    """(train, held back): the images whose seeded content hash sorts first are held back."""
    if not 0 < holdout < 1:
        raise BadInputError(f"holdout {holdout} must be a fraction between 0 and 1")
    n_held = round(len(items) * holdout)
    if n_held < MIN_HELDOUT or len(items) - n_held < MIN_TRAIN:
        raise BadInputError(
            f"holding back {holdout:.0%} of {len(items)} captioned images leaves {n_held} to "
            f"measure and {len(items) - n_held} to train on; at least {MIN_HELDOUT} and "
            f"{MIN_TRAIN} are needed",
            hint="change --holdout, or caption more images",
        )
    order = sorted(items, key=lambda it: hashlib.sha256(f"{seed}:{it.sha256}".encode()).digest())
    return order[n_held:], order[:n_held]


# ----------------------------------------------------------------------------- measuring
def _load_image(lib: Library, sha256: str) -> Image.Image:
    """Decoded as ingest decodes it (reduced-scale JPEG, upright), so vectors match `add`'s."""
    with lib.blobs.local_path(sha256) as path:
        return decode_for_models(path)


def _measure(
    lib: Library,
    encoder: Any,
    images: list[CaptionedImage],
    texts: np.ndarray,
    image_of_text: np.ndarray,
) -> dict[str, Any]:
    """Held-back recall through the runtime encoder (mirror averaging included); images are
    decoded a batch at a time so a large library's held-back part need not fit in memory."""
    vectors = np.concatenate(
        [
            encoder.encode([_load_image(lib, it.sha256) for it in images[lo : lo + _BATCH]])
            for lo in range(0, len(images), _BATCH)
        ]
    )
    metrics = retrieval_metrics(texts @ vectors.T, image_of_text)
    return {k: metrics[k] for k in ("text_to_image", "image_to_text")}


def _embed_captions(
    lib: Library, captions: list[str], progress: Callable[[int, int], None] | None
) -> np.ndarray:
    """e5 `query:` side: at search time a caption-like text is the query."""
    encoder, parts = lib.text_encoder(), []
    for lo in range(0, len(captions), 256):
        parts.append(encoder.encode_queries(captions[lo : lo + 256]))
        if progress:
            progress(min(lo + 256, len(captions)), len(captions))
    return np.concatenate(parts)


# ----------------------------------------------------------------------------- the command
def _stage(progress: AlignProgress | None, name: str) -> Callable[[int, int], None] | None:
    return None if progress is None else (lambda done, total: progress(name, done, total))


def align_train(
    lib: Library,
    *,
    holdout: float = 0.2,
    epochs: int | None = None,
    seed: int = 0,
    progress: AlignProgress | None = None,
) -> AlignReport:
    """Fine-tune, measure before/after on the held-back images, switch the library to the new
    head and re-embed its images (when understanding is on)."""
    from assetloom.models.registry import get_image_encoder, parse_model_setting

    backend, _ = parse_model_setting(lib.settings.model)
    if backend != "offline":
        raise BadInputError(
            "align train tunes the offline image encoder; this library uses "
            f"{lib.settings.model!r}",
            hint="set model = 'offline' in assetloom.toml (re-embeds the library) to use it",
        )
    items, uncaptioned = collect_captioned(lib)
    if len(items) < MIN_CAPTIONED:
        raise BadInputError(
            f"{len(items)} captioned images in the library ({uncaptioned} without a caption); "
            f"align train needs at least {MIN_CAPTIONED}",
            hint="give images a title, description or keywords (XMP/IPTC), or a sidecar "
            "<name>.txt / <name>.caption beside the original, then run it again",
        )
    train, held = split_heldout(items, holdout, seed)
    if epochs is not None and epochs < 1:
        raise BadInputError(f"epochs {epochs} must be at least 1")
    from assetloom.models.finetune import FinetuneConfig

    config = FinetuneConfig(seed=seed)
    config = config if epochs is None else replace(config, epochs=epochs)

    # One embedding per distinct caption: shared keyword lines are one row, positive for all.
    row_of: dict[str, int] = {}
    captions_of = [[row_of.setdefault(c, len(row_of)) for c in it.captions] for it in items]
    texts = _embed_captions(lib, list(row_of), _stage(progress, "captions"))
    index = {it.asset_id: i for i, it in enumerate(items)}
    held_captions = [captions_of[index[it.asset_id]] for it in held]
    held_texts = texts[np.concatenate(held_captions)]
    image_of_text = np.repeat(np.arange(len(held)), [len(c) for c in held_captions])
    before = _measure(lib, lib.image_encoder(), held, held_texts, image_of_text)

    head_path = _train_head(
        lib, train, [captions_of[index[it.asset_id]] for it in train], texts, config, progress
    )
    setting = f"offline:{head_path}"
    encoder = get_image_encoder(setting, lib.settings.model_cache)
    after = _measure(lib, encoder, held, held_texts, image_of_text)

    _set_model(lib, setting)
    reembedded = 0
    if lib.settings.understanding:
        # In-process, as the API server does: forking workers from a process that has run
        # torch and several ONNX Runtime sessions can hang a child on a lock copied mid-use.
        settings = lib.settings
        lib.settings = settings.model_copy(update={"workers": 1})
        try:
            reembedded = lib.embed_missing(progress=_stage(progress, "embedding"))
        finally:
            lib.settings = settings
    lib.reset_tagger()  # user tags' example images now have vectors from the new head
    return AlignReport(
        images=len(items),
        train=len(train),
        heldout=len(held),
        uncaptioned=uncaptioned,
        captions=len(row_of),
        before=before,
        after=after,
        head=head_path,
        model=encoder.name,
        reembedded=reembedded,
        train_ids=[it.asset_id for it in train],
        heldout_ids=[it.asset_id for it in held],
    )


def _train_head(
    lib: Library,
    train: list[CaptionedImage],
    captions_of: list[list[int]],
    texts: np.ndarray,
    config: FinetuneConfig,
    progress: AlignProgress | None,
) -> Path:
    """Extract, train, and store the head in the library under a name from its digest."""
    from assetloom.models.alignment import load_head, save_head
    from assetloom.models.backbone import load_efficientnet_lite2
    from assetloom.models.finetune import FrozenFeatures, extract_views, finetune
    from assetloom.models.offline import default_head_path

    shipped = default_head_path()
    head, shipped_metadata = load_head(shipped, load_efficientnet_lite2())
    pooled, mid = extract_views(
        FrozenFeatures(head, shipped, lib.settings.model_cache),
        lambda i: _load_image(lib, train[i].sha256),
        len(train),
        config.views,
        seed=config.seed,
        progress=_stage(progress, "reading"),
    )
    head = finetune(
        head, pooled, mid, texts, captions_of, config, progress=_stage(progress, "training")
    )
    folder = lib.root / HEAD_DIR
    tmp = folder / f".alignment_head.{os.getpid()}.npz"
    save_head(
        head,
        tmp,
        {
            "trained_on": f"{len(train)} captioned images of the library {lib.root}",
            "settings": asdict(config),
            "started_from": shipped_metadata.get("trained_on", str(shipped)),
        },
    )
    digest = hashlib.sha256(tmp.read_bytes()).hexdigest()[:16]
    path = folder / f"alignment_head-{digest}.npz"
    os.replace(tmp, path)
    return path


def _set_model(lib: Library, setting: str) -> None:
    """Write `model = "<setting>"` into the library's assetloom.toml and reload its settings."""
    path = lib.root / SETTINGS_FILE
    lines = path.read_text(encoding="utf-8").splitlines()
    line = f"model = {json.dumps(setting, ensure_ascii=False)}"
    top_level = next((i for i, ln in enumerate(lines) if ln.lstrip().startswith("[")), len(lines))
    at = next((i for i, ln in enumerate(lines[:top_level]) if re.match(r"\s*model\s*=", ln)), None)
    if at is None:
        lines.insert(top_level, line)
    else:
        lines[at] = line
    text = "\n".join(lines) + "\n"
    try:
        written = tomllib.loads(text).get("model")
    except tomllib.TOMLDecodeError:
        written = None
    if written != setting:
        raise BadInputError(
            f"could not set the model in {path}",
            hint=f"write this line into it by hand, then run `assetloom index embed`: {line}",
        )
    write_atomic(path, text.encode())
    lib.settings = load_settings(lib.root)
    if lib.settings.model != setting:
        raise BadInputError(
            f"the library now uses {setting!r}, but ASSETLOOM_MODEL overrides it with "
            f"{lib.settings.model!r}",
            hint="unset ASSETLOOM_MODEL, then run `assetloom index embed`",
        )
