"""The model pool: built lazily once per key, shared, unloaded when idle or over the cap, and
never unloaded under a running call. Models here are small real objects; time is a clock the
test moves, so nothing sleeps."""

from __future__ import annotations

import threading
import zlib
from pathlib import Path

import numpy as np
import pytest

from assetloom.models import registry
from assetloom.models.errors import ModelError, UnknownBackendError
from assetloom.models.pool import Build, Handle, ModelPool
from assetloom.settings import Settings

TTL = 60.0


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class HashingEncoder:
    """A real (if small) text encoder: character trigrams hashed into a fixed projection."""

    def __init__(self, dim: int, seed: int) -> None:
        self.dim = dim
        self.name = f"hashing-{dim}"
        self.projection = np.random.default_rng(seed).standard_normal((257, dim))
        self.closed = False

    def encode(self, texts: list[str]) -> np.ndarray:
        out = np.zeros((len(texts), self.dim))
        for row, text in enumerate(texts):
            for i in range(max(1, len(text) - 2)):
                out[row] += self.projection[zlib.crc32(text[i : i + 3].encode()) % 257]
        return out / np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-12)

    def close(self) -> None:
        self.closed = True


class HashingView:
    """A light view over a pooled HashingEncoder, as the CLIP towers are over one CLIP model."""

    def __init__(self, encoder: HashingEncoder) -> None:
        self.encoder = encoder
        self.name = f"view-of-{encoder.name}"

    def encode(self, texts: list[str]) -> np.ndarray:
        return self.encoder.encode(texts)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def built() -> list[HashingEncoder]:
    return []


@pytest.fixture
def pool(clock: Clock, built: list[HashingEncoder]) -> ModelPool:
    pool = ModelPool(idle_s=TTL, clock=clock)

    @pool.backend("ocr", "hashing")
    def _hashing(build: Build) -> HashingEncoder:
        encoder = HashingEncoder(int(build.spec or 8), seed=len(built))
        built.append(encoder)
        return encoder

    @pool.backend("asr", "view", heavy=False)
    def _view(build: Build) -> HashingView:
        return HashingView(build.need("ocr", "hashing"))

    return pool


def _loaded(pool: ModelPool) -> list[tuple[str, str, str]]:
    return [(m.task, m.backend, m.spec) for m in pool.stats()]


def test_nothing_is_built_until_first_use_then_one_instance_per_key(
    pool: ModelPool, built: list[HashingEncoder]
) -> None:
    assert built == [] and pool.stats() == []
    with pool.lease("ocr", "hashing", "8") as a, pool.lease("ocr", "hashing", "8") as b:
        assert a is b and a.encode(["a red car"]).shape == (1, 8)
    with pool.lease("ocr", "hashing", "16") as c:
        assert c is not a and c.dim == 16
    assert len(built) == 2
    assert _loaded(pool) == [("ocr", "hashing", "16"), ("ocr", "hashing", "8")]


def test_a_backend_that_ignores_its_spec_shares_one_instance(clock: Clock) -> None:
    pool = ModelPool(clock=clock)
    pool.register(
        "text-encoder", "fixed", lambda b: HashingEncoder(4, 0), per_spec=False, per_cache=False
    )
    with (
        pool.lease("text-encoder", "fixed", "head-a.npz", Path("/a")) as a,
        pool.lease("text-encoder", "fixed", "head-b.npz", None) as b,
    ):
        assert a is b
    assert pool.key("text-encoder", "fixed", "x", Path("/c")) == ("text-encoder", "fixed", "", "")


def test_idle_model_is_unloaded_after_the_ttl_and_closed(
    pool: ModelPool, clock: Clock, built: list[HashingEncoder]
) -> None:
    with pool.lease("ocr", "hashing") as first:
        pass
    clock.advance(TTL - 1)
    assert pool.sweep() == []
    clock.advance(1)
    assert pool.sweep() == [("ocr", "hashing", "", "")]
    assert pool.stats() == [] and first.closed
    with pool.lease("ocr", "hashing") as second:
        assert second is not first
    assert len(built) == 2


def test_eviction_also_happens_lazily_on_access(pool: ModelPool, clock: Clock) -> None:
    with pool.lease("ocr", "hashing", "8"):
        pass
    clock.advance(TTL)
    with pool.lease("ocr", "hashing", "16"):  # no sweep: acquiring another one unloads it
        assert _loaded(pool) == [("ocr", "hashing", "16")]


def test_a_model_in_use_is_never_unloaded(
    pool: ModelPool, clock: Clock, built: list[HashingEncoder]
) -> None:
    with pool.lease("ocr", "hashing") as model:
        clock.advance(TTL * 10)
        assert pool.sweep() == []
        [stat] = pool.stats()
        assert (stat.in_use, stat.idle_s) == (1, 0.0)
        assert model.encode(["still here"]).shape == (1, 8) and not model.closed
    clock.advance(TTL - 1)  # idle counts from the end of the last use
    assert pool.sweep() == [] and pool.stats()[0].idle_s == TTL - 1
    clock.advance(1)
    assert len(pool.sweep()) == 1 and len(built) == 1


