"""Shared CLI plumbing: opening the library, --json output, the one failure handler, progress.

Module-level imports stay light (typer, Rich's console): what a command needs beyond that it
imports in its body, so `assetloom --help` and `assetloom list` pay for no models, password
hashing or indexes.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import traceback
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import typer
from rich.console import Console
from rich.markup import escape

from assetloom.errors import (
    AssetLoomError,
    BadInputError,
    InternalError,
    InterruptedByUserError,
    NotALibraryError,
    UsageError,
    from_database_error,
)

if TYPE_CHECKING:
    from assetloom.app.library import Library

out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False)

JsonOpt = typer.Option(False, "--json", help="Print one JSON document on stdout, nothing else.")


@dataclass
class State:
    library: Path | None = None
    debug: bool = False
    emitted: bool = False
    """A JSON document is on stdout already: a failure after it must not print a second."""


state = State()


def library_path() -> Path:
    from assetloom.settings import load_settings

    path = state.library or load_settings().library
    if path is None:
        raise NotALibraryError(
            "no library given",
            hint="pass --library PATH or set ASSETLOOM_LIBRARY (create one with `assetloom init`)",
        )
    return path


def open_library() -> Library:
    from assetloom.app.library import Library

    return Library.open(library_path())


def parse_date(value: str | None, name: str) -> datetime | None:
    """`--since D` from the start of D, `--until D` to its end (UTC); see `date_bound`."""
    from assetloom.core.listing import date_bound

    return date_bound(value, name, end=name.endswith("until"))


def emit_json(doc: Any) -> None:
    sys.stdout.write(json.dumps(doc, ensure_ascii=False, indent=2, default=str) + "\n")
    sys.stdout.flush()
    state.emitted = True


def fail(exc: AssetLoomError, as_json: bool) -> NoReturn:
    if as_json and not state.emitted:
        emit_json({"error": {"code": exc.code, "message": exc.message, "hint": exc.hint}})
    # soft_wrap: a path or command in the message stays on one line, whole, to copy
    err.print(f"[bold red]error:[/] {escape(exc.message)}", highlight=False, soft_wrap=True)
    if exc.hint:
        err.print(f"  {exc.hint}", markup=False, soft_wrap=True)
    raise typer.Exit(exc.exit_code)


def run(as_json: bool, body: Callable[[], None]) -> None:
    """Run a command body; whatever it raises becomes a message and an exit code (`handle`)."""
    state.emitted = False
    try:
        body()
    except (typer.Exit, SystemExit):
        raise
    except BaseException as exc:
        handle(exc, as_json)


def handle(exc: BaseException, as_json: bool) -> NoReturn:
    """The one way a command fails: the JSON error document with --json, else a message and
    a hint on stderr; the exit code is the error's (see README, "Exit codes")."""
    fail(as_error(exc), as_json)


def as_error(exc: BaseException) -> AssetLoomError:
    """`exc` as one of our errors: the parser's usage errors, SQLite's lock and corruption
    errors mapped to theirs, anything else an InternalError whose traceback is logged."""
    if isinstance(exc, AssetLoomError):
        return exc
    if isinstance(exc, KeyboardInterrupt):
        return InterruptedByUserError(
            "interrupted", hint="work committed so far is kept; run the command again to finish"
        )
    if isinstance(exc, typer.Abort):
        return BadInputError("aborted")
    if isinstance(exc, typer.TyperException):  # the parser's (click's) errors
        ctx = getattr(exc, "ctx", None)
        command = ctx.command_path if ctx is not None else "assetloom"
        if exc.exit_code == UsageError.exit_code:
            return UsageError(exc.format_message(), hint=f"see `{command} --help`")
        return BadInputError(exc.format_message())
    return from_database_error(exc) or _unexpected(exc)


def _unexpected(exc: BaseException) -> InternalError:
    lines = f"{type(exc).__name__}: {exc}".strip().splitlines()
    message = f"unexpected error: {lines[0][:300]}"
    if state.debug:
        traceback.print_exception(exc, file=sys.stderr)
        return InternalError(message, hint="the traceback is above")
    log = _write_log(exc)
    where = f"the traceback is in {log}" if log else "the traceback could not be saved"
    return InternalError(message, hint=f"{where}; `assetloom --debug ...` prints it instead")


def log_dir() -> Path:
    """Where tracebacks of unexpected errors go: beside the model cache, per user."""
    return Path.home() / ".cache" / "assetloom" / "logs"


def _write_log(exc: BaseException) -> Path | None:
    from assetloom import __version__

    text = "".join(
        [f"assetloom {__version__}: {' '.join(sys.argv)}\n", *traceback.format_exception(exc)]
    )
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
    for folder in (log_dir(), Path(tempfile.gettempdir())):
        path = folder / f"assetloom-error-{stamp}-{os.getpid()}.log"
        try:
            folder.mkdir(parents=True, exist_ok=True)
            with os.fdopen(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "w") as f:
                f.write(text)
        except OSError:
            continue
        return path
    return None


def run_app(app: typer.Typer, args: Sequence[str] | None = None) -> NoReturn:
    """The console entry point: parse and run like Typer, but route the parser's errors and
    anything raised outside a command body through `handle` as well (--json and --debug are
    read off the command line, since parsing may fail before any option is known)."""
    argv = list(sys.argv[1:] if args is None else args)
    options = argv[: argv.index("--")] if "--" in argv else argv
    as_json = "--json" in options
    state.debug = "--debug" in options
    state.emitted = False
    command = typer.main.get_command(app)
    try:
        code = command.main(argv, standalone_mode=False)
    except (typer.Exit, SystemExit):
        raise
    except BaseException as exc:
        if isinstance(exc, typer.TyperException) and type(exc).__name__ == "NoArgsIsHelpError":
            # `assetloom` (or a group) alone: the help is the answer; Rich printed it already
            if exc.format_message():
                exc.show()  # type: ignore[attr-defined]
            sys.exit(exc.exit_code)
        try:
            handle(exc, as_json)
        except typer.Exit as done:
            sys.exit(done.exit_code)
    sys.exit(code if isinstance(code, int) else 0)


@contextmanager
def progress_bar(label: str, enabled: bool) -> Iterator[Callable[[int, int], None]]:
    """A Rich progress bar on stderr when it is a terminal; a no-op callback otherwise."""
    if not enabled or not err.is_terminal:
        yield lambda done, total: None
        return
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

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
