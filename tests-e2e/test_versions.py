"""One version semantics across services (issue 15): a plugin published as `0.2` through the BlueMind door,
as the document's script does it, is listed, ordered and installed the same way by the catalog and the
install service: with no version, with `^0.2` and with `0.2`; then upgraded from `0.2` to `0.3`."""

import io
import json
import zipfile

import requests

from api_client import expect, expect_error
from factories import wait_for_installation
from marketplace_shared.testing import unique_name, wait_for


def jar(name: str, version: str) -> bytes:
    raw = io.BytesIO()
    with zipfile.ZipFile(raw, "w") as archive:
        archive.writestr("META-INF/MANIFEST.MF", f"Manifest-Version: 1.0\nBundle-Version: {version}\n")
        archive.writestr(f"{name}/Plugin.class", b"\xca\xfe\xba\xbe" + version.encode())
    return raw.getvalue()


def bluemind_post(website: str, path: str, data: dict, files: dict) -> requests.Response:
    """The document's POST REQUEST line, as its script sends it."""
    return requests.post(website + path, files=files, data={'json': json.dumps(data)}, verify=False)


def publish_with_the_script(website: str, api_key: str, plugin_name: str, version: str, package_path) -> dict:
    # The document's POST PLUGIN VERSION data, with this run's key, plugin name and version.
    data = {
        'api_key': api_key,
        'plugin_name': plugin_name,
        'version': version,
        'target_bm_versions': '3.x',
        'release_notes': 'We just put out a new release'
    }
    with open(package_path, 'rb') as package:
        req = bluemind_post(website, 'addons/api/plugin_version/', data, {'package': package})
    assert req.status_code == 201, req.text
    return req.json()


def install(client, plugin_id: str, environment: str, version: str | None = None) -> requests.Response:
    body = {"environment": environment} if version is None else {"environment": environment, "version": version}
    return client.post(f"/plugins/{plugin_id}/install", json=body)


def env() -> str:
    return unique_name("ver").replace("_", "-")


def test_a_bluemind_0_2_installs_by_default_by_range_and_by_name_and_upgrades_to_0_3(stack, publisher, user,
                                                                                     tmp_path):
    website = stack.gateway_url + "/"
    plugin_name = f"Super plugin {unique_name('ver')}"
    created = bluemind_post(website, 'addons/api/plugins/', {
        'api_key': publisher.key, 'name': plugin_name, 'shortdesc': 'A short description',
        'description': 'A long description', 'license': 'A license',
        'installation_instructions': 'Some instructions', 'home_url': "http://www.blue-mind.net"}, {})
    assert created.status_code == 201, created.text
    plugin_id = created.json()["plugin_id"]
    for version in ("0.2", "0.3"):
        (tmp_path / f"super_plugin-{version}.jar").write_bytes(jar("super_plugin", version))

    published = publish_with_the_script(website, publisher.key, plugin_name, "0.2", tmp_path / "super_plugin-0.2.jar")
    assert published["version"] == "0.2"

    # The catalog lists it as published, in its own spelling.
    listed = expect(user.get(f"/plugins/{plugin_id}"), 200)["data"]
    assert listed["version"] == "0.2" and [v["version"] for v in listed["versions"]] == ["0.2"]

    # The install service learns of it through the catalog's events; then every way of naming it works.
    def known():
        response = install(user, plugin_id, by_name_env, "0.2")
        if response.status_code == 404 and response.json()["error"]["code"] == "PLUGIN_NOT_FOUND":
            return None
        return response

    by_name_env = env()
    by_name = expect(wait_for(known, timeout=30, message="the install service to know the plugin"), 202)["data"]
    default = expect(install(user, plugin_id, env()), 202)["data"]  # was 404 "has no installable version"
    by_range = expect(install(user, plugin_id, env(), "^0.2"), 202)["data"]
    by_full_form = expect(install(user, plugin_id, env(), "0.2.0"), 202)["data"]
    for accepted in (by_name, default, by_range, by_full_form):
        assert accepted["status"] == "in_progress" and accepted["details"]["version"] == "0.2", accepted
    for accepted in (by_name, default, by_range, by_full_form):
        done = wait_for_installation(user, accepted["installationId"])
        assert done["installedVersion"] == "0.2"
    expect_error(install(user, plugin_id, env(), "0.3"), 404, "VERSION_NOT_FOUND")
    expect_error(install(user, plugin_id, env(), "^0.3"), 404, "VERSION_NOT_FOUND")

    # 0.3 through the same script: the catalog orders it first; the upgrade from 0.2 works.
    publish_with_the_script(website, publisher.key, plugin_name, "0.3", tmp_path / "super_plugin-0.3.jar")
    listed = expect(user.get(f"/plugins/{plugin_id}"), 200)["data"]
    assert listed["version"] == "0.3" and [v["version"] for v in listed["versions"]] == ["0.3", "0.2"]

    def upgraded():
        response = user.patch(f"/installations/{default['installationId']}", json={"version": "0.3"})
        if response.status_code == 404 and response.json()["error"]["code"] == "VERSION_NOT_FOUND":
            return None
        return response

    accepted = expect(wait_for(upgraded, timeout=30, message="the install service to know 0.3"), 202)["data"]
    assert accepted["status"] == "in_progress" and accepted["details"]["version"] == "0.3"
    done = wait_for_installation(user, default["installationId"])
    assert (done["action"], done["installedVersion"], done["previousVersion"]) == ("upgrade", "0.3", "0.2")

    # With no version, the install service and the catalog agree on the latest; `^0.2` still means 0.2.x.
    assert expect(install(user, plugin_id, env()), 202)["data"]["details"]["version"] == listed["version"]
    assert expect(install(user, plugin_id, env(), "^0.2"), 202)["data"]["details"]["version"] == "0.2"
    assert expect(install(user, plugin_id, env(), ">=0.2"), 202)["data"]["details"]["version"] == "0.3"
