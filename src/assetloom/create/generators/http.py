"""One request to a generation server, its transport failures as GenerationErrors.

The HTTP backends (images, speech, text) differ in what they send and how they read the reply;
what goes wrong on the way (nothing listening, no answer in time, a broken connection) reads the
same for all of them, with a hint naming what to check. So does the API key rule of the backends
that send one: the argument is recorded in every recipe, so it names the environment variable
holding the key, never the key, and a key travels over https or to a loopback address only.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from assetloom.create.errors import GenerationError

if TYPE_CHECKING:
    import httpx


def request(
    client: httpx.Client,
    method: str,
    url: str,
    *,
    where: str,
    timeout_s: float,
    what: str = "",
    server: str = "the server",
    slow_hint: str = "the server may be overloaded or stuck",
    **kwargs: Any,
) -> httpx.Response:
    """`client.request(method, url, ...)`; `where` names the server in messages, `what`
    the call on it (a path), when that helps."""
    import httpx

    try:
        return client.request(method, url, **kwargs)
    except httpx.ConnectError as exc:
        raise GenerationError(
            f"cannot reach {where}: {exc}", hint=f"is {server} running, at that address?"
        ) from exc
    except httpx.TimeoutException as exc:
        raise GenerationError(
            f"{where} did not answer{f' {what}' if what else ''} within {timeout_s:g} s",
            hint=slow_hint,
        ) from exc
    except httpx.HTTPError as exc:
        raise GenerationError(f"{where} failed{f' on {what}' if what else ''}: {exc}") from exc


def preview(data: bytes) -> str:
    """The start of a reply body, for an error message."""
    text = data[:200].decode("utf-8", "replace").strip()
    return repr(text) if text else "(empty)"


KEY_OPTIONS = frozenset({"key", "api_key", "apikey", "token"})


def refuse_secrets(argument: str, api: str) -> None:
    """A key given as an option, or credentials in the URL, would sit in every recipe."""
    base, _, query = argument.strip().partition("?")
    if any(k.split("=")[0].lower() in KEY_OPTIONS for k in query.split("&")):
        raise GenerationError(
            f"the {api} API key cannot be an option: recipes record the argument",
            hint="put the key in an environment variable and name it: ?key_env=NAME",
        )
    parts = urlsplit(base)
    if parts.username or parts.password:
        raise GenerationError(
            f"the {api} URL holds credentials, which recipes would record",
            hint="name the variable holding the key instead: ?key_env=NAME",
        )


def api_key(key_env: str, url: str, api: str, environ: Mapping[str, str]) -> str:
    """The key in `environ[key_env]` ("" when no variable is named), if `url` may carry it."""
    if not key_env:
        return ""
    key = environ.get(key_env, "").strip()
    if not key:
        raise GenerationError(
            f"the environment variable {key_env} holding the {api} API key is unset or empty",
            hint=f"export {key_env}=... before running",
        )
    parts = urlsplit(url)
    if parts.scheme != "https" and not loopback(parts.hostname or ""):
        raise GenerationError(
            f"the API key would go in clear text to {parts.hostname}",
            hint="use an https:// URL (plain http carries a key to loopback only)",
        )
    return key


def loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
