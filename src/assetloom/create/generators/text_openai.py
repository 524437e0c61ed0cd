"""`text=openai:URL`: marketing copy from an OpenAI-compatible chat completions API.

Any server that speaks it will do: Ollama, vLLM, a llama.cpp server, a cloud API. The URL is
the API base (`http://127.0.0.1:11434/v1`; a bare `http://HOST:PORT` means `/v1`) or the
endpoint itself; options follow a `?`:

- `model`: the model the server runs (default `default`);
- `temperature`: from 0 to 2 (default 0.7);
- `key_env`: the environment variable holding the API key, sent as a Bearer token; never the
  key itself (the argument is recorded in every recipe), and over https or to loopback only;
- `timeout`: seconds one reply may take (default 120).

The model is asked for `{"headline", "body", "hashtags"}` as JSON, in the language asked (zh or
en), with the seed and temperature sent, so that a server that honours them remakes the copy.
A model's reply is not trusted: it is read as JSON (bare, fenced or amid prose, else as lines),
then checked (a headline and a body, their lengths, the language) and tidied (repeated lines
dropped, hashtags written as the template backend writes them). A reply that fails a check is
a GenerationError saying what was wrong, so that the studio reports it against that output.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from assetloom.create.errors import GenerationError
from assetloom.create.generators.base import TEXT, Generated, Parent, resolve_seed
from assetloom.create.generators.http import api_key, preview, refuse_secrets, request
from assetloom.create.generators.image_common import number, split_options
from assetloom.create.generators.registry import register
from assetloom.create.generators.template_text import LANGUAGES, MAX_HASHTAGS, Copy

OPTIONS = {
    "model": "the model the server runs, default 'default'",
    "temperature": "sampling temperature from 0 to 2, default 0.7",
    "key_env": "the environment variable holding the API key",
    "timeout": "seconds one reply may take, default 120",
}
DEFAULT_MODEL = "default"
DEFAULT_TEMPERATURE = 0.7
CONNECT_TIMEOUT_S = 5.0
MAX_TOKENS = 800
HEADLINE_MAX = {"zh": 30, "en": 80}
BODY_MAX = {"zh": 300, "en": 600}
"""As create/quality.py judges copy (not imported: it loads numpy and Pillow)."""
SYSTEM_PROMPT = {
    "zh": (
        "You are a marketing copywriter. Write social media copy in Simplified Chinese for the "
        "brief the user gives: a headline of at most 30 characters, a body of one to three "
        "sentences (at most 300 characters), and three to five hashtags. Answer with JSON only, "
        'exactly {"headline": "...", "body": "...", "hashtags": ["...", "..."]}, every value '
        "in Simplified Chinese."
    ),
    "en": (
        "You are a marketing copywriter. Write social media copy in English for the brief the "
        "user gives: a headline of at most 80 characters, a body of one to three sentences (at "
        "most 600 characters), and three to five hashtags. Answer with JSON only, exactly "
        '{"headline": "...", "body": "...", "hashtags": ["...", "..."]}, every value in English.'
    ),
}
_CJK = re.compile(r"[\u3400-\u9fff]")
_FENCE = re.compile(r"```[a-zA-Z]*\s*(.*?)```", re.DOTALL)
_LABEL = re.compile(
    r"^(headline|title|body|copy|text|hashtags|tags|标题|正文|文案|话题|标签)\s*[:：]\s*", re.I
)
_TAG_SPLIT = re.compile(r"\s*#\s*|[,，、;；]+")


class OpenAITextGenerator:
    backend = "openai"

    def __init__(self, argument: str, *, environ: Mapping[str, str] | None = None) -> None:
        refuse_secrets(argument, "chat")
        url, options = split_options(argument, OPTIONS, f"text=openai:{argument}")
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise GenerationError(
                f"chat endpoint {url!r} is not an http(s) URL",
                hint="write text=openai:http://HOST:PORT/v1",
            )
        path = parts.path.rstrip("/") or "/v1"
        if not path.endswith("/chat/completions"):
            path += "/chat/completions"
        self.endpoint = urlunsplit((parts.scheme, parts.netloc, path, "", ""))
        self.model = argument.strip()
        self.remote_model = options.get("model", DEFAULT_MODEL) or DEFAULT_MODEL
        self.temperature = number(options, "temperature", DEFAULT_TEMPERATURE, 0, 2)
        self.timeout_s = number(options, "timeout", 120, 0.1, 3600)
        self._key = api_key(
            options.get("key_env", ""), url, "chat", os.environ if environ is None else environ
        )

    def generate(
        self,
        prompt: str,
        *,
        language: str = "en",
        seed: int | None = None,
        parents: Sequence[Parent] = (),
    ) -> Generated:
        seed = resolve_seed(seed)
        lang = model_brief(prompt, language, "chat")
        content = self._ask(prompt, lang, seed)
        copy = check_copy(parse_reply(content), lang)
        return copy.generated(
            self,
            prompt,
            seed,
            {
                "language": lang,
                "model": self.remote_model,
                "temperature": self.temperature,
                "endpoint": self.endpoint,
            },
            parents,
        )

    def _ask(self, prompt: str, lang: str, seed: int) -> str:
        """The content of the model's answer."""
        import httpx

        body: dict[str, Any] = {
            "model": self.remote_model,
            "messages": [
                {"role": "system", "content": SYSTEM_PROMPT[lang]},
                {"role": "user", "content": prompt.strip()},
            ],
            "temperature": self.temperature,
            "seed": seed,
            "max_tokens": MAX_TOKENS,
            "response_format": {"type": "json_object"},
        }
        headers = {"Authorization": f"Bearer {self._key}"} if self._key else {}
        where = f"the chat endpoint {self.endpoint}"
        timeout = httpx.Timeout(self.timeout_s, connect=CONNECT_TIMEOUT_S)
        with httpx.Client(timeout=timeout, follow_redirects=False, headers=headers) as client:
            reply = request(
                client,
                "POST",
                self.endpoint,
                where=where,
                timeout_s=self.timeout_s,
                slow_hint="the server may be overloaded; raise ?timeout= or use a smaller model",
                json=body,
            )
        if reply.status_code == 401:
            raise GenerationError(
                f"{where} refused the request (HTTP 401): {preview(reply.content)}",
                hint="name the variable holding a valid key: ?key_env=NAME",
            )
        if reply.status_code != 200:
            raise GenerationError(
                f"{where} answered HTTP {reply.status_code}: {preview(reply.content)}",
                hint="check the model name (?model=NAME) and that the URL is the API base",
            )
        try:
            content = reply.json()["choices"][0]["message"]["content"]
        except (ValueError, KeyError, IndexError, TypeError) as exc:
            raise GenerationError(
                f"the reply of {where} is not a chat completion: {preview(reply.content)}",
                hint='an OpenAI-compatible server answers {"choices": [{"message": ...}]}',
            ) from exc
        if not isinstance(content, str) or not content.strip():
            raise GenerationError(f"the model behind {where} answered nothing")
        return content


