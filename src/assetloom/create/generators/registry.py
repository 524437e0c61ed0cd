"""Generator backends by (kind, name), and the strings that choose them.

A choice is written `[KIND=]NAME[:ARGUMENT]`, as the CLI's `--backend` takes it:
`text=template`, `image=diffusers:/models/sd-turbo`, `openai:http://127.0.0.1:8080/v1`. The
kind may be left out where the caller knows it, or where only one kind has a backend of that
name. The argument (a folder, a URL) is whatever the backend says it takes.

A backend is a module that decorates its factory with `@register(kind, name)`; the modules of
the built-in backends are listed in `BUILTIN` and imported on first lookup, and must stay cheap
to import (heavy packages are imported by the factory, or at first use).
"""

from __future__ import annotations

import importlib
import re
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TypeVar

from assetloom.create.generators.base import KINDS, PROTOCOLS, Generator
from assetloom.errors import BadInputError
from assetloom.models.errors import UnknownBackendError

BUILTIN = (
    "assetloom.create.generators.template_text",
    "assetloom.create.generators.text_openai",
    "assetloom.create.generators.text_gemma",
    "assetloom.create.generators.image_compose",
    "assetloom.create.generators.image_diffusers",
    "assetloom.create.generators.image_comfyui",
    "assetloom.create.generators.image_openai",
    "assetloom.create.generators.speech_piper",
    "assetloom.create.generators.speech_espeak",
    "assetloom.create.generators.speech_openai",
    "assetloom.create.generators.music_midi",
    "assetloom.create.generators.video_shorts",
)
_NAME = re.compile(r"[a-z][a-z0-9_-]*")

Factory = Callable[[str], Generator]
"""Builds a generator from its argument ("" when none is given); cheap: no weights load here."""
F = TypeVar("F", bound=Factory)


@dataclass(frozen=True)
class BackendChoice:
    """A parsed `[KIND=]NAME[:ARGUMENT]`, the kind filled in."""

    kind: str
    name: str
    argument: str = ""

    def __str__(self) -> str:
        return f"{self.kind}={self.name}" + (f":{self.argument}" if self.argument else "")


@dataclass(frozen=True)
class Registration:
    kind: str
    name: str
    factory: Factory
    argument: str | None
    """What follows the colon ("DIR", "URL"), or None where the backend takes nothing."""

    @property
    def usage(self) -> str:
        return f"{self.kind}={self.name}" + (f":{self.argument}" if self.argument else "")


_lock = threading.Lock()
_registry: dict[tuple[str, str], Registration] = {}
_builtins_loaded = False


def register(kind: str, name: str, *, argument: str | None = None) -> Callable[[F], F]:
    """Register the decorated factory as the `kind` backend `name`."""
    if kind not in KINDS:
        raise ValueError(f"generator kind {kind!r} is none of {', '.join(KINDS)}")
    if not _NAME.fullmatch(name):
        raise ValueError(f"generator backend name {name!r} must match {_NAME.pattern}")

    def decorate(factory: F) -> F:
        with _lock:
            if (kind, name) in _registry:
                raise ValueError(f"{kind} generator backend {name!r} is registered already")
            _registry[(kind, name)] = Registration(kind, name, factory, argument)
        return factory

    return decorate


def registered(kind: str | None = None) -> list[Registration]:
    """Every backend (of `kind`), sorted by kind then name."""
    _load_builtins()
    with _lock:
        regs = sorted(_registry.values(), key=lambda r: (KINDS.index(r.kind), r.name))
    return [r for r in regs if kind is None or r.kind == kind]


