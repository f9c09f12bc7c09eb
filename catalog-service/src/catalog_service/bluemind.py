"""The BlueMind MarketPlace publisher API (spec: publisher-api-bluemind.md), served at /addons/api/.

The gateway turns the `api-key` header (or `api_key` inside the `json` part) into the usual identity
token, so here the key is only a field to ignore.
"""

import marshmallow as ma
from flask import request
from marshmallow import fields, validate

from marketplace_shared.api import API_PREFIX, Blueprint
from marketplace_shared.db import request_session
from marketplace_shared.errors import conflict, forbidden, validation_error
from marketplace_shared.identity import require_identity

from . import images, services
from .context import blob_store, committed_with_blobs, config, load_json_part, require_multipart
from .documents import BLUEMIND_PLUGIN_UPLOAD, BLUEMIND_VERSION_UPLOAD, BlueMindPluginDoc, BlueMindVersionCreatedDoc
from .models import Plugin
from .representations import listed_compatibility, sorted_versions
from .schemas import SLUG
from .services import integrity, iso, package_path

blp = Blueprint("addons", __name__, url_prefix="/addons/api", description="BlueMind-compatible publisher API")

BLUEMIND_CATEGORY = "other"


class _Keys(ma.Schema):
    class Meta:
        unknown = ma.RAISE

    api_key = fields.String(load_only=True)


def _text(max_length: int, required: bool = True):
    return fields.String(required=required, validate=validate.Length(min=1, max=max_length))


class NewPluginSchema(_Keys):
    name = _text(200)
    shortdesc = _text(500)
    description = _text(100_000)
    license = _text(200)
    installation_instructions = _text(20_000)
    home_url = fields.Url(schemes={"http", "https"}, allow_none=True, validate=validate.Length(max=500))


class NewVersionSchema(_Keys):
    plugin_name = _text(200)
    version = _text(100)
    target_bm_versions = _text(200)
    release_notes = _text(100_000)


def bluemind_plugin(plugin: Plugin) -> dict:
    """A plugin in this door's words: `id` is the numeric id its scripts use (`getPlugin(int id)`)."""
    return {
        "id": plugin.number,
        "plugin_id": plugin.id,
        "name": plugin.display_name,
        "slug": plugin.name,
        "shortdesc": plugin.description,
        "description": plugin.long_description,
        "license": plugin.license,
        "installation_instructions": plugin.installation_instructions,
        "home_url": plugin.homepage or plugin.repository,
        "status": "published" if plugin.is_public else "unpublished",
        "current_version": plugin.latest_version,
        "compatibility": listed_compatibility(plugin),  # as the native API's list shows it
        "thumbnail": plugin.icon,
        "screenshots": list(plugin.screenshots or []),
        "versions": [bluemind_version(plugin, v) for v in sorted_versions(plugin)],
        "downloads": plugin.downloads_total,
        "verified": plugin.verified,
        "created": iso(plugin.created_at),
        "updated": iso(plugin.updated_at),
        "url": f"{API_PREFIX}/plugins/{plugin.id}",
    }


def bluemind_version(plugin: Plugin, version) -> dict:
    return {
        "version": version.version,
        "target_bm_versions": ", ".join(plugin.effective_compatibility(version).get("platform") or []),
        "release_notes": version.changelog,
        "date": iso(version.release_date),
        "yanked": version.yanked,
        "package": package_path(plugin, version),
        "size": version.package_size,
        "sha256": version.package_sha256,
        "integrity": integrity(version.package_sha256),
    }


def _load(schema: ma.Schema) -> dict:
    # The document's scripts send multipart; with no file attached, `requests` sends a urlencoded form.
    if (request.mimetype or "") != "application/x-www-form-urlencoded":
        require_multipart()
    return load_json_part("json", schema, "The 'json' part is required (multipart/form-data)")


@blp.route("/plugins/", methods=["GET"], strict_slashes=False)
@blp.alt_response(200, schema=BlueMindPluginDoc(many=True), success=True)
def my_plugins():
    """BlueMind: the caller's plugins, with status and current version"""
    identity = require_identity("publisher")
    session = request_session()
    return [bluemind_plugin(p) for p in services.owned_plugins(session, identity.id)]


