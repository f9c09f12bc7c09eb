"""Catalog routes under API_PREFIX: thin views over the use cases in services.py."""

from flask import Response, request, stream_with_context

from marketplace_shared.api import API_PREFIX, Blueprint, response_metadata
from marketplace_shared.db import read_session, request_session
from marketplace_shared.errors import SERVICE_UNAVAILABLE, ApiError, not_found, validation_error
from marketplace_shared.identity import current_identity, require_identity, requires
from marketplace_shared.pagination import PageArgsSchema, links_block, pagination_block

from . import facets, images, listing, services, stats
from .blobs import iter_blob
from .context import blob_store, committed_with_blobs, config, load_json_part, require_multipart
from .documents import (
    IMAGE_CONTENT,
    IMAGES_UPLOAD,
    PACKAGE_CONTENT,
    VERSION_UPLOAD,
    CountListDoc,
    ImagesDoc,
    PluginDetailDoc,
    PluginListDoc,
    StatsDoc,
    TelemetryAcceptedDoc,
    VersionCreatedDoc,
    VersionListDoc,
    VersionOneDoc,
)
from .errors import VERSION_NOT_FOUND
from .representations import plugin_detail, plugin_links, plugin_summary, sorted_versions, version_dict
from .schemas import (
    DeprecateSchema,
    ListWithFacetsArgsSchema,
    PluginCreateSchema,
    PluginUpdateSchema,
    ReasonSchema,
    SearchSchema,
    TelemetrySchema,
    VersionMetadataSchema,
)

blp = Blueprint("plugins", __name__, url_prefix=API_PREFIX, description="Discover and publish plugins")


def _list_response(plugins, page, limit, total, path=None, query=None):
    return {
        "data": [plugin_summary(p) for p in plugins],
        "pagination": pagination_block(page, limit, total),
        "links": links_block(page, limit, total, path=path, query=query),
        "metadata": response_metadata(),
    }


def _detail(session, plugin, status=200):
    return {"data": plugin_detail(session, plugin), "links": plugin_links(plugin)}, status


# --- discovery -----------------------------------------------------------------------------------

@blp.route("/plugins", methods=["GET"])
@blp.alt_response(200, schema=PluginListDoc, success=True)
@blp.arguments(ListWithFacetsArgsSchema(), location="query")
def list_plugins(args):
    """List plugins"""
    filters = {"query": args.get("search"), "categories": [args["category"]] if "category" in args else None,
               "tags": args.get("tags"), "verified": args.get("verified"), "featured": args.get("featured"),
               "min_rating": args.get("minRating"), "backstage": args.get("compatibility")}
    session = read_session()
    plugins, total = listing.query_plugins(session, **filters, sort=args["sort"], order=args["order"],
                                          page=args["page"], limit=args["limit"])
    body = _list_response(plugins, args["page"], args["limit"], total)
    if args.get("facets"):
        body["facets"] = facets.facet_counts(session, **filters)
    return body


@blp.route("/plugins/search", methods=["POST"])
@blp.alt_response(200, schema=PluginListDoc, success=True)
@blp.arguments(SearchSchema(), required=False)
def search_plugins(body):
    """Search plugins (full text, filters, relevance)"""
    filters, sort, paging = body["filters"], body["sort"], body["pagination"]
    query = (body.get("query") or "").strip() or None
    field = sort["field"]
    if field == "relevance" and query is None:
        field = "popularity"
    compatibility = filters.get("compatibility") or {}
    chosen = {"query": query, "categories": filters.get("categories"), "tags": filters.get("tags"),
              "verified": filters.get("verified"), "featured": filters.get("featured"),
              "min_rating": filters.get("minRating"), "max_price": filters.get("maxPrice"),
              "backstage": compatibility.get("backstage"), "node": compatibility.get("node")}
    session = read_session()
    plugins, total = listing.query_plugins(session, **chosen, sort=field, order=sort["order"], page=paging["page"],
                                          limit=paging["limit"])
    response = _list_response(plugins, paging["page"], paging["limit"], total, path=request.path, query={})
    if body.get("facets"):
        response["facets"] = facets.facet_counts(session, **chosen)
    return response


