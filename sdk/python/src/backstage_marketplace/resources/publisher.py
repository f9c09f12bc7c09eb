"""``client.publisher``: create and maintain plugins, publish versions with their package, images."""

from __future__ import annotations

import json
import mimetypes
import os
from collections.abc import Mapping, Sequence
from contextlib import ExitStack
from pathlib import Path
from typing import IO, Any, Union

from .._util import camel_keys
from ..pagination import Item
from ._base import Resource, seg

#: A file to upload: a path, raw bytes, a binary file object, or a ``(file name, bytes or file object)`` pair.
FileInput = Union[str, "os.PathLike[str]", bytes, IO[bytes], tuple[str, bytes | IO[bytes]]]


class PublisherResource(Resource):
    """The publisher API (publisher or admin keys; only the owner or an admin may change a plugin)."""

    def create_plugin(self, metadata: Mapping[str, Any] | None = None, **fields: Any) -> Item:
        """``POST /plugins``: a new plugin from its metadata (``name``, ``displayName``, ``description``, …).

        It appears in the public catalog once it has a version. Keyword arguments in snake_case are
        merged into ``metadata``.
        """
        body = {**(metadata or {}), **camel_keys(fields)}
        return self._item("POST", "/plugins", json=body)

    def update_plugin(self, plugin_id: str, metadata: Mapping[str, Any] | None = None, **fields: Any) -> Item:
        """``PATCH /plugins/{pluginId}``: change metadata (admins also set ``verified`` and ``featured``)."""
        body = {**(metadata or {}), **camel_keys(fields)}
        return self._item("PATCH", f"/plugins/{seg(plugin_id)}", json=body)

    def publish_version(self, plugin_id: str, package: FileInput, metadata: Mapping[str, Any] | None = None,
                        **fields: Any) -> Item:
        """``POST /plugins/{pluginId}/versions``: upload a package (``.tgz``, ``.zip``, ``.jar``) with its metadata.

        ``metadata`` holds ``version`` (required), ``changelog``, ``compatibility``, ``dependencies``,
        ``configuration`` (``schema``/``defaults``/``examples``) and ``permissions``; keyword arguments
        in snake_case are merged into it. The package is streamed from disk when given as a path.
        """
        body = {**(metadata or {}), **camel_keys(fields)}
        with ExitStack() as stack:
            part = _file_part(package, "package.tgz", stack)
            return self._item("POST", f"/plugins/{seg(plugin_id)}/versions",
                                     data={"metadata": json.dumps(body)}, files=[("package", part)],
                                     rewind=[part[1]] if not isinstance(part[1], bytes) else None)

    def upload_images(self, plugin_id: str, icon: FileInput | None = None,
                      screenshots: Sequence[FileInput] = ()) -> Item:
        """``POST /plugins/{pluginId}/images``: an icon and/or screenshots (PNG, JPEG, GIF or WebP)."""
        with ExitStack() as stack:
            files: list[tuple[str, tuple[str, Any, str]]] = []
            if icon is not None:
                files.append(("icon", _file_part(icon, "icon.png", stack)))
            for index, shot in enumerate(screenshots, 1):
                files.append(("screenshots", _file_part(shot, f"screenshot{index}.png", stack)))
            if not files:
                raise ValueError("give an icon and/or screenshots")
            return self._item("POST", f"/plugins/{seg(plugin_id)}/images", files=files,
                                     rewind=[f[1][1] for f in files if not isinstance(f[1][1], bytes)])

    def delete_image(self, plugin_id: str, name: str) -> None:
        """``DELETE /plugins/{pluginId}/images/{name}``: remove an icon or screenshot."""
        self._client.request("DELETE", f"/plugins/{seg(plugin_id)}/images/{seg(name)}")

    def yank(self, plugin_id: str, version: str, reason: str | None = None) -> Item:
        """``POST /plugins/{pluginId}/versions/{version}/yank``: stays visible with the reason, cannot be installed."""
        return self._item("POST", f"/plugins/{seg(plugin_id)}/versions/{seg(version)}/yank",
                                 json=camel_keys({"reason": reason}))

    def deprecate(self, plugin_id: str, reason: str | None = None, replacement: str | None = None) -> Item:
        """``POST /plugins/{pluginId}/deprecate``: mark the plugin deprecated, optionally naming its replacement."""
        return self._item("POST", f"/plugins/{seg(plugin_id)}/deprecate",
                                 json=camel_keys({"reason": reason, "replacement": replacement}))

    def unpublish(self, plugin_id: str) -> Item:
        """``POST /plugins/{pluginId}/unpublish``: hide it from the public catalog."""
        return self._item("POST", f"/plugins/{seg(plugin_id)}/unpublish")

    def publish(self, plugin_id: str) -> Item:
        """``POST /plugins/{pluginId}/publish``: show an unpublished plugin again."""
        return self._item("POST", f"/plugins/{seg(plugin_id)}/publish")


def _file_part(value: FileInput, default_name: str, stack: ExitStack) -> tuple[str, Any, str]:
    """``(file name, bytes or file object, content type)`` for requests' ``files=``."""
    name: str
    content: Any
    if isinstance(value, tuple):
        name, content = value
    elif isinstance(value, bytes):
        name, content = default_name, value
    elif isinstance(value, (str, os.PathLike)):
        path = Path(value)
        name, content = path.name, stack.enter_context(open(path, "rb"))  # noqa: SIM115
    else:
        name = os.path.basename(getattr(value, "name", "") or "") or default_name
        content = value
    content_type = _content_type(name)
    return name, content, content_type


def _content_type(name: str) -> str:
    lowered = name.lower()
    if lowered.endswith((".tgz", ".tar.gz")):
        return "application/gzip"
    if lowered.endswith(".jar"):
        return "application/java-archive"
    return mimetypes.guess_type(name)[0] or "application/octet-stream"
