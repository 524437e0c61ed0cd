"""One request to a generation server, its transport failures as GenerationErrors.

The HTTP backends (images, speech) differ in what they send and how they read the reply; what
goes wrong on the way (nothing listening, no answer in time, a broken connection) reads the
same for all of them, with a hint naming what to check.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

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
