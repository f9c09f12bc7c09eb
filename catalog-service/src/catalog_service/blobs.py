"""Blob storage for packages and images: a small interface, a local directory and an S3-compatible bucket.

Keys are chosen by the service (`packages/<plugin>/<random>.<format>`), never derived from client file names.
A blob is either completely written or absent: the local store renames a finished temporary file into place,
S3 makes an object visible only once its single PUT or multipart upload completes (a failed multipart upload
is aborted). The stores raise their own exceptions (BlobError and its kinds); app.py maps them to the envelope.
"""

import io
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO, Protocol

CHUNK = 64 * 1024

Data = bytes | BinaryIO


class BlobStore(Protocol):
    def put(self, key: str, data: Data) -> None: ...
    def open(self, key: str) -> BinaryIO: ...
    def delete(self, key: str) -> None: ...
    def exists(self, key: str) -> bool: ...


class BlobError(Exception):
    """The store failed (unreachable, refused, out of space): the service answers 503."""


class BlobNotFound(BlobError, FileNotFoundError):
    """No blob under this key."""


class InvalidBlobKey(BlobError, ValueError):
    """A key that would leave the store's root or is not a valid object name."""


def _invalid_key() -> InvalidBlobKey:
    return InvalidBlobKey("Invalid storage key")


def _as_stream(data: Data) -> BinaryIO:
    return io.BytesIO(data) if isinstance(data, bytes | bytearray | memoryview) else data


class LocalBlobStore:
    """Blobs as files under one root; writes go to a temporary file renamed into place."""

    def __init__(self, root: str):
        self.root = Path(root).resolve()

    def _path(self, key: str) -> Path:
        path = (self.root / key).resolve()
        if self.root not in path.parents:
            raise _invalid_key()
        return path

    def put(self, key: str, data: Data) -> None:
        path = self._path(key)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".upload-")
        except OSError as exc:
            raise BlobError(f"cannot write {key}: {exc.strerror}") from exc
        try:
            with os.fdopen(fd, "wb") as handle:
                shutil.copyfileobj(_as_stream(data), handle, CHUNK)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, path)
        except BaseException as exc:
            Path(tmp).unlink(missing_ok=True)
            if isinstance(exc, OSError):
                raise BlobError(f"cannot write {key}: {exc.strerror}") from exc
            raise

    def open(self, key: str) -> BinaryIO:
        try:
            return open(self._path(key), "rb")
        except FileNotFoundError as exc:
            raise BlobNotFound(key) from exc
        except OSError as exc:
            raise BlobError(f"cannot read {key}: {exc.strerror}") from exc

    def delete(self, key: str) -> None:
        try:
            self._path(key).unlink(missing_ok=True)
        except OSError as exc:
            raise BlobError(f"cannot delete {key}: {exc.strerror}") from exc

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()


class S3BlobStore:
    """Blobs as objects in an S3-compatible bucket (AWS, MinIO, Ceph...), under an optional key prefix.

    Credentials come from boto3's standard chain (environment, ~/.aws, instance or task roles).
    Uploads stream through `upload_fileobj` (multipart above `multipart_threshold`), downloads stream
    the response body in chunks; neither holds a whole object in memory.
    """

    def __init__(self, bucket: str, prefix: str = "", endpoint_url: str | None = None, region: str | None = None,
                 client=None, multipart_threshold: int = 8 * 1024 * 1024, multipart_chunksize: int = 8 * 1024 * 1024):
        import boto3
        from boto3.s3.transfer import TransferConfig
        from botocore.config import Config as BotoConfig

        self.bucket = bucket
        self.prefix = prefix.strip("/") + "/" if prefix.strip("/") else ""
        if client is None:
            # Path-style addressing for custom endpoints: MinIO and Ceph rarely have wildcard DNS for buckets.
            boto_config = BotoConfig(retries={"mode": "standard"},
                                     s3={"addressing_style": "path" if endpoint_url else "auto"})
            client = boto3.session.Session().client("s3", endpoint_url=endpoint_url, region_name=region,
                                                    config=boto_config)
        self.client = client
        self.transfer = TransferConfig(multipart_threshold=multipart_threshold, multipart_chunksize=multipart_chunksize,
                                       max_concurrency=4)

    def _key(self, key: str) -> str:
        parts = key.split("/")
        if not key or "\\" in key or any(part in ("", ".", "..") for part in parts):
            raise _invalid_key()
        return self.prefix + key

    @staticmethod
    def _missing(exc) -> bool:
        error = exc.response.get("Error", {})
        return error.get("Code") in ("404", "NoSuchKey", "NotFound") or \
            exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") == 404

    def put(self, key: str, data: Data) -> None:
        from boto3.exceptions import Boto3Error
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            self.client.upload_fileobj(_as_stream(data), self.bucket, self._key(key), Config=self.transfer)
        except (Boto3Error, BotoCoreError, ClientError) as exc:
            raise BlobError(f"cannot write {key}: {exc}") from exc

    def open(self, key: str) -> BinaryIO:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            response = self.client.get_object(Bucket=self.bucket, Key=self._key(key))
        except ClientError as exc:
            if self._missing(exc):
                raise BlobNotFound(key) from exc
            raise BlobError(f"cannot read {key}: {exc}") from exc
        except BotoCoreError as exc:
            raise BlobError(f"cannot read {key}: {exc}") from exc
        return response["Body"]

    def iter_chunks(self, key: str, chunk_size: int = CHUNK) -> Iterator[bytes]:
        body = self.open(key)
        try:
            yield from body.iter_chunks(chunk_size)
        finally:
            body.close()

    def delete(self, key: str) -> None:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            self.client.delete_object(Bucket=self.bucket, Key=self._key(key))
        except (BotoCoreError, ClientError) as exc:
            raise BlobError(f"cannot delete {key}: {exc}") from exc

    def exists(self, key: str) -> bool:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            self.client.head_object(Bucket=self.bucket, Key=self._key(key))
        except ClientError as exc:
            if self._missing(exc):
                return False
            raise BlobError(f"cannot check {key}: {exc}") from exc
        except BotoCoreError as exc:
            raise BlobError(f"cannot check {key}: {exc}") from exc
        return True


def iter_blob(store: BlobStore, key: str) -> Iterator[bytes]:
    if hasattr(store, "iter_chunks"):
        yield from store.iter_chunks(key)
        return
    with store.open(key) as handle:
        while chunk := handle.read(CHUNK):
            yield chunk


def blob_store_from_config(config) -> BlobStore:
    if getattr(config, "ARTIFACT_S3_BUCKET", None):
        return S3BlobStore(config.ARTIFACT_S3_BUCKET, prefix=config.ARTIFACT_S3_PREFIX or "",
                           endpoint_url=config.ARTIFACT_S3_ENDPOINT_URL, region=config.ARTIFACT_S3_REGION)
    return LocalBlobStore(config.ARTIFACT_ROOT)
