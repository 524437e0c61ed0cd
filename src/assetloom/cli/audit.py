"""The audit log for writes made from the command line.

Whoever runs the CLI has the library folder itself; their writes go to the same audit log as the
API's, as `cli:<login name>` from `local`, so "who changed this" has one answer whichever
interface was used.
"""

from __future__ import annotations

import getpass
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from assetloom.app.library import Library

CLIENT = "local"


def cli_actor() -> str:
    """`cli:<OS login>`, or `cli` where the login cannot be read (a container without one)."""
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return "cli"


@contextmanager
def audited(lib: Library, action: str, target: str) -> Iterator[dict[str, Any]]:
    """Record a CLI write however it ends (AccountService.audited)."""
    from assetloom.accounts import AccountService

    with AccountService.of(lib).audited(cli_actor(), action, target, client=CLIENT) as detail:
        yield detail
