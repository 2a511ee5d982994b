"""An export's output in an object store: ``s3://BUCKET/PREFIX`` on S3 or any store that
speaks its API (R2, GCS, MinIO, Ceph), through botocore (boto3's core).

Each object is written whole by one PUT (a reader sees the old bytes or the new, never a
part), checked on arrival against its MD5, with its Content-Type and Cache-Control. The
manifest is an object beside them, ``PREFIX/.feeds-export.json``: it holds each object's
MD5, so an unchanged document is never uploaded again, and it is written before the
documents (naming what the round may leave behind) and after them. Credentials, region and
endpoint are the standard AWS settings (``AWS_*`` variables, ``~/.aws``); a request that
fails is retried with backoff (``AWS_MAX_ATTEMPTS``, ``AWS_RETRY_MODE``).
"""

from __future__ import annotations

import base64
import functools
import hashlib
import logging
import random
import re
import threading
import time
from collections.abc import Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from ..errors import ConfigError, FeedsError, Refusal
from .manifest import MANIFEST, Manifest, Stamp, is_safe
from .report import ExportReport

SCHEME = "s3://"
UPLOADS = 16
"""Objects uploaded at once."""
IN_FLIGHT = 64
"""Documents held in memory, at most, while they wait for their upload."""
_BUCKET = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")
_DELETED_AT_ONCE = 1000
"""What one DeleteObjects request may name (the S3 API's limit)."""
AGAIN_AFTER = (1.0, 2.0, 4.0, 8.0)
"""Seconds (give or take a quarter) after which an upload that failed for a passing reason
is tried again, once botocore's own attempts are spent: it stops retrying when many
requests fail at once (its retry quota), as all of an export's do when a store restarts."""


class StoreError(FeedsError):
    """The store failed a request after its retries: nothing is lost, the next export
    completes the work."""

    exit_code = 1


def is_store(out: str) -> bool:
    """Whether an export's OUT names an object store rather than a folder."""
    return out[:5].lower() == SCHEME


@dataclass(frozen=True, slots=True)
class StoreAddress:
    """A bucket and the prefix under which an export's objects go (``""`` or ``a/b/``)."""

    bucket: str
    prefix: str

    @classmethod
    def parse(cls, text: str) -> StoreAddress:
        """The address ``s3://BUCKET[/PREFIX]``. Raises ConfigError for an address with no
        bucket, a bucket name S3 refuses, or a prefix that could climb out of itself."""
        rest = text[len(SCHEME) :]
        bucket, _, prefix = rest.partition("/")
        if not bucket:
            raise ConfigError(f"{text}: no bucket named (s3://BUCKET/PREFIX)")
        if not _BUCKET.fullmatch(bucket) or ".." in bucket:
            raise ConfigError(f"{text}: {bucket!r} is not a bucket name (3-63 of a-z, 0-9, '.', '-')")
        prefix = prefix.rstrip("/")
        parts = prefix.split("/")
        if prefix and (
            any(p in {"", ".", ".."} for p in parts) or "\\" in prefix or any(ord(c) < 32 for c in prefix)
        ):
            raise ConfigError(
                f"{text}: the prefix {prefix!r} has an empty, '.' or '..' part, or a control character"
            )
        return cls(bucket, f"{prefix}/" if prefix else "")

    def key(self, name: str) -> str:
        """The key of file ``name`` (relative, checked by :func:`is_safe`): below the prefix."""
        if not is_safe(name):
            raise ValueError(f"unsafe file name {name!r}")
        return self.prefix + name

    def __str__(self) -> str:
        return f"{SCHEME}{self.bucket}/{self.prefix}"


def connect(address: StoreAddress) -> Any:
    """A client of the store, once it has answered for the bucket. Raises FeedsError (exit
    2) for a missing extra, no credentials, a bucket that is not there, refused
    credentials or a store that cannot be reached: before anything is written."""
    try:
        import botocore.session
        from botocore.config import Config
    except ImportError:
        raise ConfigError(f"{address}: object storage needs the s3 extra: pip install 'feeds[s3]'") from None
    logging.getLogger("botocore").setLevel(logging.WARNING)  # where it found the credentials: not news
    config = Config(
        retries={"mode": "standard"},
        # Stores that speak S3 but not its newer checksums (older MinIO and Ceph) refuse
        # what botocore sends by default; an object is checked by its Content-MD5 instead.
        request_checksum_calculation="when_required",
        response_checksum_validation="when_required",
        max_pool_connections=UPLOADS,
        connect_timeout=10,
        read_timeout=60,
    )
    try:
        client = botocore.session.get_session().create_client("s3", config=config)
        client.head_bucket(Bucket=address.bucket)
    except Exception as err:  # botocore's errors, raised with the client
        raise Refusal(f"cannot export to {address}: {_why(err, address)}") from None
    return client


