"""``client.plugins``: discovery (list, search, details, versions, stats), download, install."""

from __future__ import annotations

import base64
import builtins
import hashlib
import os
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import requests

from .._util import camel_keys
from ..errors import MarketplaceError
from ..pagination import Item, Page
from ._base import Resource, seg


@dataclass(frozen=True)
class Download:
    """The result of :meth:`PluginsResource.download`."""

    plugin_id: str
    version: str
    size: int
    sha256: str  # hex digest of the bytes received
    path: Path | None  # where it was written, when a path was given
    etag: str | None
    content_type: str | None

    @property
    def integrity(self) -> str:
        """Subresource-integrity form of the digest (``sha256-<base64>``)."""
        return "sha256-" + base64.b64encode(bytes.fromhex(self.sha256)).decode()


class PluginsResource(Resource):
    """Discover, download and install plugins."""

    def list(self, *, page: int | None = None, limit: int | None = None, search: str | None = None,
             category: str | None = None, tags: str | Sequence[str] | None = None, sort: str | None = None,
             order: str | None = None, verified: bool | None = None, featured: bool | None = None,
             min_rating: float | None = None, compatibility: str | None = None, **extra: Any) -> Page:
        """``GET /plugins``: one page of plugins; every query parameter of the spec, in snake_case.

        Iterate the page for its plugins, or call ``.iter_all()`` on it to walk every page.
        """
        params = camel_keys({"page": page, "limit": limit, "search": search, "category": category, "tags": tags,
                             "sort": sort, "order": order, "verified": verified, "featured": featured,
                             "min_rating": min_rating, "compatibility": compatibility, **extra})
        return self._page("/plugins", params)

    def iter_all(self, *, limit: int = 100, **filters: Any) -> Iterator[Item]:
        """Every plugin that matches the filters (same arguments as :meth:`list`), page after page."""
        return self.list(limit=limit, **filters).iter_all()

    def get(self, plugin_id: str) -> Item:
        """``GET /plugins/{pluginId}``: every detail of one plugin (the id or the name works).

        Raises :class:`~backstage_marketplace.PluginNotFound` when it does not exist.
        """
        return self._item("GET", f"/plugins/{seg(plugin_id)}")

    def versions(self, plugin_id: str, *, page: int | None = None, limit: int | None = None) -> Page:
        """``GET /plugins/{pluginId}/versions``: its versions, newest first (yanked ones carry their reason)."""
        return self._page(f"/plugins/{seg(plugin_id)}/versions", camel_keys({"page": page, "limit": limit}))

    def get_version(self, plugin_id: str, version: str) -> Item:
        """``GET /plugins/{pluginId}/versions/{version}``: one version with its package (size, sha256, integrity)."""
        return self._item("GET", f"/plugins/{seg(plugin_id)}/versions/{seg(version)}")

    def search(self, query: str | None = None, *, filters: Mapping[str, Any] | None = None,
               sort: str | Mapping[str, Any] | None = None, order: str | None = None,
               page: int | None = None, limit: int | None = None, **filter_fields: Any) -> Page:
        """``POST /plugins/search``: full-text search with filters.

        ``filters`` is the spec's object (``categories``, ``tags``, ``minRating``, ``maxPrice``,
        ``verified``, ``featured``, ``compatibility``); snake_case keyword arguments are added to it
        (``client.plugins.search("kubernetes", categories=["infrastructure"], min_rating=4)``).
        ``sort`` is a field name (``relevance``, ``name``, ``popularity``, ``updated``, ``rating``) or the
        spec's ``{"field", "order"}`` object.
        """
        body_filters = {**(filters or {}), **camel_keys(filter_fields)}
        body: dict[str, Any] = {}
        if query is not None:
            body["query"] = query
        if body_filters:
            body["filters"] = body_filters
        if isinstance(sort, Mapping):
            body["sort"] = dict(sort)
        elif sort is not None or order is not None:
            body["sort"] = {key: value for key, value in (("field", sort), ("order", order)) if value is not None}

        def fetch(number: int) -> Page:
            pagination = {"page": number, **({"limit": limit} if limit is not None else {})}
            return Page(self._client.send_json("POST", "/plugins/search", json={**body, "pagination": pagination}),
                        fetch)

        return fetch(page or 1)

    def stats(self, plugin_id: str) -> Item:
        """``GET /plugins/{pluginId}/stats``: usage, performance and trends."""
        return self._item("GET", f"/plugins/{seg(plugin_id)}/stats")

    def categories(self) -> builtins.list[Item]:
        """``GET /categories``: every category with its plugin count."""
        return self._items("GET", "/categories")

    def tags(self) -> builtins.list[Item]:
        """``GET /tags``: every tag with its plugin count."""
        return self._items("GET", "/tags")

    def install(self, plugin_id: str, options: Mapping[str, Any] | None = None, *,
                idempotency_key: str | None = None, **fields: Any) -> Item:
        """``POST /plugins/{pluginId}/install``: start an installation and return it (``pending``/``in_progress``).

        ``options`` is the spec's body (``version``, ``configuration``, ``environment``, ``namespace``,
        ``deploymentStrategy``, ``autoStart``); keyword arguments in snake_case are merged into it.
        Give an ``idempotency_key`` to make retrying the call safe. Follow the installation with
        ``client.installations.wait(installation["installationId"])``.
        """
        body = {**(options or {}), **camel_keys(fields)}
        headers = {"Idempotency-Key": idempotency_key} if idempotency_key else None
        return self._item("POST", f"/plugins/{seg(plugin_id)}/install", json=body, headers=headers)

    def telemetry(self, plugin_id: str, metrics: Mapping[str, Any]) -> Any:
        """``POST /plugins/{pluginId}/telemetry``: report usage figures from an installation."""
        return self._item("POST", f"/plugins/{seg(plugin_id)}/telemetry", json=dict(metrics))

    def download(self, plugin_id: str, version: str | None = None,
                 dest: str | os.PathLike[str] | IO[bytes] | None = None, *, chunk_size: int = 65536,
                 expected_integrity: str | None = None) -> Download:
        """Download a version's package (the latest version when none is given), streaming it.

        ``dest`` is a file path, a directory (the file is named ``<name>-<version>.<ext>``), or a binary
        file object; with ``None`` the package goes to the current directory. The SHA-256 of the bytes
        is computed while they arrive and, when ``expected_integrity`` (``sha256-<base64>`` or hex) is
        given, checked; otherwise it is checked against the ``X-Integrity`` header the server sends. A
        mismatch raises :class:`MarketplaceError` (code ``INTEGRITY_MISMATCH``) and removes a file it wrote.
        """
        plugin_name = plugin_id
        if version is None:
            details = self.get(plugin_id)
            version = details.get("version")
            plugin_name = details.get("name") or plugin_id
            if not version:
                raise MarketplaceError(f"plugin {plugin_id!r} has no installable version", code="NO_VERSION")
        response = self._client.request("GET", f"/plugins/{seg(plugin_id)}/versions/{seg(version)}/package",
                                        stream=True, headers={"Accept": "*/*"})
        digest = hashlib.sha256()
        size = 0
        path: Path | None = None
        target: IO[bytes]
        close = False
        if dest is not None and hasattr(dest, "write"):
            target = dest  # type: ignore[assignment]
        else:
            path = Path(dest) if dest is not None else Path.cwd()
            if path.is_dir():
                path = path / _file_name(response, plugin_name, version)
            target = open(path, "wb")  # noqa: SIM115 - closed below, removed on a bad digest
            close = True
        try:
            with response:
                for chunk in response.iter_content(chunk_size):
                    if chunk:
                        digest.update(chunk)
                        target.write(chunk)
                        size += len(chunk)
        finally:
            if close:
                target.close()
        result = Download(plugin_id=plugin_id, version=version, size=size, sha256=digest.hexdigest(), path=path,
                          etag=response.headers.get("ETag"), content_type=response.headers.get("Content-Type"))
        expected_integrity = expected_integrity or response.headers.get("X-Integrity")
        if expected_integrity and not _integrity_matches(expected_integrity, result.sha256):
            if path is not None and close:
                path.unlink(missing_ok=True)
            raise MarketplaceError(f"downloaded package does not match {expected_integrity}",
                                   code="INTEGRITY_MISMATCH", details={"sha256": result.sha256})
        return result


def _file_name(response: requests.Response, plugin_name: str, version: str) -> str:
    disposition = response.headers.get("Content-Disposition", "")
    for part in disposition.split(";"):
        key, _, value = part.strip().partition("=")
        if key.lower() == "filename" and value:
            name = os.path.basename(value.strip().strip('"'))
            if name and name not in (".", ".."):
                return name
    ext = {"application/zip": "zip", "application/java-archive": "jar"}.get(
        response.headers.get("Content-Type", "").split(";")[0], "tgz")
    safe = "".join(c if c.isalnum() or c in "-_." else "-" for c in plugin_name.lstrip("@"))
    return f"{safe}-{version}.{ext}"


def _integrity_matches(expected: str, sha256_hex: str) -> bool:
    expected = expected.strip()
    if expected.startswith("sha256-"):
        return base64.b64decode(expected[7:]) == bytes.fromhex(sha256_hex)
    return expected.lower().removeprefix("sha256:").removeprefix("sha256=") == sha256_hex
