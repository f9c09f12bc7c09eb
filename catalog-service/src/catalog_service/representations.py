"""The JSON shapes of the spec: a plugin in a list, a plugin in detail, a version."""

from sqlalchemy.orm import Session

from marketplace_shared.api import API_PREFIX
from marketplace_shared.clock import iso

from .models import Plugin, PluginVersion
from .semver import version_key
from .services import downloads_block, integrity, package_path

DISTRIBUTION_KEYS = ("5", "4", "3", "2", "1")


def _compatibility(backstage: str | None, node: str | None, platform: list | None) -> dict:
    return {"backstage": backstage, "node": node, "platform": platform or []}


def listed_compatibility(plugin: Plugin) -> dict:
    """What lists show a plugin compatible with: its latest version's ranges, else the plugin's default."""
    return _compatibility(plugin.compat_backstage, plugin.compat_node, plugin.compat_platform)


def _pricing(model: str, price: float | None, currency: str | None) -> dict:
    pricing = {"model": model}
    if model != "free" or price:
        pricing.update(price=price, currency=currency or "USD")
    return pricing


def plugin_summary(row) -> dict:
    """A plugin in a list, from a row of catalog_sql.SUMMARY_COLUMNS. Read through the row's mapping: a Row's
    attribute costs about 1 us, a mapping key 0.15 us, and a page reads 500 of them."""
    plugin = row._mapping
    return {
        "id": plugin["id"],
        "name": plugin["name"],
        "displayName": plugin["display_name"],
        "description": plugin["description"],
        "version": plugin["latest_version"],
        "author": {"name": plugin["author_name"], "email": plugin["author_email"], "url": plugin["author_url"]},
        "category": plugin["category"],
        "tags": list(plugin["tags"] or []),
        "icon": plugin["icon"],
        "verified": plugin["verified"],
        "featured": plugin["featured"],
        "rating": {"average": plugin["rating_average"], "count": plugin["rating_count"]},
        "downloads": plugin["downloads_total"],
        "compatibility": _compatibility(plugin["compat_backstage"], plugin["compat_node"], plugin["compat_platform"]),
        "pricing": _pricing(plugin["pricing_model"], plugin["price"], plugin["currency"]),
        "deprecated": plugin["deprecated"],
        "updatedAt": iso(plugin["updated_at"]),
    }


def version_dict(plugin: Plugin, version: PluginVersion) -> dict:
    compatibility = plugin.effective_compatibility(version)  # its own ranges, else the plugin's default
    return {
        "version": version.version,
        "releaseDate": iso(version.release_date),
        "changelog": version.changelog,
        "compatibility": {"backstage": compatibility.get("backstage"), "node": compatibility.get("node"),
                          "platform": compatibility.get("platform") or []},
        "dependencies": version.dependencies or [],
        "permissions": version.permissions or [],
        "yanked": version.yanked,
        "yankReason": version.yank_reason,
        "yankedAt": iso(version.yanked_at),
        "downloads": version.downloads,
        "package": {
            "url": package_path(plugin, version),
            "filename": version.package_filename,
            "format": version.package_format,
            "size": version.package_size,
            "sha256": version.package_sha256,
            "integrity": integrity(version.package_sha256),
        },
    }


def sorted_versions(plugin: Plugin) -> list[PluginVersion]:
    return sorted(plugin.versions, key=lambda v: version_key(v.normalized), reverse=True)


def latest_version(plugin: Plugin) -> PluginVersion | None:
    for version in sorted_versions(plugin):
        if not version.yanked:
            return version
    return None


def plugin_detail(session: Session, plugin: Plugin) -> dict:
    latest = latest_version(plugin)
    distribution = {key: int((plugin.rating_distribution or {}).get(key, 0)) for key in DISTRIBUTION_KEYS}
    stats = plugin.source_stats or {}
    return {
        "id": plugin.id,
        "name": plugin.name,
        "displayName": plugin.display_name,
        "description": plugin.description,
        "longDescription": plugin.long_description,
        "version": plugin.latest_version,
        "author": {"id": plugin.owner_id, "name": plugin.author_name, "email": plugin.author_email,
                   "url": plugin.author_url, "verified": plugin.verified},
        "category": plugin.category,
        "tags": list(plugin.tags or []),
        "icon": plugin.icon,
        "screenshots": list(plugin.screenshots or []),
        "videos": list(plugin.videos or []),
        "repository": plugin.repository,
        "homepage": plugin.homepage,
        "documentation": plugin.documentation,
        "changelog": plugin.changelog,
        "license": plugin.license,
        "installationInstructions": plugin.installation_instructions,
        "verified": plugin.verified,
        "featured": plugin.featured,
        "status": "published" if plugin.is_public else "unpublished",
        "deprecation": ({"reason": plugin.deprecation_reason, "replacement": plugin.replacement,
                         "deprecatedAt": iso(plugin.deprecated_at)} if plugin.deprecated else None),
        "rating": {"average": plugin.rating_average, "count": plugin.rating_count, "distribution": distribution,
                   "reviews": list(plugin.top_reviews or [])},
        "downloads": downloads_block(session, plugin),
        "installations": {"total": plugin.installations, "active": plugin.active_installations},
        "versions": [version_dict(plugin, v) for v in sorted_versions(plugin)],
        "dependencies": latest.dependencies if latest else [],
        "configuration": {"schema": latest.config_schema if latest else {},
                          "defaults": latest.config_defaults if latest else {},
                          "examples": latest.config_examples if latest else []},
        "permissions": latest.permissions if latest else [],
        "features": list(plugin.features or []),
        "support": {"email": (plugin.support or {}).get("email"),
                    "documentation": (plugin.support or {}).get("documentation"),
                    "issues": (plugin.support or {}).get("issues")},
        "stats": {"stars": stats.get("stars", 0), "forks": stats.get("forks", 0), "issues": stats.get("issues", 0),
                  "contributors": stats.get("contributors", 0), "lastCommit": stats.get("lastCommit")},
        "compatibility": listed_compatibility(plugin),
        "pricing": _pricing(plugin.pricing_model, plugin.price, plugin.currency),
        "createdAt": iso(plugin.created_at),
        "updatedAt": iso(plugin.updated_at),
    }


def plugin_links(plugin: Plugin) -> dict:
    base = f"{API_PREFIX}/plugins/{plugin.id}"
    return {"self": base, "install": f"{base}/install", "reviews": f"{base}/reviews", "versions": f"{base}/versions",
            "stats": f"{base}/stats"}