@blp.route("/plugin/<plugin_id>/", methods=["GET"], strict_slashes=False)
@blp.alt_response(200, schema=BlueMindPluginDoc, success=True)
def one_plugin(plugin_id):
    """BlueMind: one plugin (owner or admin, else 403)"""
    identity = require_identity("publisher")
    session = request_session()
    plugin = services.plugin_by_number_or_ref(session, plugin_id)
    if plugin is None:
        raise services.plugin_not_found(plugin_id)
    if not services.can_manage(plugin, identity):
        raise forbidden("This plugin is not yours")
    return bluemind_plugin(plugin)


@blp.route("/plugins/", methods=["POST"], strict_slashes=False)
@blp.alt_response(201, schema=BlueMindPluginDoc, success=True)
@blp.doc(requestBody=BLUEMIND_PLUGIN_UPLOAD)
def create_plugin():
    """BlueMind: create a plugin (`json` part; `thumbnail` = logo, other files = screenshots)"""
    identity = require_identity("publisher")
    data = _load(NewPluginSchema())
    slug = services.slugify(data["name"])
    if not slug or not SLUG.match(slug):
        raise validation_error("The plugin name needs letters or digits", {"fields": {"name": ["Invalid name."]}})
    session = request_session()
    if services.name_taken(session, slug):
        raise conflict(f"A plugin named '{data['name']}' already exists", field="name")
    files = [(key, file) for key, file in request.files.items(multi=True) if key != "json"]
    thumbnails = [file for key, file in files if key == "thumbnail"]
    if len(thumbnails) > 1:
        raise validation_error("Only one 'thumbnail' is allowed", {"fields": {"thumbnail": ["Only one file."]}})
    screenshots = [file for key, file in files if key != "thumbnail"]
    screenshot_fields = [key for key, _file in files if key != "thumbnail"]
    store = blob_store()
    with committed_with_blobs(session, store):
        plugin = services.create_plugin(session, identity, {
            "name": slug, "displayName": data["name"], "description": data["shortdesc"],
            "longDescription": data["description"], "license": data["license"],
            "installationInstructions": data["installation_instructions"], "category": BLUEMIND_CATEGORY,
            "homepage": data.get("home_url"), "repository": data.get("home_url")})
        if thumbnails or screenshots:
            images.add_images(session, store, plugin, thumbnails[0] if thumbnails else None, screenshots, config(),
                                icon_field="thumbnail", screenshot_fields=screenshot_fields)
    return bluemind_plugin(plugin), 201


@blp.route("/plugin_version/", methods=["POST"], strict_slashes=False)
@blp.alt_response(201, schema=BlueMindVersionCreatedDoc, success=True)
@blp.doc(requestBody=BLUEMIND_VERSION_UPLOAD)
def create_version():
    """BlueMind: add a version (`json` part and a `package` file) to one of the caller's plugins"""
    identity = require_identity("publisher")
    data = _load(NewVersionSchema())
    if "package" not in request.files:
        raise validation_error("The 'package' file is required", {"fields": {"package": ["Missing file."]}})
    if services.normalize_version(data["version"]) is None:
        raise validation_error("The version is not a version number such as 0.2 or 1.2.3",
                               {"fields": {"version": ["Not a semantic version."]}})
    session = request_session()
    plugin = _plugin_named(session, data["plugin_name"], identity)
    platform = [part.strip() for part in data["target_bm_versions"].split(",") if part.strip()]
    metadata = {"version": data["version"], "changelog": data["release_notes"],
                "compatibility": {"platform": platform}}
    store = blob_store()
    with committed_with_blobs(session, store):
        version = services.add_version(session, store, plugin, metadata, request.files["package"],
                                       config().MAX_PACKAGE_BYTES)
    return {"plugin_id": plugin.id, "plugin_name": plugin.display_name, **bluemind_version(plugin, version)}, 201


def _plugin_named(session, name: str, identity) -> Plugin:
    """The plugin a BlueMind script names (display name, slug or id); the caller's own first."""
    candidates = services.plugins_named(session, name)
    if not candidates:
        raise services.plugin_not_found(name)
    for plugin in candidates:
        if services.can_manage(plugin, identity) and (plugin.owner_id == identity.id or len(candidates) == 1):
            return plugin
    raise forbidden("This plugin is not yours")
