"""Catalog use cases: plain functions taking a session; views and event handlers call them."""

import re
import secrets
from datetime import timedelta

import jsonschema
from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from marketplace_shared.api import API_PREFIX
from marketplace_shared.clock import iso, utcnow
from marketplace_shared.errors import (
    PLUGIN_NOT_FOUND,
    ApiError,
    conflict,
    forbidden,
    not_found,
    validation_error,
)
from marketplace_shared.identity import Identity

from . import counts, events, textsearch
from .blobs import BlobStore
from .errors import VERSION_NOT_FOUND
from .events import integrity  # noqa: F401 - services.integrity, as views and representations use it
from .files import (
    check_package,
    safe_filename,
    spool_limited,
)
from .models import Download, Plugin, PluginTag, PluginVersion
from .semver import normalize_version, version_key

NEW_BLOBS = "new_blobs"
OLD_BLOBS = "old_blobs"


# --- lookups -------------------------------------------------------------------------------------

def plugin_not_found(ref: str) -> ApiError:
    return not_found(PLUGIN_NOT_FOUND, f"Plugin with ID '{ref}' not found")


def find_plugin(session: Session, ref: str) -> Plugin | None:
    """A plugin by its id or its name."""
    plugin = session.get(Plugin, ref) if ref.startswith("plugin_") else None
    return plugin or session.scalar(select(Plugin).where(Plugin.name == ref))


def plugin_by_number_or_ref(session: Session, ref: str) -> Plugin | None:
    """A plugin by its numeric id (the BlueMind door's `/plugin/1/`), its `plugin_…` id or its name."""
    if ref.isascii() and ref.isdigit():
        return session.scalar(select(Plugin).where(Plugin.number == int(ref))) if int(ref) < 2**31 else None
    return find_plugin(session, ref)


def plugins_named(session: Session, name: str) -> list[Plugin]:
    """Plugins whose display name, name, slug of `name` or id is `name`."""
    return list(session.scalars(select(Plugin).where(or_(
        Plugin.display_name == name, Plugin.name == name, Plugin.name == slugify(name), Plugin.id == name))))


def owned_plugins(session: Session, owner_id: str) -> list[Plugin]:
    return list(session.scalars(select(Plugin).where(Plugin.owner_id == owner_id)
                                .order_by(Plugin.created_at, Plugin.id)))


def name_taken(session: Session, name: str) -> bool:
    return session.scalar(select(Plugin.id).where(Plugin.name == name)) is not None


def can_manage(plugin: Plugin, identity: Identity | None) -> bool:
    return identity is not None and (identity.is_admin or identity.id == plugin.owner_id)


def visible_plugin(session: Session, ref: str, identity: Identity | None) -> Plugin:
    """A plugin the caller may see: public ones, and their own (or any, for admins)."""
    plugin = find_plugin(session, ref)
    if plugin is None or not (plugin.is_public or can_manage(plugin, identity)):
        raise plugin_not_found(ref)
    return plugin


def managed_plugin(session: Session, ref: str, identity: Identity) -> Plugin:
    """A plugin the caller may change: 404 when it cannot be seen, 403 when it is not theirs."""
    plugin = find_plugin(session, ref)
    if plugin is None:
        raise plugin_not_found(ref)
    if not can_manage(plugin, identity):
        if not plugin.is_public:
            raise plugin_not_found(ref)
        raise forbidden("Only the plugin's owner or an administrator may change it")
    return plugin


# --- plugins -------------------------------------------------------------------------------------

_FIELD_MAP = {
    "displayName": "display_name", "description": "description", "longDescription": "long_description",
    "category": "category", "icon": "icon", "screenshots": "screenshots", "videos": "videos",
    "repository": "repository", "homepage": "homepage", "documentation": "documentation",
    "changelog": "changelog", "license": "license", "installationInstructions": "installation_instructions",
    "features": "features", "verified": "verified", "featured": "featured",
}


