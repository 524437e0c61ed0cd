"""Multipart uploads streamed straight to disk, under names the server chooses.

Each request gets a fresh folder under `<library>/tmp/uploads/`; file number i goes to
`<folder>/<i>/<name>`, where `name` is the client's file name cut down to a safe base name
(no folders, no control characters, no leading dots). The library records that name as the
asset's `original_name`; the client never picks a path. Limits are checked while bytes
arrive, so an oversized upload is refused without being stored first, and a body the
multipart parser rejects is the client's 400, never a 500.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from python_multipart.exceptions import FormParserError
from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.requests import Request

from assetloom.api.errors import PayloadTooLargeError
from assetloom.errors import BadInputError, UnsupportedMediaError
from assetloom.processes import alive

log = logging.getLogger("assetloom.api.uploads")

MAX_NAME_BYTES = 200
MAX_FIELDS = 64
MAX_FIELD_BYTES = 64 * 1024
# Folders are named after the server process that staged them (`up-<pid>-...`), so leftovers
# of a dead process are known at once. One older than this is swept whoever made it: no
# request streams for a day, and a dead server's pid may have been reused since.
_ABANDONED_S = 24 * 3600
# Folders from before they carried a pid: swept after an hour, as they always were.
_LEGACY_STALE_S = 3600
_OWNER = re.compile(r"^up-(\d+)-")
_MULTIPART_HINT = "send a well-formed multipart/form-data body, e.g. `curl -F files=@a.jpg URL`"


@dataclass(frozen=True, slots=True)
class UploadLimits:
    max_file_bytes: int
    max_files: int
    max_request_bytes: int


@dataclass(slots=True)
class UploadedFile:
    field: str
    name: str
    path: Path
    size: int


@dataclass(slots=True)
class Upload:
    """The files of one request, in its staging folder (see `UploadStaging`)."""

    folder: Path
    files: list[UploadedFile] = field(default_factory=list)
    fields: dict[str, list[str]] = field(default_factory=dict)
    """Text fields by name, in order (UTF-8, as browsers send them)."""

    def paths(self) -> list[Path]:
        return [f.path for f in self.files]

    def sources(self, uploader: str) -> dict[Path, str]:
        """Server path -> what the library records as the asset's source (`Library.add`): the
        staging path is gone once the request ends, so say who uploaded which file instead."""
        return {f.path: f"upload by {uploader}: {f.name}" for f in self.files}

    def client_names(self) -> dict[str, str]:
        """Server path -> client file name, to report results under the names clients know."""
        return {str(f.path): f.name for f in self.files}


def multipart_body(field: str, *, many: bool) -> dict[str, Any]:
    """OpenAPI `requestBody` for a route that streams its files itself (no FastAPI `File`)."""
    binary = {"type": "string", "format": "binary"}
    schema = {"type": "array", "items": binary} if many else binary
    return {
        "requestBody": {
            "required": True,
            "content": {
                "multipart/form-data": {
                    "schema": {
                        "type": "object",
                        "required": [field],
                        "properties": {field: schema},
                    }
                }
            },
        }
    }


def safe_name(raw: str) -> str:
    """A base name safe to create in a folder of our own; never empty, '.' or '..'.

    Browsers send '"', CR and LF in file names as %22, %0D and %0A (WHATWG multipart), so
    those three are decoded first; control characters are then dropped.
    """
    for escaped, char in (("%22", '"'), ("%0D", "\r"), ("%0A", "\n")):
        raw = raw.replace(escaped, char)
    name = raw.replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(ch for ch in name if ch.isprintable()).strip().lstrip(".")
    name = name.encode()[:MAX_NAME_BYTES].decode("utf-8", "ignore").strip()
    return name or "upload"


def uploads_root(library_root: Path) -> Path:
    return library_root / "tmp" / "uploads"


class UploadStaging:
    """The folders under `<library>/tmp/uploads/` that this process's requests stream into.

    A server killed mid-request leaves its folder behind; `sweep()` removes those at start
    and then periodically (the index keeper's loop), never a folder of an upload still in
    flight here or in another live process.
    """

    def __init__(self, root: Path) -> None:
        self.root = root
        self._lock = threading.Lock()
        self._in_flight: set[Path] = set()

    def new_folder(self) -> Path:
        """A fresh folder for one request, registered as in flight until `discard()`."""
        self.root.mkdir(parents=True, exist_ok=True)
        with self._lock:  # made and registered at once, so a sweep never sees it unregistered
            folder = Path(tempfile.mkdtemp(prefix=f"up-{os.getpid()}-", dir=self.root))
            self._in_flight.add(folder)
        return folder

    def discard(self, folder: Path) -> None:
        """Remove a request's folder (always, once the request is done)."""
        shutil.rmtree(folder, ignore_errors=True)
        with self._lock:
            self._in_flight.discard(folder)

    def sweep(self) -> int:
        """Remove folders no live upload owns; returns how many went."""
        if not self.root.is_dir():
            return 0
        folders = list(self.root.iterdir())  # listed before the snapshot: see new_folder
        with self._lock:
            in_flight = set(self._in_flight)
        now = time.time()
        swept = 0
        for folder in folders:
            if folder in in_flight:
                continue
            try:
                age = now - folder.stat().st_mtime
            except OSError:
                continue
            if _abandoned(folder.name, age):
                shutil.rmtree(folder, ignore_errors=True)
                swept += 1
        if swept:
            log.info("swept %d upload folders left by requests that never finished", swept)
        return swept


def _abandoned(name: str, age_s: float) -> bool:
    owner = _OWNER.match(name)
    if owner is None:
        return age_s > _LEGACY_STALE_S
    pid = int(owner.group(1))
    return pid == os.getpid() or not alive(pid) or age_s > _ABANDONED_S


async def receive(
    request: Request, folder: Path, limits: UploadLimits, file_fields: frozenset[str]
) -> Upload:
    """Stream a multipart/form-data body into `folder` (the caller removes it afterwards)."""
    content_type = request.headers.get("content-type", "")
    kind, params = parse_options_header(content_type)
    boundary = params.get(b"boundary")
    if kind != b"multipart/form-data" or not boundary:
        raise UnsupportedMediaError(
            "expected a multipart/form-data body", hint="send files in the `files` form field"
        )
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limits.max_request_bytes:
        raise PayloadTooLargeError(
            f"the request is over the {limits.max_request_bytes}-byte upload limit"
        )
    upload = Upload(folder)
    receiver = _Receiver(upload, limits, file_fields)
    total = 0
    try:
        parser = MultipartParser(boundary, receiver.callbacks())
        async for chunk in request.stream():
            total += len(chunk)
            if total > limits.max_request_bytes:
                raise PayloadTooLargeError(
                    f"the request is over the {limits.max_request_bytes}-byte upload limit"
                )
            parser.write(chunk)
        parser.finalize()
        if not receiver.finished:
            raise BadInputError("the multipart body ended early", hint=_MULTIPART_HINT)
    except FormParserError as exc:
        # python-multipart's own limits and syntax checks (header size and count, boundary
        # length and mismatch, garbage): the client's body is at fault, not the server.
        raise BadInputError(
            f"malformed multipart body ({_parser_reason(exc)})", hint=_MULTIPART_HINT
        ) from exc
    finally:
        receiver.close()
    return upload


def _parser_reason(exc: FormParserError) -> str:
    """python-multipart's message, short and without the body's bytes."""
    reason = str(exc) or type(exc).__name__
    return reason if len(reason) <= 120 else reason[:117] + "..."


class _Receiver:
    """Callbacks for python-multipart's streaming parser."""

    def __init__(self, upload: Upload, limits: UploadLimits, file_fields: frozenset[str]) -> None:
        self.upload = upload
        self.limits = limits
        self.file_fields = file_fields
        self.finished = False
        self._header_field = b""
        self._header_value = b""
        self._disposition = b""
        self._out: IO[bytes] | None = None
        self._current: UploadedFile | None = None
        # Text fields: counted and size-checked as they arrive, kept for the routes that read
        # them (most read none).
        self._text_fields = 0
        self._text_field: str | None = None
        self._text_bytes = 0
        self._text = bytearray()

    def callbacks(self) -> dict[str, object]:
        return {
            "on_part_begin": self._part_begin,
            "on_header_field": self._on_header_field,
            "on_header_value": self._on_header_value,
            "on_header_end": self._header_end,
            "on_headers_finished": self._headers_finished,
            "on_part_data": self._part_data,
            "on_part_end": self._part_end,
            "on_end": self._end,
        }

    def close(self) -> None:
        if self._out is not None:
            self._out.close()
            self._out = None

    def _part_begin(self) -> None:
        self._disposition = b""
        self._current = None
        self._text_field = None

    def _on_header_field(self, data: bytes, start: int, end: int) -> None:
        self._header_field += data[start:end]

    def _on_header_value(self, data: bytes, start: int, end: int) -> None:
        self._header_value += data[start:end]

    def _header_end(self) -> None:
        if self._header_field.lower() == b"content-disposition":
            self._disposition = self._header_value
        self._header_field = b""
        self._header_value = b""

    def _headers_finished(self) -> None:
        _, options = parse_options_header(self._disposition)
        name = options.get(b"name", b"").decode("utf-8", "replace")
        if b"filename" not in options:
            self._text_fields += 1
            if self._text_fields > MAX_FIELDS:
                raise BadInputError(f"more than {MAX_FIELDS} form fields")
            self._text_field, self._text_bytes = name, 0
            self._text.clear()
            return
        if name not in self.file_fields:
            raise BadInputError(
                f"unexpected file field {name!r}",
                hint=f"send files as {' or '.join(sorted(self.file_fields))}",
            )
        client_name = options[b"filename"].decode("utf-8", "replace")
        if not client_name:
            return  # a browser's empty file input
        if len(self.upload.files) >= self.limits.max_files:
            raise PayloadTooLargeError(f"more than {self.limits.max_files} files in one request")
        folder = self.upload.folder / str(len(self.upload.files))
        folder.mkdir()
        base = safe_name(client_name)
        self._current = UploadedFile(name, base, folder / base, 0)
        self._out = self._current.path.open("xb")

    def _part_data(self, data: bytes, start: int, end: int) -> None:
        if self._current is not None and self._out is not None:
            self._current.size += end - start
            if self._current.size > self.limits.max_file_bytes:
                raise PayloadTooLargeError(
                    f"{self._current.name} is over the {self.limits.max_file_bytes}-byte limit",
                    hint="raise max_file_bytes in assetloom.toml if this is intended",
                )
            self._out.write(data[start:end])
        elif self._text_field is not None:
            self._text_bytes += end - start
            if self._text_bytes > MAX_FIELD_BYTES:
                raise PayloadTooLargeError(f"form field {self._text_field!r} is too long")
            self._text += data[start:end]

    def _part_end(self) -> None:
        if self._current is not None:
            self.close()
            self.upload.files.append(self._current)
        elif self._text_field is not None:
            try:
                value = self._text.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise BadInputError(f"form field {self._text_field!r} is not UTF-8") from exc
            self.upload.fields.setdefault(self._text_field, []).append(value)
        self._current = None
        self._text_field = None

    def _end(self) -> None:
        self.finished = True