@blp.route("/categories", methods=["GET"])
@blp.alt_response(200, schema=CountListDoc, success=True)
def list_categories():
    """Categories of the public catalog, with plugin counts"""
    return {"data": listing.categories(read_session()), "metadata": response_metadata()}


@blp.route("/tags", methods=["GET"])
@blp.alt_response(200, schema=CountListDoc, success=True)
def list_tags():
    """Tags of the public catalog, with plugin counts"""
    return {"data": listing.tag_counts(read_session()), "metadata": response_metadata()}


@blp.route("/plugins/<plugin_id>", methods=["GET"])
@blp.alt_response(200, schema=PluginDetailDoc, success=True)
def get_plugin(plugin_id):
    """Get plugin details (by id or name)"""
    session = request_session()
    plugin = services.visible_plugin(session, plugin_id, current_identity())
    return _detail(session, plugin)


@blp.route("/plugins/<plugin_id>/versions", methods=["GET"])
@blp.alt_response(200, schema=VersionListDoc, success=True)
@blp.arguments(PageArgsSchema(), location="query")
def list_versions(args, plugin_id):
    """List a plugin's versions, newest first (yanked ones included, marked)"""
    session = request_session()
    plugin = services.visible_plugin(session, plugin_id, current_identity())
    versions = sorted_versions(plugin)
    page, limit = args["page"], args["limit"]
    chunk = versions[(page - 1) * limit: page * limit]
    return {
        "data": [version_dict(plugin, v) for v in chunk],
        "pagination": pagination_block(page, limit, len(versions)),
        "links": links_block(page, limit, len(versions)),
        "metadata": response_metadata(),
    }


@blp.route("/plugins/<plugin_id>/versions/<version>", methods=["GET"])
@blp.alt_response(200, schema=VersionOneDoc, success=True)
def get_version(plugin_id, version):
    """Get one version of a plugin"""
    session = request_session()
    plugin = services.visible_plugin(session, plugin_id, current_identity())
    found = services.find_version(plugin, version)
    if found is None:
        raise not_found(VERSION_NOT_FOUND, f"Version '{version}' of plugin '{plugin.name}' not found")
    return {"data": version_dict(plugin, found)}


@blp.route("/plugins/<plugin_id>/versions/<version>/package", methods=["GET"])
@blp.doc(responses={"200": {"description": "The package's bytes", "content": PACKAGE_CONTENT},
                    "304": {"description": "Not modified (If-None-Match)"}})
def download_package(plugin_id, version):
    """Download a version's package (counts a download)"""
    session = request_session()
    identity = current_identity()
    plugin = services.visible_plugin(session, plugin_id, identity)
    found = services.find_version(plugin, version)
    if found is None:
        raise not_found(VERSION_NOT_FOUND, f"Version '{version}' of plugin '{plugin.name}' not found")
    etag = found.package_sha256
    headers = {"ETag": f'"{etag}"', "Cache-Control": "public, max-age=31536000, immutable",
               "Digest": f"sha-256={services.integrity(etag)[7:]}", "X-Integrity": services.integrity(etag)}
    if request.if_none_match.contains(etag):
        return Response(status=304, headers=headers)
    store = blob_store()
    if not store.exists(found.package_key):
        raise ApiError(503, SERVICE_UNAVAILABLE, "The package is temporarily unavailable")
    services.record_download(session, plugin, found, identity.id if identity else None)
    session.commit()
    headers.update({"Content-Length": str(found.package_size),
                    "Content-Disposition": f'attachment; filename="{found.package_filename}"'})
    mimetype = {"tgz": "application/gzip", "jar": "application/java-archive"}.get(found.package_format,
                                                                                   "application/zip")
    return Response(stream_with_context(iter_blob(store, found.package_key)), mimetype=mimetype, headers=headers)


