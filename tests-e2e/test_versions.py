"""One version semantics across services (issue 15): a plugin published as `0.2` through the BlueMind door,
as the document's script does it, is listed, ordered and installed the same way by the catalog and the
install service: with no version, with `^0.2` and with `0.2`; then upgraded from `0.2` to `0.3`.

And one compatibility: the plugin's default (POST/PATCH /plugins), which a version's own ranges override,
is what every list item shows and what the install service checks, through either door."""

import io
import json
import zipfile

import requests

from api_client import expect, expect_error
from factories import ensure_environment, publish_version, wait_for_installation
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


# --- plugin-level compatibility ------------------------------------------------------------------------

def listed_compatibility(client, plugin_id: str, category: str) -> dict:
    [item] = [p for p in expect(client.get("/plugins", params={"category": category, "limit": 100}), 200)["data"]
              if p["id"] == plugin_id]
    return item["compatibility"]


def refused_install(client, plugin_id: str, environment: str, version: str) -> dict:
    """Once the install service knows the version: its answer for this environment (never a 202 here)."""
    def attempt():
        response = install(client, plugin_id, environment, version)
        assert response.status_code != 202, response.text
        return None if response.status_code == 404 else response.json()

    return wait_for(attempt, timeout=30, message=f"the install service to know {version}")


def test_the_plugins_default_compatibility_is_listed_inherited_overridden_and_checked(admin, publisher, user):
    old_portal = ensure_environment(admin, unique_name("old").replace("_", "-"), "1.20.0", "20.11.0")["name"]
    category = unique_name("compat").replace("_", "-")
    default = {"backstage": "^1.30.0", "node": ">=18.0.0", "platform": ["linux"]}
    plugin = expect(publisher.post("/plugins", json={
        "name": unique_name("compat").replace("_", "-"), "description": "Compatibility", "category": category,
        "compatibility": default}), 201)["data"]
    assert plugin["compatibility"] == default
    # A version with no ranges of its own inherits the default; one with its own keeps them.
    metadata = {"version": "1.0.0", "changelog": "First"}
    expect(publisher.post(f"/plugins/{plugin['id']}/versions", data={"metadata": json.dumps(metadata)},
                          files={"package": ("p.zip", jar("p", "1.0.0"), "application/zip")}), 201)
    assert listed_compatibility(user, plugin["id"], category) == default
    body = refused_install(user, plugin["id"], old_portal, "1.0.0")  # the inherited ^1.30.0 is checked
    assert body["error"]["code"] == "INCOMPATIBLE_ENVIRONMENT", body

    publish_version(publisher, plugin["id"], "2.0.0", backstage=">=1.10.0")  # its own backstage and node
    assert listed_compatibility(user, plugin["id"], category) == {**default, "backstage": ">=1.10.0"}
    versions = {v["version"]: v["compatibility"] for v in expect(user.get(f"/plugins/{plugin['id']}"), 200)["data"][
        "versions"]}
    assert versions == {"2.0.0": {**default, "backstage": ">=1.10.0"}, "1.0.0": default}
    accepted = wait_for(lambda: (lambda r: r if r.status_code == 202 else None)(
        install(user, plugin["id"], old_portal, "2.0.0")), timeout=30, message="2.0.0 known")
    wait_for_installation(user, accepted.json()["data"]["installationId"])

    # PATCH merges into the default: every list item shows it where the latest version declares nothing.
    expect(publisher.patch(f"/plugins/{plugin['id']}", json={"compatibility": {"platform": ["linux", "darwin"]}}),
           200)
    assert listed_compatibility(user, plugin["id"], category) == {**default, "backstage": ">=1.10.0",
                                                                 "platform": ["linux", "darwin"]}
    bad = expect_error(publisher.patch(f"/plugins/{plugin['id']}", json={"compatibility": {"backstage": "soon"}}),
                       400, "VALIDATION_ERROR")
    assert "compatibility" in json.dumps(bad["error"]["details"])

    # A default that widens what 1.0.0 inherits reaches the install service (plugin.compatibility_changed).
    expect(publisher.patch(f"/plugins/{plugin['id']}", json={"compatibility": {"backstage": ">=1.10.0"}}), 200)
    another_old_portal = ensure_environment(admin, unique_name("old").replace("_", "-"), "1.20.0", "20.11.0")["name"]
    accepted = wait_for(lambda: (lambda r: r if r.status_code == 202 else None)(
        install(user, plugin["id"], another_old_portal, "1.0.0")), timeout=30, message="the new default known")
    wait_for_installation(user, accepted.json()["data"]["installationId"])


def test_the_bluemind_door_fills_the_same_compatibility_fields(stack, admin, publisher, user):
    old_portal = ensure_environment(admin, unique_name("old").replace("_", "-"), "1.20.0", "20.11.0")["name"]
    website = stack.gateway_url + "/"
    plugin_name = f"Compat plugin {unique_name('ver')}"
    created = bluemind_post(website, 'addons/api/plugins/', {
        'api_key': publisher.key, 'name': plugin_name, 'shortdesc': 'Short', 'description': 'Long',
        'license': 'MIT', 'installation_instructions': 'Unzip'}, {})
    assert created.status_code == 201, created.text
    plugin_id = created.json()["plugin_id"]
    expect(publisher.patch(f"/plugins/{plugin_id}", json={"compatibility": {"backstage": "^1.30.0"}}), 200)
    response = bluemind_post(website, 'addons/api/plugin_version/', {
        'api_key': publisher.key, 'plugin_name': plugin_name, 'version': '0.2', 'target_bm_versions': '3.x, 4.x',
        'release_notes': 'First'}, {'package': ('p.jar', jar("p", "0.2"))})
    assert response.status_code == 201, response.text
    both = {"backstage": "^1.30.0", "node": None, "platform": ["3.x", "4.x"]}
    assert listed_compatibility(user, plugin_id, "other") == both
    shown = requests.get(f"{website}addons/api/plugin/{created.json()['id']}/", headers={"api-key": publisher.key})
    assert expect(shown, 200)["compatibility"] == both and shown.json()["versions"][0]["target_bm_versions"] == \
        "3.x, 4.x"
    body = refused_install(user, plugin_id, old_portal, "0.2")
    assert body["error"]["code"] == "INCOMPATIBLE_ENVIRONMENT", body
