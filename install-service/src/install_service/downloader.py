"""Fetching packages from the catalog over HTTP, with their SHA-256 checked; and a fake for tests."""

import base64
import hashlib
import logging
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from marketplace_shared.api import API_PREFIX
from marketplace_shared.identity import HEADER, Identity, issue_token

from .errors import DOWNLOAD_FAILED, PACKAGE_NOT_FOUND, PACKAGE_TOO_LARGE, JobFailed

log = logging.getLogger(__name__)


class DownloadError(JobFailed):
    """The package could not be fetched; `retryable` when another attempt may succeed."""

    def __init__(self, code: str, message: str, retryable: bool = False):
        super().__init__(code, message)
        self.retryable = retryable


@dataclass(frozen=True)
class Downloaded:
    path: Path
    size: int
    sha256: str
    integrity: str  # npm style: sha512-<base64>


class Downloader(Protocol):
    def download(self, plugin_id: str, version: str, package: dict, destination: Path, account_id: str,
                 on_progress: Callable[[int], None] | None = None) -> Downloaded:
        """Write the package to `destination` and return its size and digests (not yet compared)."""


def package_path(plugin_id: str, version: str, package: dict) -> str:
    path = package.get("path") or ""
    if path.startswith("/"):
        return path
    return f"{API_PREFIX}/plugins/{plugin_id}/versions/{version}/package"


def _write_stream(read: Callable[[int], bytes], destination: Path, max_bytes: int,
                  on_progress: Callable[[int], None] | None) -> Downloaded:
    sha256 = hashlib.sha256()
    sha512 = hashlib.sha512()
    size = 0
    last_report = time.monotonic()
    with open(destination, "wb") as out:
        while chunk := read(256 * 1024):
            size += len(chunk)
            if size > max_bytes:
                raise DownloadError(PACKAGE_TOO_LARGE, f"The package is larger than {max_bytes} bytes")
            sha256.update(chunk)
            sha512.update(chunk)
            out.write(chunk)
            if on_progress is not None and time.monotonic() - last_report > 1:
                last_report = time.monotonic()
                on_progress(size)
    integrity = "sha512-" + base64.b64encode(sha512.digest()).decode()
    return Downloaded(destination, size, sha256.hexdigest(), integrity)


class HttpDownloader:
    """GET <CATALOG_URL><package path>, as the installing account (a signed identity token)."""

    def __init__(self, base_url: str, token_secret: str, timeout: float = 30, attempts: int = 3,
                 max_bytes: int = 100 * 1024 * 1024):
        self.base_url = base_url.rstrip("/")
        self.token_secret = token_secret
        self.timeout = timeout
        self.attempts = max(1, attempts)
        self.max_bytes = max_bytes

    def download(self, plugin_id, version, package, destination, account_id, on_progress=None):
        url = self.base_url + package_path(plugin_id, version, package)
        for attempt in range(1, self.attempts + 1):
            try:
                return self._once(url, destination, account_id, on_progress)
            except DownloadError as exc:
                if not exc.retryable or attempt == self.attempts:
                    raise
                log.warning("download of %s failed (%s); retrying", url, exc.message)
                time.sleep(min(0.5 * 2 ** attempt, 5))
        raise AssertionError("unreachable")

    def _once(self, url, destination, account_id, on_progress) -> Downloaded:
        token = issue_token(self.token_secret, Identity(id=account_id, role="user"), ttl_seconds=300)
        request = urllib.request.Request(url, headers={HEADER: token, "Accept": "application/octet-stream"})
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310 - configured URL
                return _write_stream(response.read, destination, self.max_bytes, on_progress)
        except urllib.error.HTTPError as exc:
            retryable = exc.code >= 500 or exc.code == 429
            code = PACKAGE_NOT_FOUND if exc.code == 404 else DOWNLOAD_FAILED
            raise DownloadError(code, f"The catalog answered {exc.code} for {url}", retryable) from exc
        except (urllib.error.URLError, TimeoutError, ConnectionError, OSError) as exc:
            raise DownloadError(DOWNLOAD_FAILED, f"Could not download {url}: {exc}", True) from exc


class FakeDownloader:
    """Serves packages from memory: {(plugin_id, version): bytes}."""

    def __init__(self, packages: dict[tuple[str, str], bytes] | None = None):
        self.packages = dict(packages or {})
        self.requests: list[tuple[str, str, str]] = []

    def download(self, plugin_id, version, package, destination, account_id, on_progress=None):
        self.requests.append((plugin_id, version, account_id))
        body = self.packages.get((plugin_id, version))
        if body is None:
            raise DownloadError(PACKAGE_NOT_FOUND, f"No package for {plugin_id}@{version}")
        offset = 0

        def read(size: int) -> bytes:
            nonlocal offset
            chunk = body[offset:offset + size]
            offset += len(chunk)
            return chunk

        return _write_stream(read, destination, 1 << 40, on_progress)
