"""Copy detection for recordings: recall per transform, and false matches among unrelated clips.

    .venv/bin/python bench/media_copies.py [--modality audio] [--n 40] [--unrelated 100]
        [--shared ../shared] [--json]

One section per media type: `audio_cases()` makes the clips, `run_audio()` measures them;
`video_cases()` / `run_video()` likewise (`MODALITIES` lists the sections).

Audio: N originals, half espeak-ng reading the five captions of a Flickr8k dev image (15-25
s of speech), half synthetic music (20 s, tests/media_av.music), registered through
`Library.add`. Each gets six copies (mp3 64k, opus 24k, aac 96k, a 10 s excerpt from a
random offset re-encoded as mp3, -6 dB, +6 dB with clipping) and every copy is verified:
- a copy is found when its best near-identical/exact match is its own original (an excerpt
  also at its offset, within 0.5 s), a false positive when it is another asset;
- each unrelated clip (other captions, other music seeds, never registered) with any
  near-identical/exact match is a false match.
Targets: recall >= 0.95 per transform, no false match. It also prints the margins: the
lowest similarity of each transform's copies to their originals, and the highest similarity
of any unrelated clip to any original (core.audio_match at the same minimum overlap).
Figures from the dev split are development figures.

Video: N originals generated with PyAV (3-5 hard-cut shots of 1.5-3 s, panning scenes,
320x240 H.264 + AAC), registered through `Library.add`. Each gets seven copies (x264 CRF 35,
VP9 WebM, resized to 50 %, a 10 % centre crop, a 5-6 s excerpt from a random offset, a logo
overlay, 30 fps) and every copy is verified: found when its best near-identical/exact match is
its own original (at the right time range: the start within 0.5 s), a false positive when it
is another asset; each unrelated clip (other seeds) with any such match is a false match.
Targets: recall >= 0.95 per transform, no false match among 100 unrelated clips. Margins:
the worst voting PDQ distance per transform, and the closest key-frame pair between an
unrelated clip and an original (`--json`).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import av
import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # the generators live with the tests: tests/media_av.py

from tests.media_av import music, read_audio, speech, transcode, write_audio  # noqa: E402

AUDIO_TRANSFORMS: dict[str, dict[str, object]] = {
    "mp3 64k": {"fmt": "mp3", "bit_rate": 64_000},
    "opus 24k": {"fmt": "opus", "bit_rate": 24_000},
    "aac 96k": {"fmt": "m4a", "bit_rate": 96_000},
    "10 s excerpt": {"fmt": "mp3", "seconds": 10.0},
    "-6 dB": {"fmt": "flac", "gain_db": -6.0},
    "+6 dB": {"fmt": "flac", "gain_db": 6.0},
}


@dataclass
class Query:
    path: Path
    transform: str
    original: int
    start: float = 0.0


@dataclass
class Cases:
    originals: list[Path] = field(default_factory=list)
    queries: list[Query] = field(default_factory=list)
    unrelated: list[Path] = field(default_factory=list)


def _captions(shared: Path, count: int, skip: int = 0) -> list[str]:
    rows = (shared / "data" / "flickr8k" / "dev.jsonl").read_text(encoding="utf-8").splitlines()
    return [" ".join(json.loads(r)["captions_en"]) for r in rows[skip : skip + count]]


def _clips(shared: Path, folder: Path, count: int, *, first: int, tag: str) -> list[Path]:
    """`count` clips, alternating speech (captions from row `first` on) and music (seeds
    from `first` on)."""
    folder.mkdir(parents=True, exist_ok=True)
    texts = _captions(shared, (count + 1) // 2, skip=first)
    out = []
    for i in range(count):
        if i % 2 == 0:
            samples, rate = speech(texts[i // 2])
            out.append(write_audio(folder / f"{tag}{i:03d}.flac", samples, rate))
        else:
            out.append(write_audio(folder / f"{tag}{i:03d}.flac", music(first + i, 20.0)))
    return out


def audio_cases(shared: Path, folder: Path, n: int, unrelated: int, seed: int = 0) -> Cases:
    rng = np.random.default_rng(seed)
    cases = Cases(originals=_clips(shared, folder / "originals", n, first=0, tag="o"))
    for i, original in enumerate(cases.originals):
        samples, rate = read_audio(original)
        length = len(samples) / rate
        for name, spec in AUDIO_TRANSFORMS.items():
            kwargs = dict(spec)
            start = 0.0
            if "seconds" in kwargs:
                start = float(rng.uniform(0, max(0.0, min(110.0, length - 10.0))))
                kwargs["start"] = start
            out = folder / "copies" / f"{i:03d}-{name.replace(' ', '_')}.{kwargs['fmt']}"
            transcode(original, out, **kwargs)  # type: ignore[arg-type]
            cases.queries.append(Query(out, name, i, start))
    # Captions from row 500 on and music seeds from 500 on: none an original's.
    cases.unrelated = _clips(shared, folder / "unrelated", unrelated, first=500, tag="u")
    return cases


def run_audio(shared: Path, n: int, unrelated: int) -> dict[str, object]:
    os.environ["ASSETLOOM_UNDERSTANDING"] = "false"  # fingerprints only: no models
    from assetloom.app.library import Library
    from assetloom.core.assets import Tier
    from assetloom.core.audio_match import CHROMAPRINT, words

    copies = (Tier.EXACT, Tier.NEAR_IDENTICAL)
    with tempfile.TemporaryDirectory(prefix="mediacopies-") as tmp:
        t0 = time.perf_counter()
        cases = audio_cases(shared, Path(tmp) / "clips", n, unrelated)
        made = time.perf_counter() - t0
        with Library.create(Path(tmp) / "lib") as lib:
            original_ids, results, foreign, added, verified = _add_and_verify(lib, cases)
            stored = {
                a.asset_id: words(next(f.value for f in a.fingerprints if f.kind == CHROMAPRINT))
                for a in lib.get_many(original_ids, fingerprints=True).values()
            }
        rows: dict[str, dict[str, float]] = {}
        for name in AUDIO_TRANSFORMS:
            mine = [
                (q, r) for q, r in zip(cases.queries, results, strict=True) if q.transform == name
            ]
            found = wrong = 0
            offsets: list[float] = []
            for q, r in mine:
                best = next((m for m in r.matches if m.tier in copies), None)
                if best is None:
                    continue
                if best.asset_id != original_ids[q.original]:
                    wrong += 1
                    continue
                if q.start and best.segment is not None and best.segment.start is not None:
                    offsets.append(abs(best.segment.start - q.start))
                    if offsets[-1] > 0.5:
                        continue
                found += 1
            rows[name] = {
                "recall": found / len(mine),
                "wrong_asset": wrong,
                "worst_offset_error_s": round(max(offsets), 3) if offsets else 0.0,
            }
        false_matches = sum(any(m.tier in copies for m in r.matches) for r in foreign)
        margins = _margins(cases, stored, original_ids)
    return {
        "originals": n,
        "queries": len(cases.queries),
        "unrelated": unrelated,
        "transforms": rows,
        "false_matches_unrelated": false_matches,
        **margins,
        "seconds": _seconds(made, added, verified, n, len(results) + len(foreign)),
    }


def _add_and_verify(lib: Any, cases: Cases) -> tuple[list[str], list[Any], list[Any], float, float]:
    """Register the originals and verify every copy and unrelated clip through the library:
    (original ids in case order, copy results, unrelated results, add s, verify s)."""
    t0 = time.perf_counter()
    report = lib.add(cases.originals)
    added = time.perf_counter() - t0
    ids = {Path(o.file).name: o.asset_id for o in report.added}
    original_ids = [ids[p.name] for p in cases.originals]
    t0 = time.perf_counter()
    results = lib.verify([q.path for q in cases.queries])
    foreign = lib.verify(cases.unrelated)
    return original_ids, results, foreign, added, time.perf_counter() - t0


def _seconds(made: float, added: float, verified: float, n: int, files: int) -> dict[str, float]:
    return {
        "make_clips": round(made, 1),
        "add_per_original": round(added / max(1, n), 3),
        "verify_per_file": round(verified / max(1, files), 3),
    }


def _margins(
    cases: Cases, stored: dict[str, np.ndarray], original_ids: list[str]
) -> dict[str, object]:
    """Lowest true-copy similarity per transform and highest unrelated similarity."""
    from assetloom.core.audio_match import CHROMAPRINT, best_alignment, words
    from assetloom.ingest.prepare import prepare_queries
    from assetloom.ingest.records import Options
    from assetloom.settings import Settings

    opts = Options.from_settings(Settings(), embed=False)

    def fp(path: Path) -> np.ndarray | None:
        rec = prepare_queries([str(path)], opts)[0]
        value = next(
            (f.value for f in getattr(rec, "fingerprints", []) if f.kind == CHROMAPRINT), None
        )
        return None if value is None else words(value)

    lowest: dict[str, float] = {}
    for q in cases.queries:
        query = fp(q.path)
        found = (
            best_alignment(query, stored[original_ids[q.original]]) if query is not None else None
        )
        sim = found.similarity if found else 0.0
        lowest[q.transform] = round(min(lowest.get(q.transform, 1.0), sim), 3)
    highest = 0.0
    for path in cases.unrelated:
        query = fp(path)
        for theirs in stored.values():
            found = best_alignment(query, theirs) if query is not None else None
            highest = max(highest, found.similarity if found else 0.0)
    return {"lowest_copy_similarity": lowest, "highest_unrelated_similarity": round(highest, 3)}


# ------------------------------------------------------------------------------------ video

VIDEO_TRANSFORMS: dict[str, dict[str, object]] = {
    "crf 35": {"options": {"crf": "35"}},
    "vp9 webm": {"suffix": ".webm"},
    "resized 50 %": {"scale": 0.5},
    "cropped 10 %": {"crop": 0.9},
    "trimmed 5-6 s": {"trim": True},
    "logo overlay": {"watermark": True},
    "30 fps": {"fps": 30},
}


def video_cases(folder: Path, n: int, unrelated: int, seed: int = 0) -> Cases:
    """N originals (3-5 hard-cut shots of 1.5-3 s, 320x240 H.264 + AAC, tests/media_av) and
    their copies; unrelated clips from other seeds, never registered."""
    from tests.media_av import make_clip, transcode_video, watermark

    rng = np.random.default_rng(seed)
    cases = Cases()
    for i in range(n + unrelated):
        shots, shot_seconds = int(rng.integers(3, 6)), float(rng.uniform(1.5, 3.0))
        where = folder / ("originals" if i < n else "unrelated") / f"v{i:03d}.mp4"
        clip = make_clip(where, 5000 + i, shots=shots, shot_seconds=shot_seconds)
        (cases.originals if i < n else cases.unrelated).append(clip)
    for i, original in enumerate(cases.originals):
        with av.open(str(original)) as c:
            length = float(c.duration or 0) / 1e6
        for name, spec in VIDEO_TRANSFORMS.items():
            out = folder / "copies" / f"{i:03d}-{name.split()[0]}{spec.get('suffix', '.mp4')}"
            start = 0.0
            kwargs: dict[str, object] = {}
            if spec.get("trim"):
                seconds = float(rng.uniform(5.0, 6.0))
                start = float(rng.uniform(0.0, max(0.0, length - seconds)))
                kwargs["trim"] = (start, start + seconds)
            if "scale" in spec:
                kwargs["size"] = (160, 120)
            if spec.get("watermark"):
                kwargs["edit"] = watermark
            for key in ("crop", "fps", "options"):
                if key in spec:
                    kwargs[key] = spec[key]
            transcode_video(original, out, **kwargs)  # type: ignore[arg-type]
            cases.queries.append(Query(out, name, i, start))
    return cases


def run_video(shared: Path, n: int, unrelated: int) -> dict[str, object]:
    """Through `Library.add` / `verify`: recall per transform (a trimmed copy also at its
    offset, within 0.5 s), false matches among unrelated clips, and the margins: the worst
    (highest) voting PDQ distance of each transform's matches and the closest key-frame
    pair between any unrelated clip and any original."""
    from assetloom.app.library import Library
    from assetloom.core.assets import Tier

    copies = (Tier.EXACT, Tier.NEAR_IDENTICAL)
    with tempfile.TemporaryDirectory(prefix="mediacopies-") as tmp:
        t0 = time.perf_counter()
        cases = video_cases(Path(tmp) / "clips", n, unrelated)
        made = time.perf_counter() - t0
        with Library.create(Path(tmp) / "lib") as lib:
            original_ids, results, foreign, added, verified = _add_and_verify(lib, cases)
            stored = [
                a.fingerprints for a in lib.get_many(original_ids, fingerprints=True).values()
            ]
        rows: dict[str, dict[str, float]] = {}
        for name in VIDEO_TRANSFORMS:
            mine = [
                (q, r) for q, r in zip(cases.queries, results, strict=True) if q.transform == name
            ]
            found = wrong = 0
            worst = 0.0
            errors: list[float] = []
            for q, r in mine:
                best = next((m for m in r.matches if m.tier in copies), None)
                if best is None:
                    continue
                if best.asset_id != original_ids[q.original]:
                    wrong += 1
                    continue
                if best.segment is not None and best.segment.start is not None:
                    errors.append(abs(best.segment.start - q.start))
                    if errors[-1] > 0.5:
                        continue
                worst = max(worst, best.distance)
                found += 1
            rows[name] = {
                "recall": found / len(mine),
                "wrong_asset": wrong,
                "worst_distance_bits": worst,
                "worst_start_error_s": round(max(errors), 3) if errors else 0.0,
            }
        false_matches = sum(any(m.tier in copies for m in r.matches) for r in foreign)
        closest = _closest_unrelated(cases.unrelated, stored)
    return {
        "originals": n,
        "queries": len(cases.queries),
        "unrelated": unrelated,
        "transforms": rows,
        "false_matches_unrelated": false_matches,
        "closest_unrelated_frame_bits": closest,
        "seconds": _seconds(made, added, verified, n, len(results) + len(foreign)),
    }


def _closest_unrelated(unrelated: list[Path], stored: list[list[object]]) -> int:
    """The smallest PDQ distance between a key frame (query side) of any unrelated clip
    and any stored key frame of the originals."""
    from assetloom.core.copy_rules import hamming_matrix
    from assetloom.core.video_match import frame_codes
    from assetloom.ingest.prepare import prepare_queries
    from assetloom.ingest.records import Options
    from assetloom.settings import Settings

    opts = Options.from_settings(Settings(), embed=False)
    theirs = [c.code for fps in stored for c in frame_codes(fps)]  # type: ignore[arg-type]
    closest = 256
    for rec in prepare_queries([str(p) for p in unrelated], opts):
        mine = [c.code for c in frame_codes(getattr(rec, "fingerprints", []))]
        if mine and theirs:
            closest = min(closest, int(hamming_matrix(mine, theirs).min()))
    return closest


MODALITIES: dict[str, Callable[[Path, int, int], dict[str, object]]] = {
    "audio": run_audio,
    "video": run_video,
}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    default_shared = os.environ.get("ASSETLOOM_SHARED", str(REPO.parent / "shared"))
    ap.add_argument("--shared", type=Path, default=Path(default_shared))
    ap.add_argument("--modality", choices=sorted(MODALITIES), action="append")
    ap.add_argument("--n", type=int, default=40, help="originals per modality")
    ap.add_argument("--unrelated", type=int, default=100, help="unrelated clips per modality")
    ap.add_argument("--json", action="store_true", help="print one JSON document")
    args = ap.parse_args(argv)
    if not (args.shared / "data" / "flickr8k").is_dir():
        print(f"no Flickr8k under {args.shared}/data (set --shared or ASSETLOOM_SHARED)")
        return 2
    out = {
        m: MODALITIES[m](args.shared, args.n, args.unrelated) for m in args.modality or MODALITIES
    }
    if args.json:
        print(json.dumps(out, indent=2))
        return 0
    for modality, doc in out.items():
        print(
            f"{modality}: {doc['originals']} originals, {doc['queries']} copies, "
            f"{doc['unrelated']} unrelated clips"
        )
        lowest = doc.get("lowest_copy_similarity", {})
        print(f"  {'transform':14} {'recall':>7} {'wrong':>6} {'lowest sim':>10}")
        for name, row in doc["transforms"].items():  # type: ignore[union-attr]
            print(
                f"  {name:14} {row['recall']:7.3f} {row['wrong_asset']:6d} "
                f"{lowest.get(name, float('nan')):10.3f}"
            )  # type: ignore[union-attr]
        print(
            f"  false matches among unrelated: {doc['false_matches_unrelated']}"
            f" (highest unrelated similarity {doc.get('highest_unrelated_similarity')})"
        )
        if "closest_unrelated_frame_bits" in doc:
            print(f"  closest unrelated key-frame pair: {doc['closest_unrelated_frame_bits']} bits")
        print(f"  seconds: {doc['seconds']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