@blp.route("/plugins/<plugin_id>/images/<name>", methods=["GET"])
@blp.doc(responses={"200": {"description": "The image's bytes", "content": IMAGE_CONTENT},
                    "304": {"description": "Not modified (If-None-Match)"}})
def get_image(plugin_id, name):
    """An uploaded icon or screenshot"""
    session = request_session()
    plugin = services.visible_plugin(session, plugin_id, current_identity())
    image = images.plugin_image(session, plugin, name)
    headers = {"ETag": f'"{image.sha256}"', "Cache-Control": "public, max-age=86400",
               "X-Content-Type-Options": "nosniff", "Content-Length": str(image.size)}
    if request.if_none_match.contains(image.sha256):
        return Response(status=304, headers=headers)
    return Response(stream_with_context(iter_blob(blob_store(), image.blob_key)), mimetype=image.content_type,
                    headers=headers)


@blp.route("/plugins/<plugin_id>/stats", methods=["GET"])
@blp.alt_response(200, schema=StatsDoc, success=True)
def get_stats(plugin_id):
    """Usage, performance and trend statistics of a plugin"""
    session = request_session()
    plugin = services.visible_plugin(session, plugin_id, current_identity())
    return {"data": stats.plugin_stats(session, plugin, config().MAX_TELEMETRY_REPORTS)}


# --- publishing ----------------------------------------------------------------------------------

@blp.route("/plugins", methods=["POST"])
@requires("publisher")
@blp.alt_response(201, schema=PluginDetailDoc, success=True)
@blp.arguments(PluginCreateSchema())
def create_plugin(body):
    """Create a plugin (publisher or admin)"""
    identity = require_identity("publisher")
    session = request_session()
    plugin = services.create_plugin(session, identity, body)
    session.commit()
    return _detail(session, plugin, 201)


@blp.route("/plugins/<plugin_id>", methods=["PATCH"])
@requires("publisher")
@blp.alt_response(200, schema=PluginDetailDoc, success=True)
@blp.arguments(PluginUpdateSchema(), required=False)
def update_plugin(body, plugin_id):
    """Change a plugin's metadata (owner or admin; verified/featured: admin only)"""
    identity = require_identity("user")
    session = request_session()
    plugin = services.managed_plugin(session, plugin_id, identity)
    services.update_plugin(session, identity, plugin, body)
    session.commit()
    return _detail(session, plugin)


@blp.route("/plugins/<plugin_id>/versions", methods=["POST"])
@requires("publisher")
@blp.alt_response(201, schema=VersionCreatedDoc, success=True)
@blp.doc(requestBody=VERSION_UPLOAD)
def publish_version(plugin_id):
    """Publish a version: multipart with a `metadata` JSON part and a `package` file (owner or admin)"""
    identity = require_identity("user")
    session = request_session()
    plugin = services.managed_plugin(session, plugin_id, identity)
    require_multipart()
    metadata = load_json_part("metadata", VersionMetadataSchema())
    store = blob_store()
    with committed_with_blobs(session, store):
        version = services.add_version(session, store, plugin, metadata, request.files.get("package"),
                                       config().MAX_PACKAGE_BYTES)
    return {"data": version_dict(plugin, version), "links": plugin_links(plugin)}, 201


IMAGE_PARTS = frozenset({"icon", "screenshots", "screenshot"})


