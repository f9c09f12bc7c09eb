"""Plugin images (icons and screenshots): use cases taking a session and the blob store, as services.py's do."""

import hashlib
import secrets

from sqlalchemy import select
from sqlalchemy.orm import Session

from marketplace_shared.api import API_PREFIX
from marketplace_shared.clock import utcnow
from marketplace_shared.errors import NOT_FOUND, not_found, validation_error

from .blobs import BlobStore
from .files import IMAGE_EXTENSIONS, IMAGE_TYPES, check_image, read_limited
from .models import Plugin, PluginImage
from .services import NEW_BLOBS, OLD_BLOBS


def plugin_image(session: Session, plugin: Plugin, name: str) -> PluginImage:
    """One of the plugin's images by its name, else 404."""
    image = session.scalar(select(PluginImage).where(PluginImage.plugin_id == plugin.id, PluginImage.name == name))
    if image is None:
        raise not_found(NOT_FOUND, f"Image '{name}' not found")
    return image


def image_url(plugin: Plugin, name: str) -> str:
    return f"{API_PREFIX}/plugins/{plugin.id}/images/{name}"


def _store_image(session: Session, store: BlobStore, plugin: Plugin, file, kind: str, field: str,
                 max_bytes: int) -> PluginImage:
    data = read_limited(file, max_bytes, field)
    image_type = check_image(data, field)
    name = f"{kind}-{secrets.token_hex(8)}.{IMAGE_EXTENSIONS[image_type]}"
    key = f"images/{plugin.id}/{name}"
    store.put(key, data)
    session.info.setdefault(NEW_BLOBS, []).append(key)
    image = PluginImage(plugin_id=plugin.id, name=name, kind=kind, content_type=IMAGE_TYPES[image_type],
                        size=len(data), sha256=hashlib.sha256(data).hexdigest(), blob_key=key)
    session.add(image)
    return image


def add_images(session: Session, store: BlobStore, plugin: Plugin, icon, screenshots: list, config,
               icon_field: str = "icon", screenshot_fields: list[str] | None = None) -> dict:
    """Store an icon (replacing the old one) and screenshots (appended); all or nothing."""
    if icon is None and not screenshots:
        raise validation_error("Send an 'icon' file and/or 'screenshots' files",
                               {"fields": {"icon": ["Missing file."], "screenshots": ["Missing files."]}})
    if len(plugin.screenshots or []) + len(screenshots) > config.MAX_SCREENSHOTS:
        raise validation_error(f"At most {config.MAX_SCREENSHOTS} screenshots per plugin",
                               {"fields": {"screenshots": [f"At most {config.MAX_SCREENSHOTS}."]}})
    if icon is not None:
        image = _store_image(session, store, plugin, icon, "icon", icon_field, config.MAX_IMAGE_BYTES)
        old = session.scalars(select(PluginImage).where(PluginImage.plugin_id == plugin.id,
                                                        PluginImage.kind == "icon")).all()
        for previous in old:
            if previous is not image:
                session.info.setdefault(OLD_BLOBS, []).append(previous.blob_key)
                session.delete(previous)
        plugin.icon = image_url(plugin, image.name)
    added = []
    for index, file in enumerate(screenshots):
        field = screenshot_fields[index] if screenshot_fields else f"screenshots[{index}]"
        image = _store_image(session, store, plugin, file, "screenshot", field, config.MAX_IMAGE_BYTES)
        added.append(image_url(plugin, image.name))
    plugin.screenshots = list(plugin.screenshots or []) + added
    plugin.updated_at = utcnow()
    return {"icon": plugin.icon, "screenshots": plugin.screenshots}


def delete_image(session: Session, plugin: Plugin, name: str) -> None:
    image = plugin_image(session, plugin, name)
    url = image_url(plugin, name)
    if plugin.icon == url:
        plugin.icon = None
    plugin.screenshots = [s for s in plugin.screenshots or [] if s != url]
    session.info.setdefault(OLD_BLOBS, []).append(image.blob_key)
    session.delete(image)
