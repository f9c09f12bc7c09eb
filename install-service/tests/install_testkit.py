"""The install service's test factories: packages, the catalog's events, identity headers (tests and bench.py).

Archives and identity tokens come from marketplace_shared.testing; `make_tgz` and `make_zip` are re-exported
here so that a test needs one import."""

import base64
import hashlib
import uuid

from marketplace_shared.events import new_event
from marketplace_shared.testing import identity_headers, make_tgz, make_zip  # noqa: F401 - re-exported for the tests

SCHEMA = {
    "type": "object",
    "properties": {"apiUrl": {"type": "string", "minLength": 1}, "retries": {"type": "integer", "minimum": 0}},
    "required": ["apiUrl"],
    "additionalProperties": False,
}


def package_files(name: str, version: str) -> dict[str, bytes]:
    return {"package.json": f'{{"name": "{name}", "version": "{version}"}}'.encode(),
            "dist/index.js": f"module.exports = '{name}@{version}';\n".encode()}


def package_info(body: bytes, plugin_id: str, version: str) -> dict:
    return {"path": f"/api/marketplace/v1/plugins/{plugin_id}/versions/{version}/package", "size": len(body),
            "sha256": hashlib.sha256(body).hexdigest(),
            "integrity": "sha256-" + base64.b64encode(hashlib.sha256(body).digest()).decode()}


def plugin_published(plugin_id: str, name: str, version: str = "1.0.0", owner: str = "acct_owner") -> dict:
    return new_event("plugin.published", "catalog-service", {
        "pluginId": plugin_id, "name": name, "displayName": name.title(), "ownerId": owner, "version": version,
        "category": "backend"}, plugin_id)


def version_published(plugin_id: str, name: str, version: str, body: bytes, schema: dict | None = None,
                      backstage: str = "^1.30.0", node: str = ">=18.0.0", dependencies=None,
                      normalized: str | None = None) -> dict:
    return new_event("plugin.version_published", "catalog-service", {
        "pluginId": plugin_id, "name": name, "ownerId": "acct_owner", "version": version,
        "normalizedVersion": normalized or version,
        "releaseDate": "2026-11-01T00:00:00.000Z",
        "compatibility": {"backstage": backstage, "node": node, "platform": []},
        "dependencies": dependencies or [], "configurationSchema": schema or {},
        "package": package_info(body, plugin_id, version)}, plugin_id)


def version_yanked(plugin_id: str, version: str, reason: str = "broken") -> dict:
    return new_event("plugin.version_yanked", "catalog-service", {
        "pluginId": plugin_id, "ownerId": "acct_owner", "version": version, "reason": reason}, plugin_id)


def unpublished(plugin_id: str) -> dict:
    return new_event("plugin.unpublished", "catalog-service", {"pluginId": plugin_id, "ownerId": "acct_owner"},
                     plugin_id)


def headers(config, account: str = "acct_ann", role: str = "user") -> dict:
    return identity_headers(config.INTERNAL_TOKEN_SECRET, account, role, name="Ann", email="ann@example.com")


def new_plugin_id() -> str:
    return f"plugin_{uuid.uuid4().hex[:10]}"