def parse_reply(content: str) -> dict[str, Any]:
    """The copy's fields from what a model wrote: JSON (bare, in a ``` fence, or the first
    `{...}` amid prose), else lines: the first the headline, #tags the hashtags, the rest
    the body."""
    candidates = [m.group(1) for m in _FENCE.finditer(content)] + [content]
    start, end = content.find("{"), content.rfind("}")
    if 0 <= start < end:
        candidates.append(content[start : end + 1])
    for candidate in candidates:
        try:
            data = json.loads(candidate.strip())
        except ValueError:
            continue
        if isinstance(data, dict) and "headline" in data:
            return data
    lines = [_LABEL.sub("", _plain(ln)) for ln in _FENCE.sub("", content).splitlines()]
    lines = [ln for ln in lines if ln]
    tags = [ln for ln in lines if all(w.startswith("#") for w in ln.split())]
    rest = [ln for ln in lines if ln not in tags]
    return {"headline": rest[0] if rest else "", "body": "\n".join(rest[1:]), "hashtags": tags}


def check_copy(data: Mapping[str, Any], lang: str) -> Copy:
    """The copy, or a GenerationError naming what about it is wrong."""
    headline, body, tags = data.get("headline"), data.get("body", ""), data.get("hashtags", [])
    if not isinstance(headline, str) or not isinstance(body, str):
        raise GenerationError("the model's headline and body are not text")
    headline = " ".join(_plain(headline).split())
    if not headline:
        raise GenerationError("the model gave no headline")
    seen = {headline.casefold()}
    kept = []
    for line in map(_plain, body.splitlines()):
        line = " ".join(line.split())
        if line and line.casefold() not in seen:  # models repeat themselves, and the headline
            seen.add(line.casefold())
            kept.append(line)
    body = "\n".join(kept)
    if not body:
        raise GenerationError("the model gave no body")
    share = _cjk_share(headline + body)
    if not (share > 0.3 if lang == "zh" else share < 0.1):  # as create/quality.py judges copy
        written = "Chinese" if share > 0.3 else "English" if share < 0.1 else "mixed languages"
        raise GenerationError(
            f"the model answered in {written}; {lang} was asked",
            hint="try a larger or multilingual model",
        )
    if len(headline) > HEADLINE_MAX[lang]:
        raise GenerationError(
            f"the model's headline is {len(headline)} characters; at most "
            f"{HEADLINE_MAX[lang]} for {lang}: {headline!r}"
        )
    if len(body) > BODY_MAX[lang]:
        raise GenerationError(
            f"the model's body is {len(body)} characters; at most {BODY_MAX[lang]} for {lang}"
        )
    return Copy(headline, body, _hashtags(tags, lang))


