"""Checks on uploaded files: archives and images are recognised by their bytes, never their names."""

import gzip
import hashlib
import io
import re
import tarfile
import tempfile
import zipfile
from typing import BinaryIO

from werkzeug.datastructures import FileStorage

from marketplace_shared.errors import PAYLOAD_TOO_LARGE, ApiError, validation_error

IMAGE_TYPES = {"png": "image/png", "jpeg": "image/jpeg", "gif": "image/gif", "webp": "image/webp"}
IMAGE_EXTENSIONS = {"png": "png", "jpeg": "jpg", "gif": "gif", "webp": "webp"}
_SAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")


def read_limited(file: FileStorage, limit: int, field: str) -> bytes:
    """Read an uploaded file, refusing it (413) as soon as it exceeds `limit` bytes."""
    data = file.stream.read(limit + 1)
    if len(data) > limit:
        raise ApiError(413, PAYLOAD_TOO_LARGE, f"'{field}' is larger than the limit of {limit} bytes",
                       {"field": field, "limit": limit})
    if not data:
        raise validation_error(f"'{field}' is empty", {"fields": {field: ["File is empty."]}})
    return data


def spool_limited(file: FileStorage, limit: int, field: str) -> tuple[BinaryIO, int, str]:
    """Copy an upload to a temporary file (kept in memory only up to 1 MiB) while hashing it.

    Returns the file (rewound), its size and its SHA-256; refuses it (413) as soon as it exceeds
    `limit` bytes. The caller closes the file.
    """
    spooled = tempfile.SpooledTemporaryFile(max_size=1024 * 1024)  # noqa: SIM115 - handed to the caller
    digest, size = hashlib.sha256(), 0
    while chunk := file.stream.read(64 * 1024):
        size += len(chunk)
        if size > limit:
            spooled.close()
            raise ApiError(413, PAYLOAD_TOO_LARGE, f"'{field}' is larger than the limit of {limit} bytes",
                           {"field": field, "limit": limit})
        digest.update(chunk)
        spooled.write(chunk)
    if size == 0:
        spooled.close()
        raise validation_error(f"'{field}' is empty", {"fields": {field: ["File is empty."]}})
    spooled.seek(0)
    return spooled, size, digest.hexdigest()


def safe_filename(name: str | None, default: str) -> str:
    """A display-only file name: the last path segment, with unusual characters replaced."""
    base = (name or "").replace("\\", "/").rsplit("/", 1)[-1]
    base = _SAFE_NAME.sub("_", base).strip("._")[:100]
    return base or default


def image_kind(data: bytes) -> str | None:
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if data.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return "gif"
    if len(data) >= 12 and data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "webp"
    return None


def check_image(data: bytes, field: str) -> str:
    kind = image_kind(data)
    if kind is None:
        raise validation_error(f"'{field}' is not a PNG, JPEG, GIF or WebP image",
                               {"fields": {field: ["Must be a PNG, JPEG, GIF or WebP image (SVG is not accepted)."]}})
    return kind


def _bad_package(reason: str) -> ApiError:
    return validation_error(f"'package' is not a valid archive: {reason}",
                            {"fields": {"package": [f"Must be a .tgz, .zip or .jar archive: {reason}."]}})


def _check_member(name: str) -> None:
    normalized = name.replace("\\", "/")
    if normalized.startswith("/") or ".." in normalized.split("/") or re.match(r"^[A-Za-z]:", normalized):
        raise _bad_package(f"unsafe path '{name[:100]}' in the archive")


def check_package(source: bytes | BinaryIO, filename: str | None) -> str:
    """The archive format ('tgz', 'zip' or 'jar') after reading the whole archive; else a 400."""
    if isinstance(source, bytes | bytearray):
        source = io.BytesIO(source)
    head = source.read(4)
    source.seek(0)
    try:
        return _archive_format(source, head, filename)
    finally:
        source.seek(0)


def _archive_format(source: BinaryIO, head: bytes, filename: str | None) -> str:
    if head.startswith(b"\x1f\x8b"):
        try:
            with tarfile.open(fileobj=source, mode="r:gz") as archive:
                members = archive.getmembers()
        except (tarfile.TarError, OSError, EOFError, gzip.BadGzipFile) as exc:
            raise _bad_package("corrupt gzip/tar data") from exc
        if not members:
            raise _bad_package("the archive is empty")
        for member in members:
            _check_member(member.name)
        return "tgz"
    if head.startswith(b"PK\x03\x04"):
        try:
            with zipfile.ZipFile(source) as archive:
                names = archive.namelist()
                broken = archive.testzip()
        except (zipfile.BadZipFile, OSError, EOFError, NotImplementedError) as exc:
            raise _bad_package("corrupt zip data") from exc
        if broken is not None:
            raise _bad_package(f"corrupt entry '{broken[:100]}'")
        if not names:
            raise _bad_package("the archive is empty")
        for name in names:
            _check_member(name)
        return "jar" if (filename or "").lower().endswith(".jar") or "META-INF/MANIFEST.MF" in names else "zip"
    raise _bad_package("unrecognised content")