def _apply_fields(session: Session, plugin: Plugin, data: dict, identity: Identity) -> None:
    admin_only = sorted(key for key in ("verified", "featured") if key in data)
    if admin_only and not identity.is_admin:
        raise forbidden(f"Only an administrator may set {', '.join(admin_only)}")
    before = counts.counted(plugin)
    for key, attribute in _FIELD_MAP.items():
        if key in data:
            setattr(plugin, attribute, data[key] if data[key] is not None or attribute in _NULLABLE else "")
    if "tags" in data:
        tags = list(dict.fromkeys(data["tags"]))
        plugin.tags = tags
        plugin.tags_text = " ".join(tags)
        # Keep the rows of tags that stay: re-inserting one before its delete would break the primary key.
        existing = {row.tag: row for row in plugin.plugin_tags}
        plugin.plugin_tags = [existing.get(tag) or PluginTag(tag=tag, public=bool(plugin.is_public),
                                                             popularity=plugin.popularity or 0) for tag in tags]
    counts.adjust_counts(session, before, counts.counted(plugin))  # category and tags
    if "support" in data:
        plugin.support = {k: v for k, v in data["support"].items() if v is not None}
    if "stats" in data:
        stats = dict(data["stats"])
        if stats.get("lastCommit") is not None:
            stats["lastCommit"] = iso(stats["lastCommit"])
        plugin.source_stats = {**(plugin.source_stats or {}), **stats}
    if "pricing" in data:
        pricing = data["pricing"]
        plugin.pricing_model = pricing["model"]
        plugin.price = float(pricing.get("price") or 0.0)
        plugin.currency = pricing.get("currency") or (None if plugin.price == 0 else "USD")
    if "author" in data and "url" in data["author"]:
        plugin.author_url = data["author"]["url"]
    if "compatibility" in data:
        # A merge: the fields sent replace the default's (null or [] removes one), the others stay.
        default = {**(plugin.default_compatibility or {}), **data["compatibility"]}
        inherited = [plugin.effective_compatibility(version) for version in plugin.versions]
        plugin.default_compatibility = {k: v for k, v in default.items() if v not in (None, [])}
        before = counts.counted(plugin)
        _set_listed_compatibility(plugin, _latest(plugin))
        counts.adjust_counts(session, before, counts.counted(plugin))  # the compatibility ranges
        if inherited != [plugin.effective_compatibility(version) for version in plugin.versions]:
            # Versions that inherit the default now admit other portals: the install service must know.
            events.record(session, events.PLUGIN_COMPATIBILITY_CHANGED, events.compatibility_changed(plugin),
                          plugin.id)


def _set_listed_compatibility(plugin: Plugin, latest: PluginVersion | None) -> None:
    """The list columns: the latest version's compatibility, the plugin's default where it declares none."""
    compatibility = plugin.effective_compatibility(latest)
    plugin.compat_backstage = compatibility.get("backstage")
    plugin.compat_node = compatibility.get("node")
    plugin.compat_platform = compatibility.get("platform") or []


def _latest(plugin: Plugin) -> PluginVersion | None:
    candidates = [v for v in plugin.versions if not v.yanked]
    return max(candidates, key=lambda v: version_key(v.normalized)) if candidates else None


_NULLABLE = {"icon", "repository", "homepage", "documentation", "changelog"}


def create_plugin(session: Session, identity: Identity, data: dict) -> Plugin:
    """A new plugin owned by the caller; it is public once it has a version."""
    if session.scalar(select(Plugin.id).where(Plugin.name == data["name"])):
        raise conflict(f"A plugin named '{data['name']}' already exists", field="name")
    plugin = Plugin(name=data["name"], display_name=data.get("displayName") or data["name"],
                    description=data["description"], category=data["category"], owner_id=identity.id,
                    author_name=identity.name or identity.id, author_email=identity.email or "",
                    tags=[], tags_text="", screenshots=[], videos=[], features=[], support={}, source_stats={},
                    compat_platform=[], rating_distribution={}, top_reviews=[], long_description="", license="",
                    installation_instructions="", pricing_model="free", price=0.0)
    _apply_fields(session, plugin, {k: v for k, v in data.items() if k not in ("name",)}, identity)
    session.add(plugin)
    session.flush()
    textsearch.reindex(session, plugin)
    return plugin


