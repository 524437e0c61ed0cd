"""The figures behind the speech/no-speech thresholds of models/asr/whisper.py.

    .venv/bin/python bench/asr_thresholds.py [--captions 10] [--models whisper-base,whisper-tiny.en]

Speech: Flickr8k dev captions read by espeak-ng's American and British voices. Music:
synthetic clips from tests/media_av.py (chords + melody + drums, a formant-filtered synth
choir, a tone) plus noise and silence.
Whisper runs with voice detection off and its own filters off, so every clip reaches it; the
table shows, per clip kind, the voice detector's share of the clip and the range of each
segment figure the thresholds read, and how many segments pass all of those rules together
("kept": what would survive if the voice detector let a clip through).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from assetloom.models.asr import whisper  # noqa: E402
from assetloom.models.asr.weights import whisper_base_dir, whisper_tiny_en_dir  # noqa: E402
from assetloom.settings import Settings  # noqa: E402
from tests.media_av import choir, music, speech, tone  # noqa: E402

SHARED = Path(os.environ.get("ASSETLOOM_SHARED", REPO.parent / "shared"))


def clips(n_captions: int) -> list[tuple[str, np.ndarray]]:
    rows = (SHARED / "data" / "flickr8k" / "dev.jsonl").read_text("utf-8").splitlines()
    out = []
    for line in rows[:n_captions]:
        for voice in ("en-us", "en"):  # American and British: the latter is harder for Whisper
            samples, rate = speech(json.loads(line)["captions_en"][0], voice=voice)
            out.append(("speech", whisper.mono_16k(samples[:, 0], rate)))
    r = whisper.RATE
    for seed in range(4):
        out.append(("music", music(seed, 8.0, rate=r, stereo=False)[:, 0]))
    for seed in range(2):
        out.append(("choir", choir(seed, 8.0, rate=r)[:, 0]))
    out.append(("tone", tone(440.0, 5.0, rate=r)[:, 0]))
    noise = np.random.default_rng(0).standard_normal(5 * r).astype(np.float32)
    out.append(("noise", 0.1 * noise))
    out.append(("silence", np.zeros(5 * r, np.float32)))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--captions", type=int, default=10)
    ap.add_argument("--models", default="whisper-base,whisper-tiny.en")
    args = ap.parse_args()
    from faster_whisper import WhisperModel

    folders = {
        "whisper-base": lambda: whisper_base_dir(Settings().model_cache),
        "whisper-tiny.en": whisper_tiny_en_dir,
    }
    data = clips(args.captions)
    print(f"cores: {os.cpu_count()}, load average {os.getloadavg()[0]:.2f}")
    for name in args.models.split(","):
        model = WhisperModel(str(folders[name]()), device="cpu", compute_type="int8", cpu_threads=1)
        figures: dict[str, dict[str, list[float]]] = {}
        spent = audio = 0.0
        for kind, samples in data:
            got = figures.setdefault(kind, {"vad": [], "nsp": [], "lp": [], "cr": [], "kept": []})
            voiced = sum(c["end"] - c["start"] for c in whisper.speech_chunks(samples))
            got["vad"].append(voiced / len(samples))
            t0 = time.perf_counter()
            segments, _ = model.transcribe(
                samples,
                beam_size=whisper.BEAM_SIZE,
                best_of=whisper.BEAM_SIZE,
                temperature=list(whisper.TEMPERATURES),
                condition_on_previous_text=False,
                no_speech_threshold=None,
                log_prob_threshold=None,
            )
            for seg in segments:
                got["nsp"].append(seg.no_speech_prob)
                got["lp"].append(seg.avg_logprob)
                got["cr"].append(seg.compression_ratio)
                got["kept"].append(float(whisper._believable(seg)))
            if kind == "speech":
                spent += time.perf_counter() - t0
                audio += len(samples) / whisper.RATE
        print(f"\n{name}: real-time factor on speech {spent / audio:.3f} (one thread)")
        print(
            f"{'kind':8} {'voice share':>11} {'no_speech_p':>11} {'avg_logprob':>13} "
            f"{'compression':>11} {'kept':>9}"
        )
        for kind, got in figures.items():
            cells = [
                f"{min(v):.2f}-{max(v):.2f}" if v else "-"
                for v in (got["vad"], got["nsp"], got["lp"], got["cr"])
            ]
            kept = f"{int(sum(got['kept']))}/{len(got['kept'])}"
            print(f"{kind:8} {cells[0]:>11} {cells[1]:>11} {cells[2]:>13} {cells[3]:>11} {kept:>9}")


if __name__ == "__main__":
    main()