class StoreTree:
    """The objects under one prefix of a bucket, as an export's :class:`Destination`."""

    def __init__(self, address: StoreAddress, client: Any) -> None:
        self.address = address
        self.client = client
        self._stored: dict[str, str] = {}
        """The MD5 of each object, as the manifest read says."""
        self._placed: dict[str, str] = {}
        """The MD5 of each object this round put in place or found in place."""
        self._pending: list[tuple[str, str, Future[None]]] = []
        self._pool: ThreadPoolExecutor | None = None
        self._slots = threading.BoundedSemaphore(IN_FLIGHT)
        self._failed: str | None = None
        self._manifest = b""
        """The manifest's bytes in the store, as last read or written."""

    def __enter__(self) -> StoreTree:
        return self

    def __exit__(self, *_: object) -> None:
        self._stop()

    def descriptors(self) -> list[int]:
        return []

    def read_manifest(self) -> Manifest:
        try:
            answer = self.client.get_object(Bucket=self.address.bucket, Key=self.address.key(MANIFEST))
            self._manifest = answer["Body"].read()
            manifest = Manifest.decode(self._manifest)
        except Exception as err:
            if _code(err) in {"NoSuchKey", "404"}:
                return Manifest(set())
            raise StoreError(f"cannot read {self.address}{MANIFEST}: {_why(err, self.address)}") from None
        self._stored = {
            name: stamp for name, (_, stamp) in manifest.entries.items() if isinstance(stamp, str)
        }
        return manifest

    def save_manifest(self, manifest: Manifest, report: ExportReport) -> None:
        """Write the manifest (no cache may keep it), or raise: the first write of an export
        that may not write here is refused before any document (exit 2)."""
        data = manifest.encode()
        if data == self._manifest:
            return
        try:
            self._put(MANIFEST, data, "application/json", "no-store")
            self._manifest = data
        except Exception as err:
            error = Refusal if _code(err) in {"AccessDenied", "403"} else StoreError
            raise error(f"cannot write {self.address}{MANIFEST}: {_why(err, self.address)}") from None

    def check_writable(self, folders: Iterable[str]) -> None:
        pass  # told by the first write, the manifest's

    def remove_leftover_temps(self, folders: Iterable[str]) -> None:
        pass  # a PUT leaves nothing behind

    def holds(self, name: str, entry: tuple[str, Stamp] | None, fingerprint: str | None) -> bool:
        """Whether the manifest says the object is made of the same parts. Unlike a folder's
        files, an object is not looked at: the export is its only writer."""
        return (
            entry is not None
            and fingerprint is not None
            and entry[0] == fingerprint
            and isinstance(entry[1], str)
        )

    def differs(self, name: str, data: bytes) -> bool:
        return self._stored.get(name) != _md5(data)

    def write(
        self, name: str, data: bytes, report: ExportReport, *, content_type: str, cache_control: str
    ) -> None:
        """Upload ``data`` unless the object holds these bytes already, in the background:
        :meth:`commit` waits for it. After a failed upload, nothing more is sent."""
        digest = _md5(data)
        if self._stored.get(name) == digest:
            self._placed[name] = digest
            report.unchanged.append(name)
            return
        if self._failed is not None:
            raise StoreError(self._failed)
        if self._pool is None:
            self._pool = ThreadPoolExecutor(UPLOADS, thread_name_prefix="upload")
        self._slots.acquire()
        future = self._pool.submit(self._upload, name, data, content_type, cache_control, digest)
        future.add_done_callback(functools.partial(self._done, name))
        self._pending.append((name, digest, future))

    def _done(self, name: str, future: Future[None]) -> None:
        self._slots.release()
        err = None if future.cancelled() else future.exception()
        if err is not None and self._failed is None:
            why = _why(err, self.address)
            self._failed = f"cannot upload {self.address}{name}: {why} (the next export completes the work)"

    def commit(self, report: ExportReport) -> None:
        """Wait for every upload begun: each is then in place, or the round stops here with
        StoreError (exit 1), the later stages not begun."""
        pending, self._pending = self._pending, []
        for name, digest, future in pending:
            try:
                future.result()
            except Exception as err:  # its message is _failed's, or a later one
                report.failures.append(f"{name}: {_why(err, self.address)}")
                continue
            self._placed[name] = digest
            self._stored[name] = digest
            report.written.append(name)
        self._stop()  # no thread outlives a stage: an export's renderers are forked
        if self._failed is not None:
            raise StoreError(self._failed)

    def stamp(self, name: str) -> Stamp | None:
        return self._placed.get(name)

    def remove_all(self, names: Iterable[str], report: ExportReport) -> set[str]:
        ordered = sorted(names)
        kept: set[str] = set()
        for start in range(0, len(ordered), _DELETED_AT_ONCE):
            batch = ordered[start : start + _DELETED_AT_ONCE]
            keys = {self.address.key(name): name for name in batch}
            try:
                answer = self.client.delete_objects(
                    Bucket=self.address.bucket,
                    Delete={"Objects": [{"Key": key} for key in keys], "Quiet": True},
                )
            except Exception as err:
                raise StoreError(f"cannot remove from {self.address}: {_why(err, self.address)}") from None
            refused = {
                keys[error["Key"]]: error.get("Message", "refused") for error in answer.get("Errors", [])
            }
            for name in batch:
                if name in refused:
                    kept.add(name)
                    report.failures.append(f"{name}: cannot remove: {refused[name]}")
                else:
                    report.removed.append(name)
                    self._stored.pop(name, None)
        return kept

    def remove_empty_folders(self, names: Iterable[str]) -> None:
        pass  # a store has no folders

    def sync(self) -> None:
        pass  # an object is durable when its PUT is answered

    def _upload(self, name: str, data: bytes, content_type: str, cache_control: str, digest: str) -> None:
        """Put an object, again after a while if it failed for a passing reason (the network,
        a store that is busy or restarting), unless another upload has failed for good."""
        for delay in (*AGAIN_AFTER, None):
            try:
                self._put(name, data, content_type, cache_control, digest)
                return
            except Exception as err:
                if delay is None or not _passing(err) or self._failed is not None:
                    raise
            time.sleep(delay * random.uniform(0.75, 1.25))  # apart from the other uploads'

    def _put(
        self, name: str, data: bytes, content_type: str, cache_control: str, digest: str | None = None
    ) -> None:
        digest = digest or _md5(data)
        self.client.put_object(
            Bucket=self.address.bucket,
            Key=self.address.key(name),
            Body=data,
            ContentType=content_type,
            CacheControl=cache_control,
            ContentMD5=base64.b64encode(bytes.fromhex(digest)).decode(),
        )

    def _stop(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None


def _md5(data: bytes) -> str:
    return hashlib.md5(data, usedforsecurity=False).hexdigest()


def _passing(err: BaseException) -> bool:
    """Whether a request failed for a reason that passes: no connection, a timeout, the store
    answering 5xx or asking to slow down."""
    from botocore.exceptions import ClientError, ConnectionError, HTTPClientError

    if isinstance(err, ConnectionError | HTTPClientError):
        return True
    if isinstance(err, ClientError):
        status = err.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
        return bool(
            status >= 500 or status == 429 or _code(err) in {"SlowDown", "Throttling", "RequestTimeout"}
        )
    return False


def _code(err: BaseException) -> str:
    response = getattr(err, "response", None)
    return str(response.get("Error", {}).get("Code", "")) if isinstance(response, dict) else ""


def _why(err: BaseException, address: StoreAddress) -> str:
    """What went wrong, in one line and in a person's words where S3 has a code for it."""
    code = _code(err)
    if code in {"404", "NoSuchBucket"}:
        return f"no bucket {address.bucket!r} there"
    if code in {"403", "AccessDenied", "InvalidAccessKeyId", "SignatureDoesNotMatch"}:
        return "access denied: check the credentials (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, ~/.aws)"
    if type(err).__name__ == "NoCredentialsError":
        return "no credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or a profile in ~/.aws"
    return " ".join(str(err).split()) or type(err).__name__
