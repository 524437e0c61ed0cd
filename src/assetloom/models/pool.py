"""Models by (task, backend), shared per process and unloaded when idle.

One long-running server may need text and image encoders, OCR, ASR, moderation, TTS and
generators; keeping every one loaded forever does not fit in memory, and loading one per call is
far too slow. So: each task ("text-encoder", "image-encoder", "ocr", "asr", "llm", "image-gen"...)
maps backend names to factories (a new backend is a new registration), an instance is built on
first request and shared under the key (task, backend, spec, cache dir), and idle instances go:

- after `idle_s` seconds unused (0: never), and
- beyond `max_loaded` heavy instances (0: no cap), least recently used first.

Every use is a lease (`with pool.lease(...) as model:`); a leased instance is never evicted, so
the cap is soft: it never takes a model from under a running call. Eviction runs lazily on each
acquire and from `sweep()`, which a long-running process calls on its timer. Callers that keep a
model between calls keep a `Handle`, which leases the instance afresh for each call: holding one
never pins an unloaded model in memory, and the next call simply builds it again.
"""

from __future__ import annotations

import functools
import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from assetloom.models.errors import ModelError, UnknownBackendError

log = logging.getLogger("assetloom.models")

Key = tuple[str, str, str, str]
"""(task, backend, spec, cache dir); spec and cache are "" where the backend ignores them."""

F = TypeVar("F", bound=Callable[..., Any])
H = TypeVar("H", bound="Handle")


class Build:
    """What a factory receives: the spec and cache dir of its key, and `need` for other models
    of the pool it is made of (both CLIP towers share one CLIP model, say)."""

    def __init__(self, pool: ModelPool, spec: str, cache: Path | None) -> None:
        self.spec = spec
        self.cache = cache
        self._pool = pool
        self.needs: list[_Entry] = []

    def need(self, task: str, backend: str) -> Any:
        """That model (same spec and cache), leased for as long as the one being built lives:
        it cannot be unloaded under its users, and goes once they have gone."""
        entry = self._pool._acquire(self._pool.key(task, backend, self.spec, self.cache))
        self.needs.append(entry)
        return entry.instance


Factory = Callable[[Build], Any]


@dataclass(frozen=True)
class Backend:
    """One registration. `heavy` instances count against `max_loaded`; light ones (views over
    a model they `need`) do not. A backend that ignores its spec or cache dir says so, so that
    every spelling shares one instance."""

    task: str
    name: str
    factory: Factory
    heavy: bool = True
    per_spec: bool = True
    per_cache: bool = True


@dataclass(eq=False)
class _Entry:
    key: Key
    instance: Any
    heavy: bool
    needs: tuple[_Entry, ...]
    uses: int = 0
    last_used: float = 0.0


@dataclass(eq=False)
class _Pending:
    """A build in progress: other threads wanting the same key wait instead of building twice."""

    thread: int
    done: threading.Event = field(default_factory=threading.Event)


@dataclass(frozen=True)
class LoadedModel:
    """One instance in the pool, as `stats()` reports it."""

    task: str
    backend: str
    spec: str
    cache: str
    heavy: bool
    in_use: int
    """Leases held now (calls running, and models built on this one)."""
    idle_s: float
    """Seconds since its last use ended; 0 while in use."""


