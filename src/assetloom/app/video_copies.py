"""Video copy candidates: key-frame PDQ hits from the "pdq" Hamming index, judged by the
pure rules of `core.video_match` (temporal voting for a video query, the PDQ distance rule for
a still that may be a frame grab)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from assetloom.core import video_match
from assetloom.core.assets import Family, Fingerprint, MediaType, Segment, Tier
from assetloom.ingest.records import Prepared

if TYPE_CHECKING:
    from assetloom.app.library import Library
    from assetloom.index.base import FingerprintIndex


def video_candidates(
    lib: Library,
    index: FingerprintIndex,
    rec: Prepared,
    skip: set[str],
    moments: dict[str, Segment],
) -> dict[str, tuple[Tier, float]]:
    """Library videos that the query video `rec` copies; the matched time range of each
    goes into `moments`."""
    codes = [
        f.value[: video_match.PDQ_BYTES]
        for f in rec.fingerprints
        if video_match.is_frame_kind(f.kind)
    ]
    if not codes:
        return {}
    rows = {
        row for hits in index.search(Family.PDQ, codes, video_match.FRAME_RADIUS) for row, _ in hits
    }
    stored = lib.catalog.fingerprints_of_rows(rows)
    videos = {a: fps for a, fps in stored.items() if a not in skip and video_match.has_frames(fps)}
    durations = _durations(lib, videos)
    query_duration = float(rec.metadata.get("duration") or 0.0)
    out: dict[str, tuple[Tier, float]] = {}
    for asset_id, fps in videos.items():
        verdict = video_match.match_video(
            rec.fingerprints,
            fps,
            query_duration=query_duration,
            stored_duration=durations.get(asset_id),
        )
        if verdict is not None:
            out[asset_id] = (verdict.tier, verdict.distance)
            moments[asset_id] = Segment("video", start=verdict.start, end=verdict.end)
    return out


def frame_grab_candidates(
    lib: Library,
    query: list[Fingerprint],
    stored: dict[str, list[Fingerprint]],
    moments: dict[str, Segment],
) -> dict[str, tuple[Tier, float]]:
    """Library videos (among an image query's candidates) one of whose key frames the
    still shows; that key frame's span goes into `moments`."""
    videos = {a: fps for a, fps in stored.items() if video_match.has_frames(fps)}
    durations = _durations(lib, videos)
    out: dict[str, tuple[Tier, float]] = {}
    for asset_id, fps in videos.items():
        verdict = video_match.frame_grab_match(query, fps)
        if verdict is None:
            continue
        tier, distance, seconds = verdict
        start, end = video_match.frame_segment(
            video_match.frame_times(fps), seconds, durations.get(asset_id)
        )
        out[asset_id] = (tier, distance)
        moments[asset_id] = Segment("frame", start=start, end=end)
    return out


def _durations(lib: Library, asset_ids: Iterable[str]) -> dict[str, float]:
    assets = lib.get_many(asset_ids)
    return {
        a.asset_id: float(a.metadata["duration"])
        for a in assets.values()
        if a.media_type is MediaType.VIDEO and a.metadata.get("duration")
    }
