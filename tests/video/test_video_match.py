"""core.video_match on hand-made frame codes: votes, offsets, windows, frame grabs."""

from __future__ import annotations

import numpy as np
import pytest

from assetloom.core import video_match as vm
from assetloom.core.assets import Fingerprint, Tier

RNG = np.random.default_rng(7)


def code() -> bytes:
    return RNG.integers(0, 256, 32, dtype=np.uint8).tobytes()


def flip(value: bytes, bits: int) -> bytes:
    arr = np.unpackbits(np.frombuffer(value, dtype=np.uint8))
    arr[RNG.choice(256, bits, replace=False)] ^= 1
    return np.packbits(arr).tobytes()


def frames(codes: list[bytes], times: list[float], kind: str = vm.FRAME_KIND) -> list[Fingerprint]:
    return [vm.frame_fingerprint(kind, c, 90, t) for c, t in zip(codes, times, strict=True)]


LIBRARY_TIMES = [0.25, 2.25, 4.25, 6.25, 8.25, 10.25]
LIBRARY_CODES = [code() for _ in LIBRARY_TIMES]
STORED = frames(LIBRARY_CODES, LIBRARY_TIMES)


def test_value_carries_the_time_in_milliseconds():
    fp = vm.frame_fingerprint("pdq-frame", bytes(32), 80, 12.3456)
    assert len(fp.value) == 36 and fp.value[32:] == (12346).to_bytes(4, "big")
    (parsed,) = vm.frame_codes([fp, Fingerprint("pdq", bytes(32))])
    assert (parsed.seconds, parsed.code, parsed.trusted) == (12.346, bytes(32), True)
    with pytest.raises(ValueError):
        vm.frame_fingerprint("pdq-frame", bytes(31), 80, 1.0)


def test_kinds():
    assert vm.frame_kind() == "pdq-frame"
    assert vm.frame_kind(0.85) == "pdq-frame_c85"
    assert vm.frame_kind(0.94, query=True) == "pdq-frame_q94"
    assert vm.is_frame_kind("pdq-frame_q94") and not vm.is_frame_kind("pdq_c85")
    assert vm.has_frames(STORED) and not vm.has_frames([Fingerprint("pdq", bytes(32))])


def test_a_noisy_whole_copy_matches_over_its_whole_length():
    query = frames([flip(c, 30) for c in LIBRARY_CODES], LIBRARY_TIMES)
    verdict = vm.match_video(query, STORED, query_duration=12.0, stored_duration=12.0)
    assert verdict is not None and verdict.tier is Tier.NEAR_IDENTICAL
    assert (verdict.start, verdict.end, verdict.votes) == (0.0, 12.0, 6)
    assert verdict.distance == 30.0


def test_a_trimmed_copy_names_its_time_range_in_the_original():
    # The query starts 3.0 s into the original: its frames are 3 s earlier in its own time.
    kept = slice(2, 5)
    query = frames(
        [flip(c, 10) for c in LIBRARY_CODES[kept]], [t - 3.0 for t in LIBRARY_TIMES[kept]]
    )
    verdict = vm.match_video(query, STORED, query_duration=6.0, stored_duration=12.0)
    assert verdict is not None
    assert (verdict.start, verdict.end) == (3.0, 9.0)
    assert verdict.votes == 3


def test_inconsistent_offsets_do_not_add_up():
    # The same frames, shuffled in time: each pair agrees, but on a different offset.
    times = [10.0, 0.5, 7.0, 3.0, 12.0, 5.5]
    query = frames(LIBRARY_CODES, times)
    assert vm.match_video(query, STORED, query_duration=13.0, stored_duration=12.0) is None


def test_one_shared_frame_among_many_is_not_a_copy():
    """Two films opening on the same studio card share one frame, not the film."""
    query = frames([LIBRARY_CODES[0]] + [code() for _ in range(5)], LIBRARY_TIMES)
    assert vm.match_video(query, STORED, query_duration=12.0, stored_duration=12.0) is None


def test_a_window_of_one_frame_needs_the_still_image_distance():
    short = frames(LIBRARY_CODES[:1], [0.25])
    close = frames([flip(LIBRARY_CODES[0], 40)], [0.3])
    far = frames([flip(LIBRARY_CODES[0], 55)], [0.3])
    assert vm.match_video(close, short, query_duration=1.0) is not None
    assert vm.match_video(far, short, query_duration=1.0) is None


def test_unrelated_and_untrusted_frames_never_match():
    unrelated = frames([code() for _ in LIBRARY_TIMES], LIBRARY_TIMES)
    assert vm.match_video(unrelated, STORED, query_duration=12.0) is None
    flat = [
        vm.frame_fingerprint(vm.FRAME_KIND, c, 10, t)
        for c, t in zip(LIBRARY_CODES, LIBRARY_TIMES, strict=True)
    ]
    assert vm.match_video(flat, STORED, query_duration=12.0) is None


def test_crop_variants_vote_once_per_moment():
    crops = frames([flip(c, 5) for c in LIBRARY_CODES], LIBRARY_TIMES, vm.frame_kind(0.85))
    query = frames(
        [flip(c, 8) for c in LIBRARY_CODES], LIBRARY_TIMES, vm.frame_kind(0.94, query=True)
    )
    verdict = vm.match_video(query, STORED + crops, query_duration=12.0, stored_duration=12.0)
    assert verdict is not None and verdict.votes == 6


def test_frame_grab_matches_a_key_frame_by_pdq_alone():
    still = [Fingerprint("pdq", flip(LIBRARY_CODES[3], 20), 90), Fingerprint("phash", bytes(8))]
    assert vm.frame_grab_match(still, STORED) == (Tier.NEAR_IDENTICAL, 20.0, 6.25)
    loose = [Fingerprint("pdq", flip(LIBRARY_CODES[3], 50), 90)]
    assert vm.frame_grab_match(loose, STORED) is None
    assert vm.frame_segment(vm.frame_times(STORED), 6.25, 12.0) == (6.25, 8.25)
    assert vm.frame_segment(vm.frame_times(STORED), 10.25, 12.0) == (10.25, 12.0)
