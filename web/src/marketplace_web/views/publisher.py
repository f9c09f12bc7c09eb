"""Publishing: one's plugins with their status, create a plugin, upload a version with its package, icon and
screenshots, publish/unpublish, deprecate with a replacement, yank a version with a reason.

The list is the publisher API's `GET /addons/api/plugins/` (the caller's own plugins, drafts and unpublished ones
included); everything else is the native API through the SDK's publisher resource.
"""

import json
from functools import wraps

from flask import Blueprint, abort, g, redirect, render_template, request, url_for

from ..api import MarketplaceError, client
from .common import flash, login_required

bp = Blueprint("publisher", __name__, url_prefix="/publisher")
PUBLISHER_ROLES = ("publisher", "admin")
PLUGIN_FIELDS = ("name", "displayName", "description", "category", "tags", "license", "repository", "homepage",
                 "longDescription", "backstage", "node")
VERSION_FIELDS = ("version", "changelog", "backstage", "node", "dependencies", "permissions", "configuration")


def publisher_required(view):
    @wraps(view)
    @login_required
    def wrapper(*args, **kwargs):
        if (g.account or {}).get("role") not in PUBLISHER_ROLES:
            abort(403, description="Publishing needs a publisher account: ask an administrator to change your role.")
        return view(*args, **kwargs)
    return wrapper


def field_errors(error: MarketplaceError, aliases: dict | None = None) -> dict[str, str]:
    """The API's `details.fields` flattened to form field names (`compatibility.backstage` -> `backstage`)."""
    aliases = aliases or {}
    found: dict[str, str] = {}

    def walk(prefix: str, value):
        if isinstance(value, dict):
            for key, inner in value.items():
                walk(f"{prefix}.{key}" if prefix else str(key), inner)
        else:
            messages = value if isinstance(value, list) else [value]
            name = aliases.get(prefix, prefix)
            found[name] = "; ".join(str(m) for m in messages if not isinstance(m, (dict, list))) or str(value)

    walk("", (error.details or {}).get("fields") or {})
    if not found:
        found["_form"] = error.message
    return found


def _portal_url(api, path: str) -> str:
    return api.portal_url + path


@bp.get("")
@publisher_required
def dashboard():
    """The signed-in publisher's plugins with status, current version, downloads (one API call)."""
    api = client()
    plugins = api.get_json(_portal_url(api, "/addons/api/plugins/"))
    return render_template("publisher/dashboard.html", plugins=plugins or [])


def _split(value: str) -> list[str]:
    return [item.strip() for item in value.replace("\n", ",").split(",") if item.strip()]


def _plugin_body(form) -> dict:
    body = {"name": form.get("name", "").strip(), "description": form.get("description", "").strip(),
            "category": form.get("category", "").strip()}
    for key in ("displayName", "license", "repository", "homepage", "longDescription"):
        value = form.get(key, "").strip()
        if value:
            body[key] = value
    tags = _split(form.get("tags", ""))
    if tags:
        body["tags"] = tags
    compatibility = {key: form.get(key, "").strip() for key in ("backstage", "node") if form.get(key, "").strip()}
    if compatibility:
        body["compatibility"] = compatibility
    return body


@bp.route("/plugins/new", methods=["GET", "POST"])
@publisher_required
def create_plugin():
    values = {key: request.form.get(key, "") for key in PLUGIN_FIELDS}
    errors: dict[str, str] = {}
    if request.method == "POST":
        for key in ("name", "description", "category"):
            if not values[key].strip():
                errors[key] = "Required."
        if not errors:
            try:
                created = client().publisher.create_plugin(_plugin_body(request.form))
            except MarketplaceError as error:
                if error.status not in (400, 409, 422):
                    raise
                errors = field_errors(error, {"compatibility.backstage": "backstage", "compatibility.node": "node"})
                if error.status == 409:
                    errors = {"name": error.message}
            else:
                return _back_to_manage(created.get("name"),
                                       f"Plugin {created.get('name')} created: upload its first version to publish it.")
    status = 400 if errors else 200
    return render_template("publisher/plugin_form.html", values=values, errors=errors), status


def _managed(name: str) -> dict:
    return client().plugins.get(name)


def _manage_page(plugin: dict, errors: dict | None = None, values: dict | None = None):
    """The plugin's publishing page; with errors (a form on it was refused) answered 400."""
    page = render_template("publisher/manage.html", plugin=plugin, errors=errors or {}, values=values or {})
    return (page, 400) if errors else page


def _back_to_manage(name: str, message: str):
    """After a change: say what happened on the publishing page (POST-redirect-GET)."""
    flash(message)
    return redirect(url_for("publisher.manage", name=name), 303)


@bp.get("/plugins/<path:name>")
@publisher_required
def manage(name: str):
    """One plugin's publishing page: status, versions with yank, images, publish/unpublish, deprecate."""
    return _manage_page(_managed(name))


def _parse_dependencies(text: str) -> list[dict]:
    found = []
    for line in text.splitlines():
        parts = line.split()
        if not parts:
            continue
        if len(parts) != 2:
            raise ValueError("One dependency a line: a name, a space, a version range (catalog-backend ^1.0.0).")
        found.append({"name": parts[0], "version": parts[1]})
    return found