class ModelPool:
    """Registered factories and the instances built from them; thread-safe."""

    def __init__(
        self,
        *,
        idle_s: float = 0.0,
        max_loaded: int = 0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._backends: dict[str, dict[str, Backend]] = {}
        self._entries: dict[Key, _Entry] = {}
        self._building: dict[Key, _Pending] = {}
        self._handles: dict[tuple[Key, type[Handle]], Handle] = {}
        self.idle_s = 0.0
        self.max_loaded = 0
        self.configure(idle_s=idle_s, max_loaded=max_loaded)

    def configure(self, *, idle_s: float | None = None, max_loaded: int | None = None) -> None:
        """Change the eviction policy (None leaves a value as it is); applies from the next
        acquire or sweep."""
        if idle_s is not None and idle_s < 0:
            raise ValueError(f"idle_s must be 0 (never unload) or more, not {idle_s}")
        if max_loaded is not None and max_loaded < 0:
            raise ValueError(f"max_loaded must be 0 (no cap) or more, not {max_loaded}")
        with self._lock:
            if idle_s is not None:
                self.idle_s = float(idle_s)
            if max_loaded is not None:
                self.max_loaded = max_loaded

    # ------------------------------------------------------------------ registration
    def register(
        self,
        task: str,
        name: str,
        factory: Factory,
        *,
        heavy: bool = True,
        per_spec: bool = True,
        per_cache: bool = True,
    ) -> None:
        with self._lock:
            backends = self._backends.setdefault(task, {})
            if name in backends:
                raise ValueError(f"{task} backend {name!r} is registered already")
            backends[name] = Backend(task, name, factory, heavy, per_spec, per_cache)

    def backend(
        self,
        task: str,
        name: str,
        *,
        heavy: bool = True,
        per_spec: bool = True,
        per_cache: bool = True,
    ) -> Callable[[F], F]:
        """`register` as a decorator on the factory."""

        def decorate(factory: F) -> F:
            self.register(task, name, factory, heavy=heavy, per_spec=per_spec, per_cache=per_cache)
            return factory

        return decorate

    def backends(self, task: str) -> list[str]:
        """The backend names registered for `task` (none: an empty list)."""
        with self._lock:
            return sorted(self._backends.get(task, {}))

    def key(self, task: str, backend: str, spec: str = "", cache: Path | None = None) -> Key:
        """The key an instance is shared under; an unknown task or backend is refused here."""
        with self._lock:
            backends = self._backends.get(task)
            if backends is None:
                raise UnknownBackendError(
                    f"No model task {task!r}",
                    hint=f"known tasks: {', '.join(sorted(self._backends)) or 'none'}",
                )
            reg = backends.get(backend)
            if reg is None:
                raise UnknownBackendError(
                    f"No {task} backend {backend!r}",
                    hint=f"known {task} backends: {', '.join(sorted(backends))}",
                )
        return (
            task,
            backend,
            spec if reg.per_spec else "",
            str(cache) if cache is not None and reg.per_cache else "",
        )

    # ------------------------------------------------------------------ use
    @contextmanager
    def lease(
        self, task: str, backend: str, spec: str = "", cache: Path | None = None
    ) -> Iterator[Any]:
        """The instance, built if need be, kept loaded until the block ends."""
        with self._lease_key(self.key(task, backend, spec, cache)) as model:
            yield model

    def handle(self, task: str, backend: str, spec: str, cache: Path | None, kind: type[H]) -> H:
        """A `kind` handle on that model, the same object for every request of the same key
        and kind. The model is built now, so a missing one fails here and not at first use."""
        key = self.key(task, backend, spec, cache)
        with self._lease_key(key):
            pass
        with self._lock:
            handle = self._handles.setdefault((key, kind), kind(self, key))
        assert isinstance(handle, kind)
        return handle

    @contextmanager
    def _lease_key(self, key: Key) -> Iterator[Any]:
        entry = self._acquire(key)
        try:
            yield entry.instance
        finally:
            self._release(entry)

    def _acquire(self, key: Key) -> _Entry:
        me = threading.get_ident()
        while True:
            with self._lock:
                gone = self._evict_locked(self._clock())
                entry = self._entries.get(key)
                pending = None if entry is not None else self._building.get(key)
                mine = entry is None and pending is None
                if entry is not None:
                    entry.uses += 1
                elif mine:
                    pending = self._building[key] = _Pending(me)
            _close(gone)
            if entry is not None:
                return entry
            assert pending is not None
            if mine:
                return self._build(key, pending)
            if pending.thread == me:
                raise ModelError(f"model {key} needs itself to be built")
            pending.done.wait()  # then look again: built, or failed (and we try ourselves)

    def _build(self, key: Key, pending: _Pending) -> _Entry:
        task, backend, spec, cache = key
        reg = self._backends[task][backend]
        build = Build(self, spec, Path(cache) if cache else None)
        try:
            instance = reg.factory(build)
        except BaseException:
            for need in build.needs:
                self._release(need)
            with self._lock:
                del self._building[key]
            pending.done.set()
            raise
        with self._lock:
            now = self._clock()
            entry = _Entry(key, instance, reg.heavy, tuple(build.needs), uses=1, last_used=now)
            self._entries[key] = entry
            del self._building[key]
            gone = self._evict_locked(now)  # one more loaded: the cap may now bite
        pending.done.set()
        log.info("loaded %s model %s", task, _name(key))
        _close(gone)
        return entry

    def _release(self, entry: _Entry) -> None:
        with self._lock:
            entry.uses -= 1
            entry.last_used = max(entry.last_used, self._clock())

    # ------------------------------------------------------------------ eviction
    def sweep(self) -> list[Key]:
        """Unload what the policy says is due now; returns the keys unloaded. Cheap: a lock and
        a pass over the loaded instances, so a server may call it every second."""
        with self._lock:
            gone = self._evict_locked(self._clock())
        _close(gone)
        return [e.key for e in gone]

    def _evict_locked(self, now: float) -> list[_Entry]:
        gone: list[_Entry] = []
        if self.idle_s > 0:
            expired = True
            while expired:  # unloading a view may leave the model it needed idle too
                expired = False
                for entry in list(self._entries.values()):
                    if entry.uses == 0 and now - entry.last_used >= self.idle_s:
                        self._drop_locked(entry)
                        gone.append(entry)
                        expired = True
        while self.max_loaded and self._heavy_locked() > self.max_loaded:
            idle = [e for e in self._entries.values() if e.uses == 0 and (e.heavy or e.needs)]
            if not idle:
                break  # everything heavy is in use: over the cap until a lease ends
            victim = min(idle, key=lambda e: e.last_used)
            self._drop_locked(victim)
            gone.append(victim)
        return gone

    def _heavy_locked(self) -> int:
        return sum(e.heavy for e in self._entries.values())

    def _drop_locked(self, entry: _Entry) -> None:
        if self._entries.get(entry.key) is entry:
            del self._entries[entry.key]
        for need in entry.needs:  # idle from when its user was last used, not from now
            need.uses -= 1
            need.last_used = max(need.last_used, entry.last_used)

    def stats(self) -> list[LoadedModel]:
        """The instances loaded now, by key."""
        with self._lock:
            now = self._clock()
            return [
                LoadedModel(
                    *e.key,
                    heavy=e.heavy,
                    in_use=e.uses,
                    idle_s=0.0 if e.uses else max(0.0, now - e.last_used),
                )
                for _, e in sorted(self._entries.items())
            ]

    def clear(self) -> None:
        """Forget every instance and handle (tests; a process switching models). A call still
        running keeps the instance it has; only idle ones are closed."""
        with self._lock:
            idle = [e for e in self._entries.values() if e.uses == 0]
            self._entries.clear()
            self._handles.clear()
        _close(idle)


def _name(key: Key) -> str:
    _, backend, spec, _ = key
    return f"{backend}:{spec}" if spec else backend


def _close(gone: list[_Entry]) -> None:
    """Log each unloaded instance and close it if it can be (sessions, servers, GPU memory);
    otherwise dropping the last reference frees it."""
    for entry in gone:
        log.info("unloaded idle %s model %s", entry.key[0], _name(entry.key))
        close = getattr(entry.instance, "close", None)
        if callable(close):
            try:
                close()
            except Exception:
                log.exception("closing %s model %s failed", entry.key[0], _name(entry.key))


class Handle:
    """A pooled model as a caller keeps it: attributes read through to the instance, and every
    method call leases it for the length of the call. Read-only: state set on an instance
    would vanish when it is unloaded."""

    def __init__(self, pool: ModelPool, key: Key) -> None:
        object.__setattr__(self, "_pool", pool)
        object.__setattr__(self, "_key", key)

    @contextmanager
    def leased(self) -> Iterator[Any]:
        """The instance, loaded (again, if it was unloaded) and kept so until the block ends."""
        with self._pool._lease_key(self._key) as model:
            yield model

    @property
    def __wrapped__(self) -> Any:
        with self.leased() as model:
            return model

    def __getattr__(self, name: str) -> Any:
        # Dunders are protocol probes (copy, pickle, numpy); _pool/_key are missing only on a
        # half-built copy. Neither may recurse into a lease.
        if name.startswith("__") or name in ("_pool", "_key"):
            raise AttributeError(name)
        with self.leased() as model:
            value = getattr(model, name)
        if not callable(value):
            return value

        @functools.wraps(value)
        def call(*args: Any, **kwargs: Any) -> Any:
            with self.leased() as model:
                return getattr(model, name)(*args, **kwargs)

        return call

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(
            f"cannot set {name!r} on a model handle: the model may be unloaded and rebuilt"
        )

    def __repr__(self) -> str:
        return f"{type(self).__name__}({_name(self._key)})"
