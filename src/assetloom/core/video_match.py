"""When is a suspect video, or a still, a copy of a library video? Pure rules over key-frame PDQ.

A library video keeps, per key frame, PDQ of the frame (kind "pdq-frame") and of its centre
85 % ("pdq-frame_c85"); a suspect video is probed with its own key frames plus samples every
`QUERY_STEP` seconds, each whole and cropped to its centre 94 % ("pdq-frame_q94", which meets
the stored 85 % of a copy cropped by 10 %). Key frames are picked by one rule on both sides
(`SETTLE` after each cut, found with PySceneDetect), so a copy's key frames show the same
moments as the original's.

A frame fingerprint's value is the 32-byte PDQ followed by the frame's time in milliseconds
(uint32, big-endian): each catalog row says by itself which moment it is, so an index hit
names its time without a second table, and the Hamming index reads only the first 32 bytes
(`index.fingerprint_index`). Kinds start with "pdq", so the "pdq" family's index (and with it
an image query's candidate search) finds frames too.

The rule (`match_video`): (query frame, stored frame) pairs within `FRAME_RADIUS` bits vote
for the offset between their times; the offset window of `OFFSET_TOL` with the most distinct
stored frames wins. Near-identical when at least 2 stored frames vote and at least
`MIN_SHARE` of the stored frames inside the matched window do; a window holding a single
stored frame needs it within `PDQ_ALONE`, the still-image rule. A still (`frame_grab_match`)
matches a frame by the PDQ distance rule alone (`PDQ_ALONE`, both codes trusted): frames
keep no pHash to confirm a looser pair.

Why these numbers (synthetic clips: 4 shots, panning scenes, 320x240; bench/media_copies.py):
re-encodes (CRF 35, VP9, 25 -> 30 fps) and halving the size keep key frames within 2-20 bits;
a 10 % crop is 76-84 bits whole-to-whole but 6-8 through the crop pair; a logo overlay
18-52; unrelated clips' closest pair was 80 bits. `FRAME_RADIUS` = 60 is the image rule's
widest (pHash-confirmed) distance: here the agreeing offsets of several frames confirm instead.
"""

from __future__ import annotations

import math
import struct
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from assetloom.core.assets import Fingerprint, Tier
from assetloom.core.copy_rules import PDQ_ALONE, PDQ_MIN_QUALITY, hamming_matrix

FRAME_KIND = "pdq-frame"
STORED_CROP = 0.85
QUERY_CROP = 0.94
SETTLE = 0.25
"""Seconds after a cut (or the start) at which a shot's key frame is taken: past the cut's
first, often blurred, frames, and the same moment in any copy."""
QUERY_STEP = 0.25
FRAME_RADIUS = 60
OFFSET_TOL = 0.6
"""Seconds two votes' offsets may differ: the query's sampling step plus frame-rate jitter."""
MIN_SHARE = 0.5
PDQ_BYTES = 32


def frame_kind(crop: float | None = None, *, query: bool = False) -> str:
    """ "pdq-frame", or a crop's kind: "pdq-frame_c85" (stored) / "pdq-frame_q94" (query)."""
    if crop is None:
        return FRAME_KIND
    return f"{FRAME_KIND}_{'q' if query else 'c'}{round(crop * 100)}"


def is_frame_kind(kind: str) -> bool:
    return kind.startswith(FRAME_KIND)


def has_frames(fps: Sequence[Fingerprint]) -> bool:
    """Whether these stored fingerprints are a video's (frame kinds), not a still's."""
    return any(is_frame_kind(f.kind) for f in fps)


def frame_fingerprint(kind: str, pdq: bytes, quality: int | None, seconds: float) -> Fingerprint:
    """A frame's fingerprint: PDQ followed by its time (ms, uint32 big-endian)."""
    if len(pdq) != PDQ_BYTES:
        raise ValueError(f"PDQ is {PDQ_BYTES} bytes, not {len(pdq)}")
    return Fingerprint(kind, pdq + struct.pack(">I", max(0, round(seconds * 1000))), quality)


@dataclass(frozen=True, slots=True)
class FrameCode:
    seconds: float
    code: bytes
    trusted: bool


def frame_codes(fps: Sequence[Fingerprint]) -> list[FrameCode]:
    """The frame fingerprints among `fps`, as (time, PDQ, trusted)."""
    out = []
    for f in fps:
        if is_frame_kind(f.kind) and len(f.value) == PDQ_BYTES + 4:
            (ms,) = struct.unpack(">I", f.value[PDQ_BYTES:])
            trusted = f.quality is None or f.quality >= PDQ_MIN_QUALITY
            out.append(FrameCode(ms / 1000, f.value[:PDQ_BYTES], trusted))
    return out


def frame_times(fps: Sequence[Fingerprint]) -> list[float]:
    """The distinct key-frame times of a video's fingerprints, in order."""
    return sorted({c.seconds for c in frame_codes(fps)})