@bp.route("/plugins/<path:name>/versions/new", methods=["GET", "POST"])
@publisher_required
def new_version(name: str):
    """Upload a version with its package; the API's validation errors show next to each field."""
    plugin = _managed(name)
    values = {key: request.form.get(key, "") for key in VERSION_FIELDS}
    errors: dict[str, str] = {}
    if request.method == "POST":
        metadata: dict = {"version": values["version"].strip(), "changelog": values["changelog"]}
        compatibility = {key: values[key].strip() for key in ("backstage", "node") if values[key].strip()}
        if compatibility:
            metadata["compatibility"] = compatibility
        try:
            dependencies = _parse_dependencies(values["dependencies"])
            if dependencies:
                metadata["dependencies"] = dependencies
        except ValueError as problem:
            errors["dependencies"] = str(problem)
        permissions = _split(values["permissions"])
        if permissions:
            metadata["permissions"] = permissions
        if values["configuration"].strip():
            try:
                configuration = json.loads(values["configuration"])
                if not isinstance(configuration, dict):
                    raise ValueError
                metadata["configuration"] = configuration
            except ValueError:
                errors["configuration"] = 'Not a JSON object ({"schema": {…}, "defaults": {…}, "examples": […]}).'
        if not metadata["version"]:
            errors["version"] = "Required."
        package = request.files.get("package")
        if package is None or not package.filename:
            errors["package"] = "Choose the package file (.tgz, .zip or .jar)."
        if not errors:
            try:
                client().publisher.publish_version(plugin["id"], (package.filename, package.stream), metadata)
            except MarketplaceError as error:
                if error.status not in (400, 409, 413, 415, 422):
                    raise
                errors = field_errors(error, {"compatibility.backstage": "backstage", "compatibility.node": "node"})
                if error.status == 409 and "_form" in errors:
                    errors = {"version": error.message}
            else:
                return _back_to_manage(plugin["name"], f"Version {metadata['version']} is published.")
    status = 400 if errors else 200
    return render_template("publisher/version_form.html", plugin=plugin, values=values, errors=errors), status


@bp.post("/plugins/<path:name>/images")
@publisher_required
def upload_images(name: str):
    plugin = _managed(name)
    icon = request.files.get("icon")
    icon = icon if icon is not None and icon.filename else None
    shots = [shot for shot in request.files.getlist("screenshots") if shot.filename]
    errors = {}
    if icon is None and not shots:
        errors["icon"] = "Choose an icon or at least one screenshot."
    else:
        try:
            client().publisher.upload_images(plugin["id"], icon=(icon.filename, icon.stream) if icon else None,
                                             screenshots=[(shot.filename, shot.stream) for shot in shots])
        except MarketplaceError as error:
            if error.status not in (400, 413, 415, 422):
                raise
            errors = field_errors(error, {"screenshot": "screenshots"})
            if "_form" in errors:
                errors["icon"] = errors.pop("_form")
    if errors:
        return _manage_page(plugin, errors)
    return _back_to_manage(plugin["name"], "Images uploaded.")


@bp.post("/plugins/<path:name>/images/<image>/delete")
@publisher_required
def delete_image(name: str, image: str):
    plugin = _managed(name)
    client().publisher.delete_image(plugin["id"], image)
    return _back_to_manage(plugin["name"], "Image removed.")


@bp.post("/plugins/<path:name>/status")
@publisher_required
def change_status(name: str):
    """Publish or unpublish."""
    plugin = _managed(name)
    action = request.form.get("action")
    if action == "publish":
        client().publisher.publish(plugin["id"])
        return _back_to_manage(plugin["name"], "The plugin is in the public catalog again.")
    if action == "unpublish":
        client().publisher.unpublish(plugin["id"])
        return _back_to_manage(plugin["name"], "The plugin is hidden from the public catalog.")
    abort(400, description="Choose publish or unpublish.")


@bp.post("/plugins/<path:name>/deprecate")
@publisher_required
def deprecate(name: str):
    plugin = _managed(name)
    values = {"reason": request.form.get("reason", "").strip(),
              "replacement": request.form.get("replacement", "").strip()}
    errors = {}
    if not values["reason"]:
        errors["reason"] = "Say why it is deprecated."
    else:
        try:
            client().publisher.deprecate(plugin["id"], values["reason"], values["replacement"] or None)
        except MarketplaceError as error:
            if error.status not in (400, 404, 422):
                raise
            errors = field_errors(error)
            if "_form" in errors:
                errors = {"replacement": errors["_form"]}
    if errors:
        return _manage_page(plugin, errors, values)
    return _back_to_manage(plugin["name"], "The plugin is marked deprecated.")


@bp.post("/plugins/<path:name>/versions/<version>/yank")
@publisher_required
def yank(name: str, version: str):
    plugin = _managed(name)
    reason = request.form.get("reason", "").strip()
    if not reason:
        errors = {f"yank-{version}": "Say why this version is yanked."}
        return _manage_page(plugin, errors)
    client().publisher.yank(plugin["id"], version, reason)
    return _back_to_manage(plugin["name"],
                           f"Version {version} is yanked: it stays visible with the reason and cannot be installed.")
