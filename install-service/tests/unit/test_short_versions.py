"""Short versions (`0.2`, as BlueMind publishes them): ordered and resolved by the catalog's normalized form."""

import install_testkit as factories

PREFIX = "/api/marketplace/v1"


def publish_short(catalog, name: str, versions: dict[str, str]) -> str:
    """Publish {text: normalized} the way the catalog's events carry them."""
    plugin_id = factories.new_plugin_id()
    first = next(iter(versions))
    catalog.apply(factories.plugin_published(plugin_id, name, first))
    for text, normalized in versions.items():
        body = factories.make_tgz(factories.package_files(name, text))
        catalog.downloader.packages[(plugin_id, text)] = body
        catalog.apply(factories.version_published(plugin_id, name, text, body, normalized=normalized))
    return plugin_id


def accepted_version(client, config, plugin_id: str, version: str | None, environment: str) -> tuple[int, dict]:
    body = {"environment": environment} if version is None else {"environment": environment, "version": version}
    response = client.post(f"{PREFIX}/plugins/{plugin_id}/install", json=body, headers=factories.headers(config))
    return response.status_code, response.get_json()


def test_short_versions_install_with_no_version_a_range_or_the_version(client, config, catalog):
    plugin_id = publish_short(catalog, "short-one", {"0.2": "0.2.0", "0.10": "0.10.0", "0.9": "0.9.0"})
    cases = [(None, "0.10"), ("^0.2", "0.2"), ("0.2", "0.2"), ("0.2.0", "0.2"), ("~0.9", "0.9"), (">=0.3", "0.10")]
    for index, (wanted, expected) in enumerate(cases):
        status, body = accepted_version(client, config, plugin_id, wanted, f"env-{index}")
        assert status == 202, (wanted, body)
        assert body["data"]["details"]["version"] == expected, wanted
        assert body["data"]["status"] == "in_progress"


def test_a_short_version_that_is_not_published_is_404(client, config, catalog):
    plugin_id = publish_short(catalog, "short-two", {"0.2": "0.2.0"})
    for wanted in ("0.3", "0.3.0", "^1"):
        status, body = accepted_version(client, config, plugin_id, wanted, "dev")
        assert status == 404 and body["error"]["code"] == "VERSION_NOT_FOUND", wanted


def test_a_yanked_short_version_is_refused_by_either_spelling(client, config, catalog):
    plugin_id = publish_short(catalog, "short-three", {"0.2": "0.2.0", "0.3": "0.3.0"})
    catalog.apply(factories.version_yanked(plugin_id, "0.3"))
    for wanted in ("0.3", "0.3.0"):
        status, body = accepted_version(client, config, plugin_id, wanted, "dev")
        assert status == 409 and body["error"]["code"] == "VERSION_YANKED", wanted
    status, body = accepted_version(client, config, plugin_id, None, "dev")
    assert status == 202 and body["data"]["details"]["version"] == "0.2"


def test_a_changed_default_compatibility_reaches_the_versions_that_inherit_it(client, config, catalog):
    plugin_id = catalog.publish("inherits", ["1.0.0"], backstage="^1.40.0")
    refused = client.post(f"{PREFIX}/plugins/{plugin_id}/install", json={"environment": "production"},
                          headers=factories.headers(config))
    assert refused.status_code == 409 and refused.get_json()["error"]["code"] == "INCOMPATIBLE_ENVIRONMENT"
    ranges = {"backstage": ">=1.10.0", "node": ">=18.0.0", "platform": []}
    catalog.apply(factories.new_event("plugin.compatibility_changed", "catalog-service", {
        "pluginId": plugin_id, "ownerId": "acct_owner", "default": ranges,
        "versions": [{"version": "1.0.0", "compatibility": ranges}, {"version": "9.9.9", "compatibility": ranges}]},
        plugin_id))
    accepted = client.post(f"{PREFIX}/plugins/{plugin_id}/install", json={"environment": "production"},
                           headers=factories.headers(config))
    assert accepted.status_code == 202, accepted.get_json()
