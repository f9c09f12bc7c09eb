"""What the install service does with the catalog's events: it keeps a read model of plugins and versions.

Every handler is safe to run twice and tolerates out-of-order arrival: a version may arrive before its
plugin, a yank before the version, an unpublish before a late publish (event times decide).
"""

from sqlalchemy.orm import Session

from marketplace_shared.clock import utcnow
from marketplace_shared.events import event_time

from . import events
from .models import CatalogPlugin, CatalogVersion


def _plugin(session: Session, plugin_id: str) -> CatalogPlugin:
    plugin = session.get(CatalogPlugin, plugin_id)
    if plugin is None:
        plugin = CatalogPlugin(id=plugin_id)
        session.add(plugin)
    return plugin


def _version(session: Session, plugin_id: str, version: str) -> CatalogVersion:
    row = session.get(CatalogVersion, (plugin_id, version))
    if row is None:
        row = CatalogVersion(plugin_id=plugin_id, version=version, published=False, compatibility={},
                             dependencies=[], package={}, yanked=False)
        session.add(row)
    return row


def _later(current, candidate):
    if candidate is None:
        return current
    return candidate if current is None or candidate > current else current


def on_plugin_published(session: Session, event: dict) -> None:
    data = event["data"]
    plugin = _plugin(session, data["pluginId"])
    plugin.name = data.get("name") or plugin.name
    plugin.display_name = data.get("displayName") or plugin.display_name
    plugin.owner_id = data.get("ownerId") or plugin.owner_id
    plugin.published_at = _later(plugin.published_at, event_time(event))
    session.flush()
    if data.get("version"):
        # The first version's details come with plugin.version_published; this only makes it known.
        _version(session, plugin.id, data["version"])


def on_version_published(session: Session, event: dict) -> None:
    data = event["data"]
    plugin = _plugin(session, data["pluginId"])
    plugin.name = plugin.name or data.get("name")
    plugin.owner_id = plugin.owner_id or data.get("ownerId")
    if plugin.published_at is None:
        plugin.published_at = event_time(event)
    session.flush()
    row = _version(session, plugin.id, data["version"])
    row.published = True
    row.normalized = data.get("normalizedVersion") or row.normalized
    row.release_date = data.get("releaseDate")
    row.compatibility = data.get("compatibility") or {}
    row.dependencies = data.get("dependencies") or []
    row.configuration_schema = data.get("configurationSchema")
    row.package = data.get("package") or {}


def on_plugin_unpublished(session: Session, event: dict) -> None:
    plugin = _plugin(session, event["data"]["pluginId"])
    plugin.unpublished_at = _later(plugin.unpublished_at, event_time(event) or utcnow())


def on_version_yanked(session: Session, event: dict) -> None:
    data = event["data"]
    _plugin(session, data["pluginId"])
    session.flush()
    row = _version(session, data["pluginId"], data["version"])
    row.yanked = True
    row.yank_reason = data.get("reason")


def on_compatibility_changed(session: Session, event: dict) -> None:
    """The plugin's default compatibility changed: the versions that inherit it admit other portals now."""
    data = event["data"]
    for item in data.get("versions") or []:
        row = session.get(CatalogVersion, (data["pluginId"], item["version"]))
        if row is not None:
            row.compatibility = item.get("compatibility") or {}


HANDLERS: dict[str, list] = {
    events.PLUGIN_PUBLISHED: [on_plugin_published],
    events.PLUGIN_VERSION_PUBLISHED: [on_version_published],
    events.PLUGIN_UNPUBLISHED: [on_plugin_unpublished],
    events.PLUGIN_VERSION_YANKED: [on_version_yanked],
    events.PLUGIN_COMPATIBILITY_CHANGED: [on_compatibility_changed],
}
