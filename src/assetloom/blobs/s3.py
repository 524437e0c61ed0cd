"""Blobs in an S3 bucket (AWS, or an S3-compatible server such as SeaweedFS, MinIO or Ceph).

One bucket can hold a library's originals and derived files as two stores under two prefixes
that do not nest (`s3://media/lib/blobs` with `fan_out=True`, `s3://media/lib/derived` flat);
object keys mirror the local layout: `<prefix>/ab/cd/<sha256>` and `<prefix>/<key>`.

How the `blobs.base` rules hold on S3:
- atomic puts: S3 shows an object only once its PUT (or multipart complete) succeeded;
- integrity: every single-part PUT and every part carries Content-MD5, so bytes damaged on the
  way are refused by the server (BadDigest); with `sha256=` the content is hashed from the very
  buffers that are sent, and a mismatch stores nothing (single part: checked before sending;
  multipart: the upload is aborted instead of completed);
- no overwrite: `put_file` sends `If-None-Match: *` on the PUT and on the multipart complete; a
  412 means the key exists, which for a content key is the contract's no-op;
- durability: a PUT that returned is durable, so `durable=False` and `sync()` cost nothing.

Credentials and the endpoint come from the standard AWS environment (AWS_ACCESS_KEY_ID,
AWS_SECRET_ACCESS_KEY, AWS_ENDPOINT_URL_S3, AWS_REGION, profiles), read by boto3 itself: they
are never settings that AssetLoom stores.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import io
import logging
import math
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path, PurePosixPath
from typing import Any, BinaryIO, NoReturn
from urllib.parse import quote, urlsplit

from assetloom.blobs.base import BlobMissingError, BlobStoreError
from assetloom.errors import BadInputError

try:
    from botocore.exceptions import (
        BotoCoreError,
        ClientError,
        HTTPClientError,
        NoCredentialsError,
        PartialCredentialsError,
    )
    from botocore.exceptions import ConnectionError as BotoConnectionError
except ImportError as exc:  # pragma: no cover - only without the backends extras
    raise BlobStoreError(
        "S3 blob stores need boto3",
        hint="install requirements/backends.txt (scripts/setup.sh does)",
    ) from exc

log = logging.getLogger("assetloom.blobs")

MiB = 1 << 20
PART_SIZE = 8 * MiB  # also the multipart threshold: one part's worth is sent as a plain PUT
MIN_PART_SIZE = 5 * MiB  # S3's minimum for every part but the last
MAX_PARTS = 10_000  # S3's limit per upload: bigger files get bigger parts
MAX_PRESIGN_S = 7 * 24 * 3600  # SigV4 presigned URLs live at most a week
_CHUNK = MiB
_AUTH_CODES = frozenset(
    {
        "AccessDenied",
        "InvalidAccessKeyId",
        "SignatureDoesNotMatch",
        "InvalidToken",
        "ExpiredToken",
        "TokenRefreshRequired",
        "AuthorizationHeaderMalformed",
    }
)
_MISSING_CODES = frozenset({"NoSuchKey", "NotFound", "404"})


class S3BlobStore:
    """A `BlobStore` in an S3 bucket under a key prefix (see `blobs.base` for the contract)."""

    def __init__(
        self,
        bucket: str,
        prefix: str,
        client: Any,
        *,
        fan_out: bool = True,
        part_size: int = PART_SIZE,
        page_size: int = 1000,
        temp_dir: Path | None = None,
    ) -> None:
        """`client` is a boto3 S3 client (thread-safe, shared by every call); `page_size`
        bounds listings and delete batches (S3 allows up to 1000); `temp_dir` is where
        `local_path` downloads to (the system's temporary folder by default)."""
        if not bucket:
            raise BadInputError("an S3 blob store needs a bucket name")
        if part_size < MIN_PART_SIZE:
            raise BadInputError(f"S3 multipart parts must be at least {MIN_PART_SIZE} bytes")
        if not 1 <= page_size <= 1000:
            raise BadInputError("S3 lists and deletes at most 1000 keys per request")
        self.bucket = bucket
        self.prefix = prefix.strip("/")
        self.client = client
        self.fan_out = fan_out
        self.part_size = part_size
        self.page_size = page_size
        self.temp_dir = temp_dir

    @classmethod
    def from_url(
        cls,
        url: str,
        *,
        fan_out: bool = True,
        endpoint_url: str | None = None,
        connect_timeout: float = 5,
        read_timeout: float = 60,
        max_attempts: int = 3,
        **options: Any,
    ) -> S3BlobStore:
        """A store for "s3://BUCKET/PREFIX" with a client built from the AWS environment.

        SigV4 always (boto3 would presign with SigV2 otherwise), bounded timeouts and attempts
        (`max_attempts` counts the first try), path-style addressing when an endpoint URL is
        set (self-hosted servers rarely have per-bucket DNS names), and request checksums only
        where S3 requires them: we send Content-MD5 ourselves, which every S3 server checks,
        rather than botocore's default CRC32 headers, whose multipart rules differ by server.
        """
        parts = urlsplit(url)
        if parts.scheme != "s3" or not parts.netloc or parts.query or parts.fragment:
            raise BadInputError(
                f"{url!r} is not an S3 blob store URL", hint='write it as "s3://BUCKET/PREFIX"'
            )
        import boto3
        from botocore.config import Config

        custom = endpoint_url or os.environ.get("AWS_ENDPOINT_URL_S3")
        custom = custom or os.environ.get("AWS_ENDPOINT_URL")
        config = Config(
            signature_version="s3v4",
            connect_timeout=connect_timeout,
            read_timeout=read_timeout,
            retries={"total_max_attempts": max_attempts, "mode": "standard"},
            s3={"addressing_style": "path"} if custom else {},
            request_checksum_calculation="when_required",
        )
        try:
            # A session of its own: boto3's default one caches the credentials it read first.
            session = boto3.session.Session()
            client = session.client("s3", endpoint_url=endpoint_url, config=config)
        except ValueError as exc:  # a malformed endpoint URL
            raise BadInputError(
                f"cannot use the S3 endpoint for {url}: {exc}",
                hint="AWS_ENDPOINT_URL_S3 must be a URL such as http://127.0.0.1:8333",
            ) from exc
        except BotoCoreError as exc:
            raise BlobStoreError(
                f"cannot set up the S3 client for {url}: {exc}",
                hint="check the AWS_* environment variables and ~/.aws/config",
            ) from exc
        return cls(parts.netloc, parts.path, client, fan_out=fan_out, **options)

    # --- keys ------------------------------------------------------------------------------

    def object_key(self, key: str) -> str:
        """The S3 key that holds `key` (`<prefix>/ab/cd/<key>` with fan-out)."""
        return self._base + self._relative(key)

    @property
    def _base(self) -> str:
        return f"{self.prefix}/" if self.prefix else ""

    def _relative(self, key: str) -> str:
        segments = key.split("/")
        if not key or any(s in ("", ".", "..") for s in segments):
            raise BadInputError(f"blob key {key!r} is not a relative key")
        if self.fan_out:
            return "/".join(s for s in (key[:2], key[2:4], key) if s)
        return key

    def _key_of(self, name: str) -> str | None:
        """The blob key an S3 key holds, or None for an object outside this store's layout
        (a folder marker, a stray upload), which `keys()` then never reports."""
        rel = name[len(self._base) :]
        key = rel.rsplit("/", 1)[-1] if self.fan_out else rel
        try:
            return key if self._relative(key) == rel else None
        except BadInputError:
            return None

    def _list_prefix(self, prefix: str) -> str:
        """The narrowest S3 prefix that holds every key starting with `prefix`."""
        if not self.fan_out or len(prefix) < 2:
            return self._base + prefix
        if len(prefix) < 4:
            return f"{self._base}{prefix[:2]}/"
        return f"{self._base}{prefix[:2]}/{prefix[2:4]}/{prefix}"

    def _names(self, prefix: str) -> Iterator[tuple[str, str]]:
        """(blob key, S3 key) of every blob whose key starts with `prefix`."""
        paginator = self.client.get_paginator("list_objects_v2")
        pages = paginator.paginate(
            Bucket=self.bucket,
            Prefix=self._list_prefix(prefix),
            PaginationConfig={"PageSize": self.page_size},
        )
        with self._errors("list the blobs in"):
            for page in pages:
                for item in page.get("Contents", ()):
                    key = self._key_of(item["Key"])
                    if key is not None and key.startswith(prefix):
                        yield key, item["Key"]

    # --- reads -----------------------------------------------------------------------------

    def exists(self, key: str) -> bool:
        return self._head(self.object_key(key), key) is not None

    def size(self, key: str) -> int:
        head = self._head(self.object_key(key), key)
        if head is None:
            raise self._missing(key)
        return int(head["ContentLength"])

    def open(self, key: str) -> BinaryIO:
        """A buffered, seekable reader; a seek re-opens the stream at that offset."""
        raw = _ObjectReader(self, key, self._get(key))
        return io.BufferedReader(raw, buffer_size=_CHUNK)

    def read_bytes(self, key: str) -> bytes:
        body = self._get(key)["Body"]
        try:
            with self._errors("read", key):
                return body.read()
        finally:
            body.close()

    @contextlib.contextmanager
    def local_path(self, key: str) -> Iterator[Path]:
        """A downloaded copy in a private (0600) temporary file, removed when the block ends;
        it keeps the key's suffix (".webp") for tools that go by the name."""
        body = self._get(key)["Body"]
        fd, name = tempfile.mkstemp(
            prefix="assetloom-blob-", suffix=PurePosixPath(key).suffix, dir=self.temp_dir
        )
        path = Path(name)
        try:
            try:
                with os.fdopen(fd, "wb") as out, self._errors("download", key):
                    for chunk in body.iter_chunks(_CHUNK):
                        out.write(chunk)
            finally:
                body.close()
            yield path
        finally:
            path.unlink(missing_ok=True)

    # --- writes ----------------------------------------------------------------------------

    def put_file(
        self, key: str, source: Path, *, sha256: str | None = None, durable: bool = True
    ) -> None:
        """Upload `source` under `key` unless the key exists; refuse content that does not hash
        to `sha256`. Up to `part_size` bytes go as one PUT, more as a multipart upload."""
        name = self.object_key(key)
        with source.open("rb") as f:
            part_size = self._part_size_for(os.fstat(f.fileno()).st_size)
            first = _read_up_to(f, part_size)
            peek = f.read(1) if len(first) == part_size else b""
            if not peek:
                if sha256 is not None and hashlib.sha256(first).hexdigest() != sha256:
                    _changed(source)
                self._put(key, name, first, conditional=True)
                return
            if self._head(name, key) is not None:
                return  # already there: skip uploading what may be gigabytes
            self._put_multipart(key, name, _parts(f, first, peek, part_size), sha256, source)

    def put_bytes(self, key: str, data: bytes, *, durable: bool = True) -> None:
        """Store `data` under `key`, replacing what is there (as the local store does: derived
        files are regenerated in place)."""
        self._put(key, self.object_key(key), data, conditional=False)

    def delete(self, key: str) -> None:
        with self._errors("delete", key):
            self.client.delete_object(Bucket=self.bucket, Key=self.object_key(key))

    def delete_prefix(self, prefix: str) -> None:
        """Delete every blob whose key starts with `prefix`, up to 1000 per request. An empty
        prefix is refused: it would empty the whole store, which no caller means to do."""
        if not prefix:
            raise BadInputError(f"refusing to delete every blob in {self.describe()}")
        batch: list[dict[str, str]] = []
        for _, name in self._names(prefix):
            batch.append({"Key": name})
            if len(batch) == self.page_size:
                self._delete_batch(batch)
                batch = []
        if batch:
            self._delete_batch(batch)

    def keys(self, prefix: str = "") -> Iterator[str]:
        for key, _ in self._names(prefix):
            yield key

    def url(
        self, key: str, *, expires_s: int, filename: str | None = None, mime: str | None = None
    ) -> str | None:
        """A presigned GET the browser fetches from S3 directly (no request to S3 here)."""
        if not 1 <= expires_s <= MAX_PRESIGN_S:
            raise BadInputError(f"a presigned S3 URL lives 1 to {MAX_PRESIGN_S} s, not {expires_s}")
        params = {"Bucket": self.bucket, "Key": self.object_key(key)}
        if filename is not None:
            params["ResponseContentDisposition"] = content_disposition(filename)
        if mime is not None:
            params["ResponseContentType"] = mime
        with self._errors("sign a link to", key):
            return str(
                self.client.generate_presigned_url("get_object", Params=params, ExpiresIn=expires_s)
            )

    def sync(self) -> None:
        """Nothing to do: a PUT that succeeded is durable."""

    def location(self, key: str) -> str:
        return f"s3://{self.bucket}/{self.object_key(key)}"

    def describe(self) -> str:
        return f"s3://{self.bucket}/{self.prefix}" if self.prefix else f"s3://{self.bucket}"

    # --- S3 calls --------------------------------------------------------------------------

    def _head(self, name: str, key: str) -> dict[str, Any] | None:
        try:
            with self._errors("look up", key):
                return dict(self.client.head_object(Bucket=self.bucket, Key=name))
        except BlobMissingError:
            return None

    def _get(self, key: str, **extra: Any) -> dict[str, Any]:
        with self._errors("read", key):
            return dict(
                self.client.get_object(Bucket=self.bucket, Key=self.object_key(key), **extra)
            )

    def _put(self, key: str, name: str, data: bytes, *, conditional: bool) -> None:
        extra = {"IfNoneMatch": "*"} if conditional else {}
        try:
            with self._errors("store", key):
                self.client.put_object(
                    Bucket=self.bucket, Key=name, Body=data, ContentMD5=_md5(data), **extra
                )
        except _AlreadyThere:
            return

    def _put_multipart(
        self, key: str, name: str, parts: Iterator[bytes], sha256: str | None, source: Path
    ) -> None:
        """Upload part by part (one part in memory), then complete only if the content hashed
        right; anything else, an error included, aborts so no parts linger in the bucket."""
        with self._errors("start an upload of", key):
            upload = self.client.create_multipart_upload(Bucket=self.bucket, Key=name)
        upload_id = upload["UploadId"]
        finished = False
        try:
            digest = hashlib.sha256()
            done = []
            for number, data in enumerate(parts, start=1):
                if number > MAX_PARTS:
                    _changed(source)  # it grew past the part size chosen from its size
                digest.update(data)
                with self._errors("upload a part of", key):
                    answer = self.client.upload_part(
                        Bucket=self.bucket,
                        Key=name,
                        UploadId=upload_id,
                        PartNumber=number,
                        Body=data,
                        ContentMD5=_md5(data),
                    )
                done.append({"PartNumber": number, "ETag": answer["ETag"]})
            if sha256 is not None and digest.hexdigest() != sha256:
                _changed(source)
            try:
                with self._errors("complete the upload of", key):
                    self.client.complete_multipart_upload(
                        Bucket=self.bucket,
                        Key=name,
                        UploadId=upload_id,
                        MultipartUpload={"Parts": done},
                        IfNoneMatch="*",
                    )
                finished = True
            except _AlreadyThere:
                pass  # another put won the race: same content, and the upload is aborted below
        finally:
            if not finished:
                self._abort(name, upload_id)

    def _abort(self, name: str, upload_id: str) -> None:
        try:
            self.client.abort_multipart_upload(Bucket=self.bucket, Key=name, UploadId=upload_id)
        except (ClientError, BotoCoreError) as exc:  # the error that got us here matters more
            log.warning(
                "could not abort the multipart upload %s of s3://%s/%s (%s); a lifecycle rule "
                "with AbortIncompleteMultipartUpload removes such leftovers",
                upload_id,
                self.bucket,
                name,
                exc,
            )

    def _delete_batch(self, batch: list[dict[str, str]]) -> None:
        with self._errors("delete blobs in"):
            answer = self.client.delete_objects(
                Bucket=self.bucket, Delete={"Objects": batch, "Quiet": True}
            )
        failed = answer.get("Errors") or []
        if failed:
            first = failed[0]
            raise BlobStoreError(
                f"S3 did not delete {len(failed)} blob(s) in {self.describe()}: "
                f"{first.get('Key')}: {first.get('Code')} {first.get('Message', '')}".rstrip(),
                hint="run the command again; check the key may delete in this bucket",
            )

    def _part_size_for(self, size: int) -> int:
        """`part_size`, or bigger (in whole MiB) where the file needs over MAX_PARTS parts."""
        return max(self.part_size, math.ceil(size / MAX_PARTS / MiB) * MiB)

    # --- errors ----------------------------------------------------------------------------

    @contextlib.contextmanager
    def _errors(self, action: str, key: str | None = None) -> Iterator[None]:
        """Turn botocore's exceptions into ours: what failed, where, and what to do."""
        try:
            yield
        except ClientError as exc:
            self._raise_client_error(exc, action, key)
        except (NoCredentialsError, PartialCredentialsError) as exc:
            raise BlobStoreError(
                f"no usable S3 credentials for {self.describe()}: {exc}",
                hint="set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE",
            ) from exc
        except BotoConnectionError as exc:
            raise BlobStoreError(
                f"cannot reach the S3 endpoint {self._endpoint} for {self.describe()}: {exc}",
                hint="check that the S3 server runs and that AWS_ENDPOINT_URL_S3 names it; "
                "leave it unset for AWS itself",
            ) from exc
        except HTTPClientError as exc:
            raise BlobStoreError(
                f"lost the connection to the S3 endpoint {self._endpoint} while trying to "
                f"{action} {self._where(key)}: {exc}",
                hint="try again; check the network and that AWS_ENDPOINT_URL_S3 is right",
            ) from exc
        except BotoCoreError as exc:
            raise BlobStoreError(
                f"S3 could not {action} {self._where(key)}: {exc}",
                hint="check the AWS_* environment variables",
            ) from exc

    def _raise_client_error(self, exc: ClientError, action: str, key: str | None) -> NoReturn:
        error = exc.response.get("Error", {})
        code = str(error.get("Code", ""))
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        if code == "PreconditionFailed" or status == 412:
            raise _AlreadyThere() from exc
        if code == "NoSuchBucket":
            raise BlobStoreError(
                f"the S3 bucket {self.bucket} does not exist at {self._endpoint}",
                hint="create the bucket, or correct the bucket in the store's s3:// URL",
            ) from exc
        if key is not None and (code in _MISSING_CODES or status == 404):
            raise self._missing(key) from exc
        if status == 403 or code in _AUTH_CODES:
            during = f" when trying to {action} blob {key}" if key is not None else ""
            raise BlobStoreError(
                f"S3 refused the credentials for {self.describe()} ({code or status}){during}",
                hint="check AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, and that this key may "
                "read and write the bucket",
            ) from exc
        message = error.get("Message") or ""
        raise BlobStoreError(
            f"S3 could not {action} {self._where(key)}: {code or status} {message}".rstrip(),
            hint="see the S3 server's log; the operation is safe to retry",
        ) from exc

    @property
    def _endpoint(self) -> str:
        return str(getattr(self.client.meta, "endpoint_url", "") or "(default AWS endpoint)")

    def _where(self, key: str | None) -> str:
        return f"blob {key} in {self.describe()}" if key is not None else self.describe()

    def _missing(self, key: str) -> BlobMissingError:
        return BlobMissingError(
            f"blob {key} is missing from {self.describe()}",
            hint="restore the bucket from a backup, or remove the asset",
        )


class _AlreadyThere(BlobStoreError):
    """A precondition failed (HTTP 412): for `If-None-Match: *` the key is taken, the put's
    no-op; callers catch it (a BlobStoreError only so that one never leaks untranslated)."""

    def __init__(self) -> None:
        super().__init__("S3 answered 412: a precondition of the request failed")


class _ObjectReader(io.RawIOBase):
    """A seekable raw reader over one stored object. A seek only moves the offset; the next
    read opens a Range GET there, pinned with If-Match to the first response's ETag, so a blob
    replaced in between fails loudly instead of splicing two versions."""

    def __init__(self, store: S3BlobStore, key: str, response: dict[str, Any]) -> None:
        super().__init__()
        self._store = store
        self._key = key
        self._body: Any = response["Body"]
        self._size = int(response["ContentLength"])
        self._etag = response.get("ETag")
        self._pos = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        if whence == io.SEEK_SET:
            pos = offset
        elif whence == io.SEEK_CUR:
            pos = self._pos + offset
        elif whence == io.SEEK_END:
            pos = self._size + offset
        else:
            raise ValueError(f"invalid whence {whence}")
        if pos < 0:
            raise OSError(f"negative seek position {pos}")
        if pos != self._pos:
            self._drop_body()
            self._pos = pos
        return pos

    def readinto(self, buffer: Any) -> int:
        if self._pos >= self._size or len(buffer) == 0:
            return 0
        if self._body is None:
            extra = {"Range": f"bytes={self._pos}-"}
            if self._etag:
                extra["IfMatch"] = self._etag
            try:
                self._body = self._store._get(self._key, **extra)["Body"]
            except _AlreadyThere as exc:  # 412 on If-Match: a new version under this key
                raise BlobStoreError(
                    f"blob {self._key} in {self._store.describe()} was replaced while it was "
                    "being read",
                    hint="read it again",
                ) from exc
        with self._store._errors("read", self._key):
            data = self._body.read(len(buffer))
        n = len(data)
        buffer[:n] = data
        self._pos += n
        return n

    def close(self) -> None:
        self._drop_body()
        super().close()

    def _drop_body(self) -> None:
        if self._body is not None:
            self._body.close()
            self._body = None


def content_disposition(filename: str) -> str:
    """`inline` with the name (RFC 6266): a quoted ASCII fallback, plus `filename*` in UTF-8
    when the name has anything else, as the app's own file responses do."""
    fallback = "".join(c if " " <= c <= "~" and c not in '"\\' else "_" for c in filename)
    if fallback == filename:
        return f'inline; filename="{filename}"'
    return f"inline; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename, safe='')}"


def _md5(data: bytes) -> str:
    """Content-MD5: the server refuses the request when the bytes it got differ (BadDigest)."""
    return base64.b64encode(hashlib.md5(data, usedforsecurity=False).digest()).decode("ascii")


def _read_up_to(f: BinaryIO, size: int) -> bytes:
    """Up to `size` bytes: fewer only at the end of the file (a read may return less)."""
    chunks = []
    left = size
    while left:
        chunk = f.read(left)
        if not chunk:
            break
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


def _parts(f: BinaryIO, first: bytes, peek: bytes, part_size: int) -> Iterator[bytes]:
    """`first`, then the rest of `f` in `part_size` pieces (`peek` is its first byte)."""
    yield first
    while peek:
        part = peek + _read_up_to(f, part_size - 1)
        peek = f.read(1) if len(part) == part_size else b""
        yield part


def _changed(source: Path) -> NoReturn:
    raise BadInputError(
        f"{source} changed while it was being added",
        hint="add it again once nothing is writing to it",
    )
