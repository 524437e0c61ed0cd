"""core.audio_match on fingerprints of generated audio and on constructed word arrays."""

from __future__ import annotations

import numpy as np
import pytest

from assetloom.core.assets import Tier
from assetloom.core.audio_match import (
    MIN_OVERLAP,
    NEAR_IDENTICAL,
    PROBE_BUDGET,
    SILENCE,
    audio_match,
    best_alignment,
    index_keys,
    informative,
    probe_keys,
    to_bytes,
    words,
)


def _walk(seed: int, n: int) -> np.ndarray:
    """Words that drift a few bits per step, as Chromaprint's do."""
    rng = np.random.default_rng(seed)
    out = np.empty(n, dtype=np.uint32)
    word = np.uint32(rng.integers(0, 2**32))
    for i in range(n):
        flips = rng.integers(0, 32, size=3)
        for bit in flips:
            word ^= np.uint32(1 << int(bit))
        out[i] = word
    return out


def _noisy(fp: np.ndarray, rate: float, seed: int) -> np.ndarray:
    """Each bit flipped with probability `rate`: a re-encoded copy."""
    rng = np.random.default_rng(seed)
    bits = np.unpackbits(fp.astype("<u4").view(np.uint8)).reshape(-1, 32)
    bits ^= (rng.random(bits.shape) < rate).astype(np.uint8)
    return np.packbits(bits.reshape(-1)).view("<u4").astype(np.uint32)


def test_bytes_round_trip():
    fp = _walk(1, 50)
    assert np.array_equal(words(to_bytes(fp)), fp)


def test_an_excerpt_is_found_at_its_offset_in_the_original():
    original = _walk(2, 900)
    excerpt = _noisy(original[300:381], 0.06, seed=3)  # ~10 s, 6 % of bits flipped
    verdict = audio_match(excerpt, original)
    assert verdict is not None
    tier, distance, alignment = verdict
    assert tier is Tier.NEAR_IDENTICAL
    assert alignment.offset == 300
    assert 0.03 < distance < 0.09
    assert alignment.start_seconds == pytest.approx(300 * 4096 / 3 / 11025)


def test_an_original_is_found_inside_a_longer_query():
    original = _walk(4, 200)
    longer = np.concatenate([_walk(5, 120), original, _walk(6, 80)])
    found = best_alignment(longer, original)
    assert found is not None and found.offset == -120 and found.similarity == 1.0
    assert found.start_seconds == 0


def test_unrelated_fingerprints_never_match():
    ours = _walk(7, 900)
    for seed in range(8, 20):
        theirs = _walk(seed, 900)
        found = best_alignment(theirs[:80], ours)
        assert found is not None and found.similarity < NEAR_IDENTICAL
        assert audio_match(theirs, ours) is None


def test_silence_and_held_tones_say_nothing():
    silence = np.full(500, SILENCE, dtype=np.uint32)
    assert not informative(silence).any()
    assert audio_match(silence, silence) is None
    held = np.full(500, 0x12345678, dtype=np.uint32)
    assert informative(held).sum() == 1
    assert audio_match(held, held) is None


def test_too_short_an_overlap_is_no_match():
    original = _walk(21, 400)
    assert audio_match(original[: MIN_OVERLAP - 1], original) is None
    assert audio_match(original[: MIN_OVERLAP + 5], original) is not None


def test_keys_of_a_copy_meet_the_originals():
    original = _walk(22, 960)
    stored = set(index_keys(original))
    # Half of all keys are filed, each distinct once.
    assert 0.35 * 960 < len(stored) < 0.65 * 960
    copy = _noisy(original[100:180], 0.03, seed=23)
    probes = probe_keys(copy)
    assert len(set(probes) & stored) >= 5
    assert len(probe_keys(_walk(24, 960))) == PROBE_BUDGET
    unrelated = set(probe_keys(_walk(25, 960)))
    assert len(unrelated & stored) <= 2