def parse_backend(text: str, kind: str | None = None) -> BackendChoice:
    """`[KIND=]NAME[:ARGUMENT]` → a choice; `kind` is what the caller wants (None: any)."""
    if kind is not None:
        _check_kind(kind)
    raw = text.strip()
    equals, colon = raw.find("="), raw.find(":")
    named_kind = ""
    if equals >= 0 and (colon < 0 or equals < colon):  # a URL argument may hold "="
        named_kind, raw = raw[:equals].strip().lower(), raw[equals + 1 :].strip()
        if not named_kind:
            raise _syntax(text, "the kind before '=' is empty")
        _check_kind(named_kind)
        if kind is not None and named_kind != kind:
            raise BadInputError(
                f"generator backend {text!r} is a {named_kind} backend; {kind} is wanted here",
                hint=_usage_hint(kind),
            )
    name, _, argument = raw.partition(":")
    name, argument = name.strip().lower(), argument.strip()
    if not _NAME.fullmatch(name):
        raise _syntax(text, f"{name!r} is not a backend name")
    return BackendChoice(named_kind or kind or _only_kind_of(name), name, argument)


def parse_backends(texts: Iterable[str]) -> dict[str, BackendChoice]:
    """Several choices (repeated `--backend`), one per kind at most."""
    chosen: dict[str, BackendChoice] = {}
    for text in texts:
        choice = parse_backend(text)
        if choice.kind in chosen:
            raise BadInputError(
                f"two {choice.kind} backends given: {chosen[choice.kind]} and {choice}",
                hint="give one --backend per kind",
            )
        chosen[choice.kind] = choice
    return chosen


def get_generator(choice: str | BackendChoice, kind: str | None = None) -> Generator:
    """The generator a choice names, built by its backend's factory."""
    if isinstance(choice, str):
        choice = parse_backend(choice, kind)
    elif kind is not None and choice.kind != kind:
        raise BadInputError(f"generator backend {choice} is not a {kind} backend")
    reg = _registration(choice.kind, choice.name)
    if reg.argument is None and choice.argument:
        raise BadInputError(
            f"the {reg.kind} backend {reg.name!r} takes no argument (given {choice.argument!r})",
            hint=f"write {reg.usage}",
        )
    if reg.argument is not None and not choice.argument:
        raise BadInputError(
            f"the {reg.kind} backend {reg.name!r} needs a {reg.argument}",
            hint=f"write {reg.usage}",
        )
    generator = reg.factory(choice.argument)
    protocol = PROTOCOLS[reg.kind]
    if not isinstance(generator, protocol):
        raise TypeError(f"{choice} built {generator!r}, which is no {protocol.__name__}")
    return generator


def _registration(kind: str, name: str) -> Registration:
    _load_builtins()
    with _lock:
        reg = _registry.get((kind, name))
    if reg is None:
        raise UnknownBackendError(f"No {kind} generator backend {name!r}", hint=_usage_hint(kind))
    return reg


def _only_kind_of(name: str) -> str:
    kinds = sorted({r.kind for r in registered() if r.name == name}, key=KINDS.index)
    if not kinds:
        known = ", ".join(r.usage for r in registered()) or "none"
        raise UnknownBackendError(
            f"No generator backend {name!r}", hint=f"installed backends: {known}"
        )
    if len(kinds) > 1:
        raise BadInputError(
            f"{name!r} is a backend of several kinds ({', '.join(kinds)})",
            hint=f"write KIND={name}, e.g. {kinds[0]}={name}",
        )
    return kinds[0]


def _check_kind(kind: str) -> None:
    if kind not in KINDS:
        raise UnknownBackendError(f"No generator kind {kind!r}", hint=f"kinds: {', '.join(KINDS)}")


def _usage_hint(kind: str) -> str:
    usages = [r.usage for r in registered(kind)]
    return f"{kind} backends: {', '.join(usages)}" if usages else f"no {kind} backend is installed"


def _syntax(text: str, why: str) -> BadInputError:
    return BadInputError(
        f"generator backend {text!r}: {why}",
        hint="write [KIND=]NAME[:ARGUMENT], e.g. text=template or image=diffusers:/models/sd",
    )


def _load_builtins() -> None:
    global _builtins_loaded
    if _builtins_loaded:
        return
    for module in BUILTIN:  # each registers itself on import
        importlib.import_module(module)
    _builtins_loaded = True