@blp.route("/plugins/<plugin_id>/images", methods=["POST"])
@requires("publisher")
@blp.alt_response(201, schema=ImagesDoc, success=True)
@blp.doc(requestBody=IMAGES_UPLOAD)
def upload_images(plugin_id):
    """Upload an `icon` and/or `screenshots` (PNG, JPEG, GIF or WebP; owner or admin)"""
    identity = require_identity("user")
    session = request_session()
    plugin = services.managed_plugin(session, plugin_id, identity)
    require_multipart()
    unexpected = sorted(set(request.files) - IMAGE_PARTS)
    if unexpected:
        raise validation_error(f"Unexpected file parts: {', '.join(unexpected)}",
                               {"fields": {name: ["Unknown field."] for name in unexpected}})
    # A part without a filename arrives as form text, not a file: an image part must be a file.
    not_files = sorted(set(request.form) & IMAGE_PARTS)
    if not_files:
        raise validation_error(f"Not a file: {', '.join(not_files)}",
                               {"fields": {name: ["Must be a file (a part with a filename)."] for name in not_files}})
    screenshots = request.files.getlist("screenshots") + request.files.getlist("screenshot")
    store = blob_store()
    with committed_with_blobs(session, store):
        result = images.add_images(session, store, plugin, request.files.get("icon"), screenshots, config())
    return {"data": result}, 201


@blp.route("/plugins/<plugin_id>/images/<name>", methods=["DELETE"])
@requires("publisher")
@blp.doc(responses={"204": {"description": "Removed"}})
def delete_image(plugin_id, name):
    """Remove an icon or screenshot (owner or admin)"""
    identity = require_identity("user")
    session = request_session()
    plugin = services.managed_plugin(session, plugin_id, identity)
    images.delete_image(session, plugin, name)
    services.commit_with_blobs(session, blob_store())
    return "", 204


@blp.route("/plugins/<plugin_id>/publish", methods=["POST"])
@requires("publisher")
@blp.alt_response(200, schema=PluginDetailDoc, success=True)
def publish_plugin(plugin_id):
    """Publish a plugin again after it was unpublished (owner or admin)"""
    return _set_unpublished(plugin_id, False)


@blp.route("/plugins/<plugin_id>/unpublish", methods=["POST"])
@requires("publisher")
@blp.alt_response(200, schema=PluginDetailDoc, success=True)
def unpublish_plugin(plugin_id):
    """Remove a plugin from the public catalog (owner or admin)"""
    return _set_unpublished(plugin_id, True)


def _set_unpublished(plugin_id, unpublished: bool):
    identity = require_identity("user")
    session = request_session()
    plugin = services.set_unpublished(session, services.managed_plugin(session, plugin_id, identity), unpublished)
    session.commit()
    return _detail(session, plugin)


@blp.route("/plugins/<plugin_id>/deprecate", methods=["POST"])
@requires("publisher")
@blp.alt_response(200, schema=PluginDetailDoc, success=True)
@blp.arguments(DeprecateSchema())
def deprecate_plugin(body, plugin_id):
    """Mark a plugin deprecated, with a reason and an optional replacement (owner or admin)"""
    identity = require_identity("user")
    session = request_session()
    plugin = services.managed_plugin(session, plugin_id, identity)
    services.deprecate(session, plugin, body["reason"], body.get("replacement"))
    session.commit()
    return _detail(session, plugin)


@blp.route("/plugins/<plugin_id>/versions/<version>/yank", methods=["POST"])
@requires("publisher")
@blp.alt_response(200, schema=VersionOneDoc, success=True)
@blp.arguments(ReasonSchema())
def yank_version(body, plugin_id, version):
    """Yank a version: it stays listed with its reason but cannot be installed (owner or admin)"""
    identity = require_identity("user")
    session = request_session()
    plugin = services.managed_plugin(session, plugin_id, identity)
    found = services.yank_version(session, plugin, version, body["reason"])
    session.commit()
    return {"data": version_dict(plugin, found)}


@blp.route("/plugins/<plugin_id>/telemetry", methods=["POST"])
@requires("user")
@blp.alt_response(202, schema=TelemetryAcceptedDoc, success=True)
@blp.arguments(TelemetrySchema(), required=False)
def post_telemetry(body, plugin_id):
    """Report usage and performance telemetry from an installation (signed-in callers)"""
    identity = require_identity("user")
    session = request_session()
    plugin = services.visible_plugin(session, plugin_id, identity)
    stats.record_telemetry(session, plugin, identity, body)
    session.commit()
    return {"data": {"accepted": True, "pluginId": plugin.id}}, 202
