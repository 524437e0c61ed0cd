"""Choosing a generator: `[KIND=]NAME[:ARGUMENT]` strings, and clear errors for bad ones."""

from __future__ import annotations

import io
import wave
from collections.abc import Iterator, Sequence

import pytest

from assetloom.create.generators import (
    BackendChoice,
    Generated,
    Parent,
    Recipe,
    SpeechGenerator,
    get_generator,
    parse_backend,
    parse_backends,
    register,
    registered,
)
from assetloom.create.generators import registry as generators
from assetloom.create.generators.base import resolve_seed
from assetloom.errors import BadInputError
from assetloom.models.errors import UnknownBackendError


class SilenceSpeaker:
    """A real (if quiet) SpeechGenerator: 10 ms of 8 kHz silence per character, as WAV."""

    backend = "test-silence"

    def __init__(self, folder: str) -> None:
        self.model = folder

    def generate(
        self,
        prompt: str,
        *,
        voice: str = "",
        language: str = "en",
        seed: int | None = None,
        parents: Sequence[Parent] = (),
    ) -> Generated:
        buffer = io.BytesIO()
        with wave.open(buffer, "wb") as out:
            out.setnchannels(1)
            out.setsampwidth(2)
            out.setframerate(8000)
            out.writeframes(b"\x00\x00" * 80 * len(prompt))
        parameters = {"voice": voice, "language": language}
        recipe = Recipe(
            "speech",
            self.backend,
            self.model,
            prompt,
            resolve_seed(seed),
            parameters,
            tuple(parents),
        )
        return Generated(buffer.getvalue(), "audio/wav", recipe)


@pytest.fixture
def scratch_registry(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Backends registered by a test vanish after it."""
    generators.registered()  # the built-ins are in the copy
    monkeypatch.setattr(generators, "_registry", dict(generators._registry))
    yield


def test_the_builtin_text_backends_are_listed() -> None:
    assert [r.usage for r in registered("text")] == [
        "text=gemma",
        "text=openai:URL",
        "text=template",
    ]


@pytest.mark.parametrize(
    ("text", "kind", "expected"),
    [
        ("text=template", None, BackendChoice("text", "template")),
        ("  Text = Template ", None, BackendChoice("text", "template")),
        ("template", None, BackendChoice("text", "template")),
        ("template", "text", BackendChoice("text", "template")),
        (
            "image=diffusers:/models/sd-turbo",
            None,
            BackendChoice("image", "diffusers", "/models/sd-turbo"),
        ),
        (
            "comfyui:http://127.0.0.1:8188",
            "image",
            BackendChoice("image", "comfyui", "http://127.0.0.1:8188"),
        ),
        (
            "openai:http://h:8080/v1?key=a=b",
            "text",
            BackendChoice("text", "openai", "http://h:8080/v1?key=a=b"),
        ),
        ("image=compose", "image", BackendChoice("image", "compose")),
    ],
)
def test_choices_parse(text: str, kind: str | None, expected: BackendChoice) -> None:
    assert parse_backend(text, kind) == expected


def test_a_choice_prints_as_it_is_written() -> None:
    assert str(BackendChoice("image", "diffusers", "/m")) == "image=diffusers:/m"
    assert str(parse_backend("template")) == "text=template"


@pytest.mark.parametrize(
    ("text", "kind", "error", "message"),
    [
        ("", None, BadInputError, "is not a backend name"),
        ("=template", None, BadInputError, "kind before '=' is empty"),
        ("text=", None, BadInputError, "is not a backend name"),
        ("text=:x", None, BadInputError, "is not a backend name"),
        ("text=temp late", None, BadInputError, "is not a backend name"),
        ("sound=template", None, UnknownBackendError, "No generator kind 'sound'"),
        ("template", "sound", UnknownBackendError, "No generator kind 'sound'"),
        ("image=compose", "text", BadInputError, "is a image backend; text is wanted"),
        ("kandinsky:/m", None, UnknownBackendError, "No generator backend 'kandinsky'"),
    ],
)
def test_bad_choices_say_why(
    text: str, kind: str | None, error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message):
        parse_backend(text, kind)


def test_unknown_backends_name_what_is_installed() -> None:
    with pytest.raises(UnknownBackendError, match="No text generator backend 'gpt'") as err:
        get_generator("text=gpt")
    assert err.value.hint == "text backends: text=gemma, text=openai:URL, text=template"
    with pytest.raises(UnknownBackendError, match="No image generator backend") as err:
        get_generator("image=kandinsky:/models/k")
    assert err.value.hint == (
        "image backends: image=comfyui:URL, image=compose, image=diffusers:DIR, image=openai:URL"
    )


def test_arguments_are_checked_against_the_backend(scratch_registry: None) -> None:
    with pytest.raises(BadInputError, match="takes no argument") as err:
        get_generator("text=template:/somewhere")
    assert err.value.hint == "write text=template"
    register("speech", "test-silence", argument="DIR")(SilenceSpeaker)
    with pytest.raises(BadInputError, match="needs a DIR") as err:
        get_generator("speech=test-silence")
    assert err.value.hint == "write speech=test-silence:DIR"
    speaker = get_generator("test-silence:/voices/anna")
    assert isinstance(speaker, SpeechGenerator)
    out = speaker.generate("hello", seed=1, parents=[("a1", "voice-sample")])
    with wave.open(io.BytesIO(out.data)) as audio:
        assert audio.getnframes() == 400 and audio.getframerate() == 8000
    assert out.recipe.model == "/voices/anna" and out.recipe.parents == (
        Parent("a1", "voice-sample"),
    )


def test_one_name_in_two_kinds_needs_the_kind(scratch_registry: None) -> None:
    register("speech", "test-both", argument="DIR")(SilenceSpeaker)
    register("music", "test-both", argument="DIR")(SilenceSpeaker)
    with pytest.raises(BadInputError, match="several kinds") as err:
        parse_backend("test-both:/x")
    assert err.value.hint == "write KIND=test-both, e.g. speech=test-both"
    assert parse_backend("music=test-both:/x").kind == "music"


def test_a_factory_must_build_its_kind(scratch_registry: None) -> None:
    register("video", "test-wrong")(lambda _arg: object())
    with pytest.raises(TypeError, match="no VideoGenerator"):
        get_generator("video=test-wrong")


def test_registration_mistakes_fail_at_once(scratch_registry: None) -> None:
    with pytest.raises(ValueError, match="registered already"):
        register("text", "template")(SilenceSpeaker)
    with pytest.raises(ValueError, match="none of"):
        register("sound", "x")
    with pytest.raises(ValueError, match="must match"):
        register("text", "Bad Name")


def test_one_backend_per_kind() -> None:
    chosen = parse_backends(["text=template", "image=diffusers:/m"])
    assert chosen == {
        "text": BackendChoice("text", "template"),
        "image": BackendChoice("image", "diffusers", "/m"),
    }
    with pytest.raises(BadInputError, match="two text backends"):
        parse_backends(["text=template", "template"])
