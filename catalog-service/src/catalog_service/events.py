"""Events the catalog publishes (docs/asyncapi.yaml), built here only, and the types it consumes."""

import base64

from sqlalchemy.orm import Session

from marketplace_shared.outbox import record_event

from .models import OutboxEvent

SOURCE = "catalog-service"

# Published.
PLUGIN_PUBLISHED = "plugin.published"
PLUGIN_VERSION_PUBLISHED = "plugin.version_published"
PLUGIN_UNPUBLISHED = "plugin.unpublished"
PLUGIN_VERSION_YANKED = "plugin.version_yanked"
PLUGIN_DOWNLOADED = "plugin.downloaded"
PLUGIN_COMPATIBILITY_CHANGED = "plugin.compatibility_changed"
PUBLISHED = (PLUGIN_PUBLISHED, PLUGIN_VERSION_PUBLISHED, PLUGIN_UNPUBLISHED, PLUGIN_VERSION_YANKED, PLUGIN_DOWNLOADED,
             PLUGIN_COMPATIBILITY_CHANGED)

# Consumed, and the fields read from them (the producers' documents: docs/asyncapi.yaml).
REVIEW_RATING_CHANGED = "review.rating_changed"  # pluginId, sequence, average, count, distribution, topReviews
INSTALLATION_EVENTS = ("plugin.installed", "plugin.updated", "plugin.uninstalled", "plugin.error",
                       "plugin.health_changed")  # pluginId, installationId, accountId, version, current, error


def record(session: Session, event_type: str, data: dict, subject: str | None = None) -> dict:
    """Write one of the catalog's events to its outbox, in the caller's transaction."""
    return record_event(session, OutboxEvent, event_type, SOURCE, data, subject)


def plugin_published(plugin) -> dict:
    return {"pluginId": plugin.id, "name": plugin.name, "displayName": plugin.display_name,
            "ownerId": plugin.owner_id, "version": plugin.latest_version, "category": plugin.category}


def plugin_unpublished(plugin) -> dict:
    return {"pluginId": plugin.id, "ownerId": plugin.owner_id}


def version_published(plugin, version, release_date: str, package_path: str) -> dict:
    """The version's details as the install service needs them to resolve, check and download it."""
    return {
        "pluginId": plugin.id, "name": plugin.name, "ownerId": plugin.owner_id, "version": version.version,
        "normalizedVersion": version.normalized, "releaseDate": release_date,
        "compatibility": _compatibility(plugin, version),
        "dependencies": version.dependencies, "configurationSchema": version.config_schema,
        "package": {"path": package_path, "size": version.package_size, "sha256": version.package_sha256,
                    "integrity": integrity(version.package_sha256)},
    }


def _compatibility(plugin, version=None) -> dict:
    """A version's effective ranges: field by field its own, else the plugin's default."""
    ranges = plugin.effective_compatibility(version)
    return {"backstage": ranges.get("backstage"), "node": ranges.get("node"), "platform": ranges.get("platform") or []}


def compatibility_changed(plugin) -> dict:
    """The plugin's default changed: every version's effective ranges now (the install service checks them)."""
    return {"pluginId": plugin.id, "ownerId": plugin.owner_id, "default": _compatibility(plugin),
            "versions": [{"version": version.version, "compatibility": _compatibility(plugin, version)}
                         for version in plugin.versions]}


def version_yanked(plugin, version, reason: str) -> dict:
    return {"pluginId": plugin.id, "ownerId": plugin.owner_id, "version": version.version, "reason": reason}


def plugin_downloaded(plugin, version, account_id: str | None) -> dict:
    return {"pluginId": plugin.id, "version": version.version, "accountId": account_id}


def integrity(sha256_hex: str) -> str:
    """Subresource Integrity of a package: `sha256-` and the base64 digest."""
    return "sha256-" + base64.b64encode(bytes.fromhex(sha256_hex)).decode()