def update_plugin(session: Session, identity: Identity, plugin: Plugin, data: dict) -> Plugin:
    _apply_fields(session, plugin, data, identity)
    plugin.updated_at = utcnow()
    session.flush()
    textsearch.reindex(session, plugin)
    return plugin


def set_unpublished(session: Session, plugin: Plugin, unpublished: bool) -> Plugin:
    if plugin.unpublished == unpublished:
        return plugin
    plugin.unpublished = unpublished
    plugin.updated_at = utcnow()
    refresh_latest(session, plugin)
    return plugin


def deprecate(session: Session, plugin: Plugin, reason: str, replacement: str | None) -> Plugin:
    if replacement:
        target = find_plugin(session, replacement)
        if target is None or target.id == plugin.id:
            raise validation_error("Unknown replacement plugin",
                                   {"fields": {"replacement": ["Must name another existing plugin."]}})
        replacement = target.name
    plugin.deprecated = True
    plugin.deprecation_reason = reason
    plugin.replacement = replacement
    plugin.deprecated_at = utcnow()
    plugin.updated_at = utcnow()
    return plugin


def refresh_latest(session: Session, plugin: Plugin) -> None:
    """Recompute the latest installable version and public visibility; emit the transitions."""
    was_public = bool(plugin.is_public)
    before = counts.counted(plugin)
    latest = _latest(plugin)
    plugin.latest_version = latest.version if latest else None
    _set_listed_compatibility(plugin, latest)
    plugin.is_public = latest is not None and not plugin.unpublished
    counts.adjust_counts(session, before, counts.counted(plugin))
    if plugin.is_public != was_public:
        for row in plugin.plugin_tags:
            row.public = plugin.is_public
    if plugin.is_public and not was_public:
        plugin.ever_published = True
        events.record(session, events.PLUGIN_PUBLISHED, events.plugin_published(plugin), plugin.id)
    elif was_public and not plugin.is_public and plugin.unpublished:
        events.record(session, events.PLUGIN_UNPUBLISHED, events.plugin_unpublished(plugin), plugin.id)


# --- versions and packages -----------------------------------------------------------------------

def package_path(plugin: Plugin, version: PluginVersion) -> str:
    return f"{API_PREFIX}/plugins/{plugin.id}/versions/{version.version}/package"


def find_version(plugin: Plugin, text: str) -> PluginVersion | None:
    normalized = normalize_version(text)
    for version in plugin.versions:
        if version.version == text or (normalized is not None and version.normalized == normalized):
            return version
    return None


def _check_configuration(configuration: dict) -> None:
    schema = configuration.get("schema") or {}
    try:
        jsonschema.validators.validator_for(schema).check_schema(schema)
    except jsonschema.SchemaError as exc:
        raise validation_error("The configuration schema is not a valid JSON Schema", {"fields": {
            "configuration.schema": [exc.message[:500]]}}) from exc
    validator = jsonschema.validators.validator_for(schema)(schema)
    for field, instances in (("configuration.defaults", [configuration.get("defaults") or {}]),
                             ("configuration.examples", configuration.get("examples") or [])):
        for instance in instances:
            error = jsonschema.exceptions.best_match(validator.iter_errors(instance))
            if error is not None:
                raise validation_error(f"'{field}' does not match the configuration schema",
                                       {"fields": {field: [error.message[:500]]}})