def model_brief(prompt: str, language: str, writer: str) -> str:
    """The language ("zh" or "en") a language-model copy writer writes a brief in; an empty
    brief, or another language, is refused before any model or server is asked."""
    primary = re.split(r"[-_]", language.strip().lower())[0]
    if primary not in SYSTEM_PROMPT:
        raise GenerationError(
            f"the {writer} copy writer writes zh or en, not {language!r}",
            hint="use text=template for de, fr or es",
        )
    if not prompt.strip():
        raise GenerationError("the brief is empty", hint="describe what to promote")
    return primary


def _cjk_share(text: str) -> float:
    letters = [c for c in text if c.isalpha()]
    return sum(bool(_CJK.match(c)) for c in letters) / len(letters) if letters else 0.0


def _plain(text: str) -> str:
    """Markdown emphasis, headings, bullets and wrapping quotes off a model's line."""
    text = re.sub(r"^\s*(?:#+\s+|[-*•]\s+|\d+[.)]\s+)", "", text.replace("**", ""))
    return text.strip().strip("\"'“”「」").strip()


def _hashtags(tags: object, lang: str) -> tuple[str, ...]:
    """Tags as the template backend writes them: words joined, each capitalised, "#Tag" (or
    Weibo's "#话题#" in Chinese), repeats dropped, five at most."""
    if isinstance(tags, str):
        tags = tags.split()
    if not isinstance(tags, list):
        raise GenerationError("the model's hashtags are neither a list nor text")
    pattern = LANGUAGES[lang].hashtag
    out: dict[str, str] = {}
    for item in tags:
        for part in _TAG_SPLIT.split(str(item)):
            words = part.split()
            tag = "".join(w[:1].upper() + w[1:] for w in words)
            tag = "".join(ch for ch in tag if ch.isalnum() or ch == "_")
            if tag and tag.casefold() not in out:
                out[tag.casefold()] = pattern.format(tag)
    return tuple(out.values())[:MAX_HASHTAGS]


@register(TEXT, "openai", argument="URL")
def _openai(url: str) -> OpenAITextGenerator:
    return OpenAITextGenerator(url)
