"""Shared CLI plumbing: opening the library, --json output, errors, progress bars."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NoReturn

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from assetloom.errors import AssetLoomError, BadInputError, NotALibraryError
from assetloom.library import Library
from assetloom.settings import load_settings

out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False)

JsonOpt = typer.Option(False, "--json", help="Print one JSON document on stdout, nothing else.")


@dataclass
class State:
    library: Path | None = None


state = State()


def library_path() -> Path:
    path = state.library or load_settings().library
    if path is None:
        raise NotALibraryError(
            "no library given",
            hint="pass --library PATH or set ASSETLOOM_LIBRARY (create one with `assetloom init`)",
        )
    return path


def open_library() -> Library:
    return Library.open(library_path())


def parse_date(value: str | None, name: str) -> datetime | None:
    """An option's ISO date or datetime; without a zone it is UTC."""
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError as exc:
        raise BadInputError(f"{name} {value!r} is not a date", hint="use YYYY-MM-DD") from exc
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def emit_json(doc: Any) -> None:
    sys.stdout.write(json.dumps(doc, ensure_ascii=False, indent=2, default=str) + "\n")
    sys.stdout.flush()


def fail(exc: AssetLoomError, as_json: bool) -> NoReturn:
    if as_json:
        emit_json({"error": {"code": exc.code, "message": exc.message, "hint": exc.hint}})
    err.print(f"[bold red]error:[/] {exc.message}", markup=True, highlight=False)
    if exc.hint:
        err.print(f"  {exc.hint}", markup=False)
    raise typer.Exit(exc.exit_code)


def run(as_json: bool, body: Callable[[], None]) -> None:
    """Run a command body, turning our errors into a message and an exit code, not a traceback."""
    try:
        body()
    except AssetLoomError as exc:
        fail(exc, as_json)
    except KeyboardInterrupt:
        err.print("interrupted: work committed so far is kept; run the command again to finish")
        raise typer.Exit(130) from None


@contextmanager
def progress_bar(label: str, enabled: bool) -> Iterator[Callable[[int, int], None]]:
    """A Rich progress bar on stderr when it is a terminal; a no-op callback otherwise."""
    if not enabled or not err.is_terminal:
        yield lambda done, total: None
        return
    with Progress(
        TextColumn(f"[bold]{label}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=err,
        transient=False,
    ) as bar:
        task = bar.add_task(label, total=None)

        def update(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        yield update