def test_zero_ttl_never_unloads(clock: Clock) -> None:
    pool = ModelPool(idle_s=0, clock=clock)
    pool.register("tts", "hashing", lambda b: HashingEncoder(4, 0))
    with pool.lease("tts", "hashing"):
        pass
    clock.advance(1e9)
    assert pool.sweep() == [] and len(pool.stats()) == 1


def test_over_the_cap_the_least_recently_used_idle_model_goes(
    pool: ModelPool, clock: Clock
) -> None:
    pool.configure(idle_s=0, max_loaded=2)
    for spec in ("1", "2"):
        with pool.lease("ocr", "hashing", spec):
            clock.advance(1)
    with pool.lease("ocr", "hashing", "1"):  # "1" is now more recent than "2"
        clock.advance(1)
    with pool.lease("ocr", "hashing", "3"):
        assert [s for _, _, s in _loaded(pool)] == ["1", "3"]


def test_the_cap_never_takes_a_model_in_use(pool: ModelPool, clock: Clock) -> None:
    pool.configure(max_loaded=1)
    with pool.lease("ocr", "hashing", "1"):
        with pool.lease("ocr", "hashing", "2"):
            assert len(pool.stats()) == 2  # over the cap while both run
        clock.advance(1)  # "2" ended first: it is the least recently used
    assert pool.sweep() == [("ocr", "hashing", "2", "")]
    assert len(pool.stats()) == 1


def test_a_needed_model_stays_while_its_view_lives_and_goes_with_it(
    pool: ModelPool, clock: Clock, built: list[HashingEncoder]
) -> None:
    with pool.lease("asr", "view") as view, pool.lease("ocr", "hashing") as model:
        assert view.encoder is model and len(built) == 1
    clock.advance(TTL / 2)
    with pool.lease("asr", "view"):
        pass  # the view keeps the model from idling out
    clock.advance(TTL / 2)
    assert pool.sweep() == []
    assert {(m.backend, m.in_use) for m in pool.stats()} == {("view", 0), ("hashing", 1)}
    clock.advance(TTL / 2)
    assert sorted(pool.sweep()) == [("asr", "view", "", ""), ("ocr", "hashing", "", "")]
    assert model.closed


def test_views_are_light_but_unloading_them_frees_their_model_for_the_cap(
    pool: ModelPool, clock: Clock
) -> None:
    pool.configure(idle_s=0, max_loaded=1)
    with pool.lease("asr", "view"):
        clock.advance(1)
    assert len(pool.stats()) == 2  # one heavy model: within the cap
    with pool.lease("ocr", "hashing", "16"):
        assert _loaded(pool) == [("ocr", "hashing", "16")]


def test_a_held_handle_pins_nothing_and_reloads_on_its_next_call(
    pool: ModelPool, clock: Clock, built: list[HashingEncoder]
) -> None:
    handle = pool.handle("ocr", "hashing", "8", None, Handle)
    assert len(built) == 1  # built at once, so a missing model fails here
    assert pool.handle("ocr", "hashing", "8", None, Handle) is handle
    assert (handle.name, handle.dim) == ("hashing-8", 8)
    clock.advance(TTL)
    pool.sweep()
    assert pool.stats() == [] and built[0].closed
    vectors = handle.encode(["a dog on the beach"])
    assert vectors.shape == (1, 8) and len(built) == 2
    assert handle.__wrapped__ is built[1]
    with pytest.raises(AttributeError, match="model handle"):
        handle.dim = 4


def test_a_method_call_through_a_handle_holds_a_lease(clock: Clock) -> None:
    pool = ModelPool(idle_s=TTL, clock=clock)
    seen: list[int] = []

    class Probe(HashingEncoder):
        def encode(self, texts: list[str]) -> np.ndarray:
            clock.advance(TTL * 2)
            assert pool.sweep() == []
            seen.append(pool.stats()[0].in_use)
            return super().encode(texts)

    pool.register("moderation", "probe", lambda b: Probe(4, 0))
    handle = pool.handle("moderation", "probe", "", None, Handle)
    assert handle.encode(["x"]).shape == (1, 4) and seen == [1]


def test_concurrent_first_requests_build_once(clock: Clock) -> None:
    pool = ModelPool(clock=clock)
    entered, release = threading.Event(), threading.Event()
    builds: list[int] = []

    def slow(_build: Build) -> HashingEncoder:
        builds.append(1)
        entered.set()
        release.wait(30)
        return HashingEncoder(4, 0)

    pool.register("llm", "slow", slow)
    got: list[HashingEncoder] = []

    def use() -> None:
        with pool.lease("llm", "slow") as model:
            got.append(model)

    first = threading.Thread(target=use)
    first.start()
    entered.wait(30)
    second = threading.Thread(target=use)
    second.start()
    release.set()
    first.join(30)
    second.join(30)
    assert builds == [1] and len(got) == 2 and got[0] is got[1]