def frame_segment(
    times: Sequence[float], seconds: float, duration: float | None
) -> tuple[float, float | None]:
    """(start, end) of the key frame at `seconds`: until the next key frame or the end."""
    later = [t for t in times if t > seconds]
    return seconds, min(later) if later else duration


@dataclass(frozen=True, slots=True)
class VideoVerdict:
    tier: Tier
    distance: float
    """Median PDQ distance (bits) of the voting frames."""
    start: float
    """Where the query's first moment lies in the library video (seconds)."""
    end: float
    votes: int
    expected: int


def match_video(
    query: Sequence[Fingerprint],
    stored: Sequence[Fingerprint],
    *,
    query_duration: float,
    stored_duration: float | None = None,
) -> VideoVerdict | None:
    """Near-identical with the matched time range in the stored video, or None.

    `query_duration`: seconds the query covers (its frames lie in [0, query_duration]).
    """
    q = [c for c in frame_codes(query) if c.trusted]
    s = [c for c in frame_codes(stored) if c.trusted]
    if not q or not s:
        return None
    stored_times = sorted({c.seconds for c in s})
    time_id = {t: i for i, t in enumerate(stored_times)}
    dist = hamming_matrix([c.code for c in q], [c.code for c in s])
    qi, si = np.nonzero(dist <= FRAME_RADIUS)
    if not len(qi):
        return None
    # One vote per (query frame, stored moment): the closest of their crop pairs.
    best: dict[tuple[int, int], int] = {}
    for a, b in zip(qi.tolist(), si.tolist(), strict=True):
        key = (a, time_id[s[b].seconds])
        d = int(dist[a, b])
        if d < best.get(key, FRAME_RADIUS + 1):
            best[key] = d
    votes = sorted(
        (stored_times[t] - q[a].seconds, t, d) for (a, t), d in best.items()
    )  # (offset, stored moment, distance), by offset
    window = _best_window(votes)
    offsets = [o for o, _, _ in window]
    offset = float(np.median(offsets))
    nearest: dict[int, int] = {}
    for _, t, d in window:
        nearest[t] = min(d, nearest.get(t, d))
    span_end = offset + query_duration
    expected = sum(1 for t in stored_times if offset <= t <= span_end)
    n = len(nearest)
    closest = min(nearest.values())
    if n >= 2 and n >= math.ceil(MIN_SHARE * expected):
        pass
    elif not (n == 1 and expected <= 1 and closest <= PDQ_ALONE):
        return None
    start = max(0.0, offset)
    end = span_end if stored_duration is None else min(stored_duration, span_end)
    return VideoVerdict(
        Tier.NEAR_IDENTICAL,
        float(np.median(list(nearest.values()))),
        round(start, 3),
        round(max(start, end), 3),
        n,
        max(expected, n),
    )


def _best_window(votes: list[tuple[float, int, int]]) -> list[tuple[float, int, int]]:
    """The run of votes (sorted by offset) within 2 * OFFSET_TOL holding the most distinct
    stored moments; ties go to the lower summed distance."""
    counts: Counter[int] = Counter()
    lo = 0
    total = 0
    best_key: tuple[int, int] = (0, 0)
    best_span = (0, 1)
    for hi, (offset, moment, d) in enumerate(votes):
        counts[moment] += 1
        total += d
        while offset - votes[lo][0] > 2 * OFFSET_TOL:
            counts[votes[lo][1]] -= 1
            if not counts[votes[lo][1]]:
                del counts[votes[lo][1]]
            total -= votes[lo][2]
            lo += 1
        key = (len(counts), -total)
        if key > best_key:
            best_key, best_span = key, (lo, hi + 1)
    return votes[best_span[0] : best_span[1]]


def frame_grab_match(
    query: Sequence[Fingerprint], stored: Sequence[Fingerprint]
) -> tuple[Tier, float, float] | None:
    """(NEAR_IDENTICAL, PDQ distance, frame time) when a still's PDQ codes (kinds "pdq*",
    as `ingest.image_fingerprints.query_fingerprints` makes them) meet a stored key frame
    within `PDQ_ALONE`, both trusted; else None."""
    q = [f for f in query if f.kind.startswith("pdq") and not is_frame_kind(f.kind)]
    s = [c for c in frame_codes(stored) if c.trusted]
    q = [f for f in q if f.quality is None or f.quality >= PDQ_MIN_QUALITY]
    if not q or not s:
        return None
    dist = hamming_matrix([f.value for f in q], [c.code for c in s])
    a, b = np.unravel_index(int(np.argmin(dist)), dist.shape)
    d = int(dist[a, b])
    if d > PDQ_ALONE:
        return None
    return Tier.NEAR_IDENTICAL, float(d), s[int(b)].seconds