def add_version(session: Session, store: BlobStore, plugin: Plugin, metadata: dict, package, max_bytes: int
                ) -> PluginVersion:
    """Validate and store a package, then record the version; the caller commits or discards."""
    normalized = normalize_version(metadata["version"])
    if find_version(plugin, metadata["version"]) is not None:
        raise conflict(f"Version '{metadata['version']}' of '{plugin.name}' already exists", field="version")
    configuration = metadata.get("configuration") or {}
    _check_configuration(configuration)
    if package is None:
        raise validation_error("The 'package' file is required", {"fields": {"package": ["Missing file."]}})
    upload, size, digest = spool_limited(package, max_bytes, "package")
    with upload:
        package_format = check_package(upload, package.filename)
        key = f"packages/{plugin.id}/{secrets.token_hex(12)}.{package_format}"
        session.info.setdefault(NEW_BLOBS, []).append(key)
        store.put(key, upload)
    compatibility = {k: v for k, v in (metadata.get("compatibility") or {}).items() if v not in (None, [])}
    version = PluginVersion(
        plugin_id=plugin.id, version=metadata["version"].strip(), normalized=normalized,
        changelog=metadata.get("changelog") or "", compatibility=compatibility,
        dependencies=metadata.get("dependencies") or [], config_schema=configuration.get("schema") or {},
        config_defaults=configuration.get("defaults") or {}, config_examples=configuration.get("examples") or [],
        permissions=list(dict.fromkeys(metadata.get("permissions") or [])), package_key=key,
        package_filename=safe_filename(package.filename, f"{plugin.name}.{package_format}"),
        package_format=package_format, package_size=size, package_sha256=digest, release_date=utcnow())
    plugin.versions.append(version)
    plugin.updated_at = utcnow()
    session.flush()
    events.record(session, events.PLUGIN_VERSION_PUBLISHED, events.version_published(
        plugin, version, iso(version.release_date), package_path(plugin, version)), plugin.id)
    refresh_latest(session, plugin)
    return version


def yank_version(session: Session, plugin: Plugin, text: str, reason: str) -> PluginVersion:
    version = find_version(plugin, text)
    if version is None:
        raise not_found(VERSION_NOT_FOUND, f"Version '{text}' of plugin '{plugin.name}' not found")
    if version.yanked:
        return version
    version.yanked = True
    version.yank_reason = reason
    version.yanked_at = utcnow()
    events.record(session, events.PLUGIN_VERSION_YANKED, events.version_yanked(plugin, version, reason), plugin.id)
    refresh_latest(session, plugin)
    return version


def record_download(session: Session, plugin: Plugin, version: PluginVersion, account_id: str | None) -> None:
    session.add(Download(plugin_id=plugin.id, version=version.version, account_id=account_id, at=utcnow()))
    # SQL-side increments: concurrent downloads never lose a count.
    version.downloads = PluginVersion.downloads + 1
    plugin.downloads_total = Plugin.downloads_total + 1
    plugin.popularity = Plugin.popularity + 1
    events.record(session, events.PLUGIN_DOWNLOADED, events.plugin_downloaded(plugin, version, account_id),
                  plugin.id)


# --- blobs written by a change --------------------------------------------------------------------

def commit_with_blobs(session: Session, store: BlobStore) -> None:
    """Commit; on failure delete the blobs this transaction wrote, on success the ones it replaced."""
    try:
        session.commit()
    except Exception:
        session.rollback()
        discard_new_blobs(session, store)
        raise
    for key in session.info.pop(OLD_BLOBS, []):
        store.delete(key)
    session.info.pop(NEW_BLOBS, None)


def discard_new_blobs(session: Session, store: BlobStore) -> None:
    for key in session.info.pop(NEW_BLOBS, []):
        store.delete(key)
    session.info.pop(OLD_BLOBS, None)


# --- reading -------------------------------------------------------------------------------------

def downloads_block(session: Session, plugin: Plugin) -> dict:
    now = utcnow()

    def since(days: int) -> int:
        return session.scalar(select(func.count()).select_from(Download).where(
            Download.plugin_id == plugin.id, Download.at >= now - timedelta(days=days))) or 0

    return {"total": plugin.downloads_total, "monthly": since(30), "weekly": since(7), "daily": since(1)}


def slugify(text: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
    return slug[:100].strip("-")