def test_a_failed_build_leaves_nothing_behind_and_is_retried(
    pool: ModelPool, built: list[HashingEncoder]
) -> None:
    attempts: list[int] = []

    def flaky(build: Build) -> HashingView:
        model = build.need("ocr", "hashing")
        attempts.append(1)
        if len(attempts) == 1:
            raise ModelError("weights half downloaded")
        return HashingView(model)

    pool.register("image-gen", "flaky", flaky, heavy=False)
    with pytest.raises(ModelError, match="half downloaded"), pool.lease("image-gen", "flaky"):
        pass
    assert [(m.backend, m.in_use) for m in pool.stats()] == [("hashing", 0)]
    with pool.lease("image-gen", "flaky") as view:
        assert view.encoder is built[0]


def test_a_model_that_needs_itself_is_an_error_not_a_deadlock(clock: Clock) -> None:
    pool = ModelPool(clock=clock)
    pool.register("ocr", "loop", lambda b: b.need("ocr", "loop"))
    with pytest.raises(ModelError, match="needs itself"), pool.lease("ocr", "loop"):
        pass
    assert pool.stats() == []


def test_unknown_tasks_and_backends_say_what_exists(pool: ModelPool) -> None:
    with pytest.raises(UnknownBackendError, match="No model task 'vqa'") as err:
        pool.key("vqa", "hashing")
    assert err.value.hint == "known tasks: asr, ocr"
    with pytest.raises(UnknownBackendError, match="No ocr backend 'tesseract'") as err:
        pool.key("ocr", "tesseract")
    assert err.value.hint == "known ocr backends: hashing"
    with pytest.raises(ValueError, match="registered already"):
        pool.register("ocr", "hashing", lambda b: None)
    with pytest.raises(ValueError, match="idle_s"):
        pool.configure(idle_s=-1)


def test_clear_forgets_models_but_not_a_call_still_running(pool: ModelPool) -> None:
    with pool.lease("ocr", "hashing") as running:
        pool.clear()
        assert pool.stats() == [] and not running.closed
        assert running.encode(["still works"]).shape == (1, 8)


# ---------------------------------------------------------------- the process's encoders
def test_the_process_pool_takes_its_default_ttl_from_the_setting() -> None:
    assert Settings.model_fields["model_idle_s"].default == registry.DEFAULT_IDLE_S == 600.0
    assert registry.MODELS.backends(registry.TEXT_ENCODER) == ["clip", "offline"]
    assert registry.MODELS.backends(registry.IMAGE_ENCODER) == ["clip", "offline"]


def test_every_offline_setting_shares_one_text_encoder(tmp_path: Path) -> None:
    text = registry.get_text_encoder("offline")
    assert registry.get_text_encoder(f"offline:{tmp_path / 'head.npz'}", tmp_path) is text
    loaded = [(m.task, m.backend) for m in registry.stats()]
    assert loaded.count((registry.TEXT_ENCODER, "offline")) == 1


def test_bad_setting_hint_lists_every_form() -> None:
    with pytest.raises(UnknownBackendError) as err:
        registry.parse_model_setting("dalle:x")
    assert err.value.hint == (
        "use 'offline', 'offline:<alignment head .npz>' or 'clip:<folder or hub id>'"
    )


def test_clip_towers_share_one_model_that_is_unloaded_and_reloaded(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    pytest.importorskip("tokenizers")
    tiny_clip = pytest.importorskip("tiny_clip", reason="test helper beside this file")
    clip_dir: Path = tiny_clip.write_tiny_clip(tmp_path_factory.mktemp("tiny-clip"))
    setting = f"clip:{clip_dir}"
    text = registry.get_text_encoder(setting)
    image = registry.get_image_encoder(setting)
    assert text.model is image.model
    before = text.encode_queries(["a dog on the beach"])
    mine = [m for m in registry.stats() if m.spec == str(clip_dir)]
    assert sorted((m.task, m.heavy) for m in mine) == [
        (registry.CLIP_MODEL, True),
        (registry.IMAGE_ENCODER, False),
        (registry.TEXT_ENCODER, False),
    ]
    old_model = text.model
    registry.configure(max_loaded=1)
    try:
        registry.get_text_encoder("offline")  # a second heavy model: the idle CLIP one goes
        assert not [m for m in registry.stats() if m.spec == str(clip_dir)]
    finally:
        registry.configure(max_loaded=0)
    np.testing.assert_allclose(text.encode_queries(["a dog on the beach"]), before, atol=1e-6)
    assert text.model is not old_model and text.model is image.model
