"""Checks on uploaded files: archives and images are recognised by their bytes, never their names."""

import gzip
import io
import re
import tarfile
import zipfile

from werkzeug.datastructures import FileStorage

from marketplace_shared.errors import PAYLOAD_TOO_LARGE, ApiError, validation_error

IMAGE_TYPES = {"png": "image/png", "jpeg": "image/jpeg", "gif": "image/gif", "webp": "image/webp"}
IMAGE_EXTENSIONS = {"png": "png", "jpeg": "jpg", "gif": "gif", "webp": "webp"}
PACKAGE_TYPES = {"tgz": "application/gzip", "zip": "application/zip", "jar": "application/java-archive"}
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


def check_package(data: bytes, filename: str | None) -> str:
    """The archive format ('tgz', 'zip' or 'jar') after reading the whole archive; else a 400."""
    if data.startswith(b"\x1f\x8b"):
        try:
            with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as archive:
                members = archive.getmembers()
        except (tarfile.TarError, OSError, EOFError, gzip.BadGzipFile) as exc:
            raise _bad_package("corrupt gzip/tar data") from exc
        if not members:
            raise _bad_package("the archive is empty")
        for member in members:
            _check_member(member.name)
        return "tgz"
    if data.startswith(b"PK\x03\x04"):
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as archive:
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
