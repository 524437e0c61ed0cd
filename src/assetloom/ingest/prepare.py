"""Per-file work done in worker processes: hash, sniff, then the media type's extractor, then
the enrichers over the whole chunk.

Runs without the catalog: it returns a `Prepared` record (or a `Skipped` reason) that the
use case commits in one transaction, so a crash here can never leave a half-registered asset.
"""

from __future__ import annotations

import hashlib
from dataclasses import replace
from pathlib import Path

from assetloom.errors import AssetLoomError, BadInputError
from assetloom.ingest.enrich import Enricher, enrichers
from assetloom.ingest.paths import display_path
from assetloom.ingest.records import ModelInputs, Options, Prepared, Skipped
from assetloom.ingest.sniff import sniff
from assetloom.models.errors import UnknownBackendError

_CHUNK = 1 << 20


def init_worker(in_pool: bool = False) -> None:
    """Register HEIF/AVIF decoding; in a pool worker, models run on one thread each."""
    from pillow_heif import register_heif_opener

    register_heif_opener()
    if in_pool:
        from assetloom.models.registry import set_threads

        set_threads(1)


def prepare_files(paths: list[str], opts: Options) -> list[Prepared | Skipped]:
    """For `add`: stored fingerprints, a thumbnail and (batched) embeddings per file."""
    return _prepare_chunk(paths, opts, query=False)


def prepare_queries(paths: list[str], opts: Options) -> list[Prepared | Skipped]:
    """For `verify`: the query-side fingerprints (flips, trimmed borders), no thumbnail, and
    of the model steps only the embeddings (the similar tier): reading text, transcribing
    and moderating a file that is only compared would cost seconds and say nothing."""
    opts = replace(opts, asr="off", ocr="off", moderation="off")
    return _prepare_chunk(paths, opts, query=True)


def _prepare_chunk(paths: list[str], opts: Options, *, query: bool) -> list[Prepared | Skipped]:
    results: list[Prepared | Skipped] = []
    decoded: list[tuple[Prepared, ModelInputs]] = []
    for path in paths:
        where = display_path(path)
        try:
            rec, inputs = _prepare(Path(path), opts, query)
        except AssetLoomError as exc:
            results.append(Skipped(where, str(exc).removeprefix(f"{where}: ")))
            continue
        except MemoryError:
            results.append(Skipped(where, "too large to decode in memory"))
            continue
        decoded.append((rec, inputs))
        results.append(rec)
    for step in enrichers(opts):
        _enrich(step, decoded, opts)
    return results


def _enrich(step: Enricher, decoded: list[tuple[Prepared, ModelInputs]], opts: Options) -> None:
    """Run a model step over the chunk; if it fails, again file by file from where the
    records were, so a file a model cannot read costs only that file's step (noted in its
    metadata), not the whole add. A setting no backend answers to stops the add: it is the
    user's to fix."""
    saved = [_state(rec) for rec, _ in decoded]
    try:
        step.enrich(decoded, opts)
    except UnknownBackendError:
        raise
    except Exception as exc:
        for (rec, _), state in zip(decoded, saved, strict=True):
            _restore(rec, state)
        if len(decoded) > 1:
            for item in decoded:
                _enrich(step, [item], opts)
            return
        message = exc.message if isinstance(exc, AssetLoomError) else f"{type(exc).__name__}: {exc}"
        decoded[0][0].metadata.setdefault("enrich_errors", {})[step.name] = message


_STEP_FIELDS = ("metadata", "text_content", "embeddings", "embedding_model", "passages")


def _state(rec: Prepared) -> dict[str, object]:
    """What an enricher may change on a record (shallow copies: steps replace or append)."""
    state: dict[str, object] = {"segment_vectors": list(rec.segment_vectors)}
    for name in _STEP_FIELDS:
        value = getattr(rec, name)
        state[name] = value.copy() if isinstance(value, dict | list) else value
    return state


def _restore(rec: Prepared, state: dict[str, object]) -> None:
    for name, value in state.items():
        setattr(rec, name, value)


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _prepare(path: Path, limits: Options, query: bool) -> tuple[Prepared, ModelInputs]:
    where = display_path(path)
    try:
        st = path.stat()
        if st.st_size == 0:
            raise BadInputError(f"{where}: empty file (0 bytes)")
        if st.st_size > limits.max_file_bytes:
            raise BadInputError(
                f"{where}: {st.st_size} bytes is over the {limits.max_file_bytes}-byte limit",
                hint="raise max_file_bytes in assetloom.toml if this is intended",
            )
        with path.open("rb") as fh:
            head = fh.read(8192)
        sha = sha256_file(path)
    except PermissionError as exc:
        raise BadInputError(f"{where}: permission denied", hint="check the file's mode") from exc
    except OSError as exc:
        raise BadInputError(f"{where}: cannot read ({exc.strerror or exc})") from exc
    kind = sniff(where, head)
    record = Prepared(str(path), sha, st.st_size, st.st_mtime_ns, kind.media_type, kind.mime)
    return record, kind.extractor.extract(path, record, limits, query=query)
