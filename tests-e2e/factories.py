"""Small factories for the end-to-end tests: plugins with versions, published through the gateway."""

import json

from api_client import ApiClient, expect
from marketplace_shared.testing import unique_name, wait_for
from seed import npm_package, png_icon


def publish_plugin(publisher: ApiClient, name: str | None = None, versions=("1.0.0",), category: str = "monitoring",
                   backstage: str = "^1.30.0", schema: dict | None = None, **fields) -> dict:
    """Create a plugin and publish its versions; returns the plugin as GET /plugins/{id} shows it."""
    name = name or unique_name("plugin").replace("_", "-")
    plugin = expect(publisher.post("/plugins", json={
        "name": name, "displayName": name.title(), "description": f"The {name} plugin", "category": category,
        "tags": ["e2e"], "license": "Apache-2.0", **fields}), 201)["data"]
    for version in versions:
        publish_version(publisher, plugin["id"], version, backstage=backstage, schema=schema)
    return expect(publisher.get(f"/plugins/{plugin['id']}"), 200)["data"]


def publish_version(publisher: ApiClient, plugin_id: str, version: str, backstage: str = "^1.30.0",
                    schema: dict | None = None, package: bytes | None = None) -> dict:
    metadata = {"version": version, "changelog": f"Release {version}",
                "compatibility": {"backstage": backstage, "node": ">=18.0.0"},
                "configuration": {"schema": schema or {}, "defaults": {}, "examples": []}}
    return expect(publisher.post(
        f"/plugins/{plugin_id}/versions", data={"metadata": json.dumps(metadata)},
        files={"package": (f"{plugin_id}-{version}.tgz", package or npm_package(plugin_id, version),
                           "application/gzip")}), 201)["data"]


def upload_icon(publisher: ApiClient, plugin_id: str) -> dict:
    return expect(publisher.post(f"/plugins/{plugin_id}/images",
                                 files={"icon": ("icon.png", png_icon(1), "image/png")}), 201)["data"]


def wait_until_installable(client: ApiClient, plugin_id: str, environment: str | None = None) -> dict:
    """The install service learns of a plugin through events: install once it knows it."""
    environment = environment or unique_name("env").replace("_", "-")

    def attempt():
        response = client.post(f"/plugins/{plugin_id}/install",
                               json={"environment": environment, "namespace": "backstage-plugins"})
        if response.status_code == 404:
            return None
        return expect(response, 202)["data"]

    return wait_for(attempt, timeout=30, message=f"install service to know {plugin_id}")


def wait_for_installation(client: ApiClient, installation_id: str, statuses=("completed",), timeout=60) -> dict:
    finished = ("completed", "failed", "cancelled", "uninstalled")

    def done():
        data = expect(client.get(f"/installations/{installation_id}"), 200)["data"]
        return data if data["status"] in finished or data["status"] in statuses else None

    data = wait_for(done, timeout=timeout, interval=0.1, message=f"installation {installation_id} to finish")
    assert data["status"] in statuses, data
    return data
