"""Publishing through the gateway (issue 5), with real multipart uploads through both doors:

- the native publisher API: create, patch, versions (metadata + package), images, unpublish/publish and
  what the public list shows, deprecate, yank (the version stays visible with its reason and the install
  service refuses it), verified/featured for admins only, 403 for anyone but the owner;
- the BlueMind document's Python script, ported only from Python 2 `print` to Python 3: a plugin with a
  thumbnail and two screenshots, a version with a package, both GET calls; the result is an ordinary
  catalog plugin with its screenshots, version and integrity;
- bad inputs (missing/garbled json part, missing package, a text file named .png, an oversize image, path
  traversal, another publisher's plugin): the right status and code, and nothing stored;
- download integrity: the sha256 of the downloaded bytes is the `integrity` and the ETag."""

import base64
import hashlib
import io
import json
import tarfile
import zipfile
from pathlib import Path

import pytest
import requests

from api_client import PREFIX, expect, expect_error
from factories import ANCIENT_ENVIRONMENT, ensure_environment, new_account
from marketplace_shared.testing import unique_name, wait_for
from seed import npm_package, png_icon

MAX_IMAGE_BYTES = 5 * 1024 * 1024  # the catalog's default MAX_IMAGE_BYTES


def slug(prefix: str) -> str:
    return unique_name(prefix).replace("_", "-")


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def integrity(data: bytes) -> str:
    return "sha256-" + base64.b64encode(hashlib.sha256(data).digest()).decode()


def jar_package(name: str) -> bytes:
    raw = io.BytesIO()
    with zipfile.ZipFile(raw, "w") as archive:
        archive.writestr("META-INF/MANIFEST.MF", f"Manifest-Version: 1.0\nBundle-SymbolicName: {name}\n")
        archive.writestr(f"{name}/Plugin.class", b"\xca\xfe\xba\xbe" + name.encode())
    return raw.getvalue()


def tgz_with(members: dict[str, bytes]) -> bytes:
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w:gz") as archive:
        for path, content in members.items():
            info = tarfile.TarInfo(path)
            info.size = len(content)
            archive.addfile(info, io.BytesIO(content))
    return raw.getvalue()


def oversize_png() -> bytes:
    """Starts like a PNG, one byte over the image limit."""
    head = png_icon(3)
    return head + bytes(MAX_IMAGE_BYTES + 1 - len(head))


def create(client, name: str | None = None, category: str | None = None, **fields) -> dict:
    name = name or slug("pub")
    body = {"name": name, "displayName": f"Plugin {name}", "description": f"The {name} plugin",
            "category": category or slug("cat"), "tags": ["e2e"], "license": "MIT", **fields}
    return expect(client.post("/plugins", json=body), 201)["data"]


def post_version(client, plugin_id: str, version: str, package: bytes | None = None,
                 filename: str | None = None, **metadata):
    body = {"version": version, "changelog": f"Release {version}",
            "compatibility": {"backstage": "^1.30.0", "node": ">=18.0.0"}, **metadata}
    package = npm_package(plugin_id, version) if package is None else package
    return client.post(f"/plugins/{plugin_id}/versions", data={"metadata": json.dumps(body)},
                       files={"package": (filename or f"{plugin_id}-{version}.tgz", package, "application/gzip")})


def release(client, plugin_id: str, version: str, **kwargs) -> dict:
    return expect(post_version(client, plugin_id, version, **kwargs), 201)["data"]


def detail(client, ref: str) -> dict:
    return expect(client.get(f"/plugins/{ref}"), 200)["data"]


def public_ids(client, category: str) -> list[str]:
    return [p["id"] for p in expect(client.get("/plugins", params={"category": category}), 200)["data"]]


def field_names(response, status=400, code="VALIDATION_ERROR") -> set[str]:
    body = expect_error(response, status, code)
    return set(body["error"].get("details", {}).get("fields", {}))


def stored_files(stack, kind: str, plugin_id: str) -> list[str]:
    """Blobs the catalog keeps for a plugin (packages/ or images/) in its local artifact store."""
    folder = Path(stack.env["ARTIFACT_ROOT"]) / kind / plugin_id
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def fetch(client, url: str) -> requests.Response:
    response = client.get(url)
    assert response.status_code == 200, response.text[:300]
    return response


# --- the native API --------------------------------------------------------------------------------------

def test_create_patch_version_images_and_visibility(anonymous, publisher):
    category = slug("cat")
    plugin = create(publisher, category=category, longDescription="# Docs", repository="https://example.com/r")
    plugin_id = plugin["id"]
    assert plugin_id.startswith("plugin_") and plugin["status"] == "unpublished" and plugin["version"] is None
    assert plugin["author"]["id"] == publisher.account["id"]
    # No version yet: not in the public catalog, visible to its owner.
    expect_error(anonymous.get(f"/plugins/{plugin_id}"), 404, "PLUGIN_NOT_FOUND")
    assert public_ids(anonymous, category) == []
    assert detail(publisher, plugin_id)["status"] == "unpublished"

    patched = expect(publisher.patch(f"/plugins/{plugin_id}", json={
        "displayName": "Renamed", "description": "Now described", "tags": ["renamed", "e2e"],
        "features": ["One thing"]}), 200)["data"]
    assert (patched["displayName"], patched["description"], patched["tags"], patched["features"]) == \
        ("Renamed", "Now described", ["renamed", "e2e"], ["One thing"])

    package = npm_package(plugin_id, "1.0.0")
    schema = {"type": "object", "properties": {"url": {"type": "string"}}}
    response = post_version(publisher, plugin_id, "1.0.0", package=package, changelog="First",
                            dependencies=[{"name": "@backstage/core-plugin-api", "version": "^1.9.0"}],
                            configuration={"schema": schema, "defaults": {"url": "https://a.example"},
                                           "examples": [{"url": "https://b.example"}]},
                            permissions=["thing.read"])
    version = expect(response, 201)["data"]
    assert version["version"] == "1.0.0" and version["changelog"] == "First" and version["yanked"] is False
    assert version["package"]["size"] == len(package) and version["package"]["sha256"] == sha256(package)
    assert version["package"]["integrity"] == integrity(package)
    assert version["package"]["format"] == "tgz"
    assert version["package"]["url"] == f"{PREFIX}/plugins/{plugin_id}/versions/1.0.0/package"

    # A version makes it public.
    shown = detail(anonymous, plugin_id)
    assert shown["status"] == "published" and shown["version"] == "1.0.0"
    assert shown["configuration"] == {"schema": schema, "defaults": {"url": "https://a.example"},
                                      "examples": [{"url": "https://b.example"}]}
    assert shown["permissions"] == ["thing.read"]
    assert shown["dependencies"] == [{"name": "@backstage/core-plugin-api", "version": "^1.9.0"}]
    assert public_ids(anonymous, category) == [plugin_id]

    icon, first, second = png_icon(21), png_icon(22, 24), png_icon(23, 32)
    images = expect(publisher.post(f"/plugins/{plugin_id}/images", files=[
        ("icon", ("icon.png", icon, "image/png")), ("screenshots", ("one.png", first, "image/png")),
        ("screenshots", ("two.png", second, "image/png"))]), 201)["data"]
    assert len(images["screenshots"]) == 2
    shown = detail(anonymous, plugin_id)
    assert shown["icon"] == images["icon"] and shown["screenshots"] == images["screenshots"]
    for url, data in zip([shown["icon"], *shown["screenshots"]], (icon, first, second), strict=True):
        response = fetch(anonymous, url)
        assert response.content == data and response.headers["Content-Type"] == "image/png"
    listed = expect(anonymous.get("/plugins", params={"category": category}), 200)["data"][0]
    assert listed["icon"] == images["icon"]

    # Unpublish hides it from everyone but its owner; publish brings it back.
    hidden = expect(publisher.post(f"/plugins/{plugin_id}/unpublish"), 200)["data"]
    assert hidden["status"] == "unpublished"
    assert public_ids(anonymous, category) == []
    expect_error(anonymous.get(f"/plugins/{plugin_id}"), 404, "PLUGIN_NOT_FOUND")
    expect_error(anonymous.get(f"/plugins/{plugin_id}/versions/1.0.0/package"), 404, "PLUGIN_NOT_FOUND")
    search = expect(anonymous.post("/plugins/search", json={"filters": {"categories": [category]}}), 200)
    assert search["data"] == []
    assert detail(publisher, plugin_id)["status"] == "unpublished"
    shown = expect(publisher.post(f"/plugins/{plugin_id}/publish"), 200)["data"]
    assert shown["status"] == "published"
    assert public_ids(anonymous, category) == [plugin_id]


def test_download_integrity_and_etag(anonymous, publisher):
    plugin = create(publisher)
    package = npm_package(plugin["id"], "2.0.0", padding=5000)
    version = release(publisher, plugin["id"], "2.0.0", package=package)
    response = fetch(anonymous, version["package"]["url"])
    assert response.content == package
    assert sha256(response.content) == version["package"]["sha256"]
    assert integrity(response.content) == version["package"]["integrity"]
    assert response.headers["ETag"] == f'"{sha256(package)}"'
    assert response.headers["Content-Length"] == str(len(package))
    cached = anonymous.get(version["package"]["url"], headers={"If-None-Match": response.headers["ETag"]})
    assert cached.status_code == 304 and cached.content == b""
    jar = jar_package("demo")
    shown = release(publisher, plugin["id"], "2.1.0", package=jar, filename="demo.jar")
    assert shown["package"]["format"] == "jar" and shown["package"]["integrity"] == integrity(jar)
    assert fetch(anonymous, shown["package"]["url"]).content == jar
    expect_error(anonymous.get(f"/plugins/{plugin['id']}/versions/9.9.9/package"), 404, "VERSION_NOT_FOUND")


def test_deprecate_with_reason_and_replacement(anonymous, publisher):
    plugin, successor = create(publisher), create(publisher)
    for p in (plugin, successor):
        release(publisher, p["id"], "1.0.0")
    assert detail(anonymous, plugin["id"])["deprecation"] is None
    assert field_names(publisher.post(f"/plugins/{plugin['id']}/deprecate",
                                      json={"reason": "Gone", "replacement": "no-such-plugin-at-all"})) \
        == {"replacement"}
    assert field_names(publisher.post(f"/plugins/{plugin['id']}/deprecate", json={})) == {"reason"}
    data = expect(publisher.post(f"/plugins/{plugin['id']}/deprecate",
                                 json={"reason": "Superseded", "replacement": successor["name"]}), 200)["data"]
    assert data["deprecation"]["reason"] == "Superseded" and data["deprecation"]["replacement"] == successor["name"]
    shown = detail(anonymous, plugin["id"])
    assert shown["deprecation"] == data["deprecation"] and shown["deprecation"]["deprecatedAt"].endswith("Z")
    listed = expect(anonymous.get("/plugins", params={"category": plugin["category"]}), 200)["data"]
    assert listed[0]["deprecated"] is True


def test_a_yanked_version_stays_visible_with_its_reason_and_cannot_be_installed(anonymous, admin, publisher):
    plugin = create(publisher)
    plugin_id = plugin["id"]
    release(publisher, plugin_id, "1.0.0")
    release(publisher, plugin_id, "1.1.0")
    assert detail(anonymous, plugin_id)["version"] == "1.1.0"
    yanked = expect(publisher.post(f"/plugins/{plugin_id}/versions/1.1.0/yank", json={"reason": "Leaks memory"}),
                    200)["data"]
    assert yanked["version"] == "1.1.0" and yanked["yanked"] is True and yanked["yankReason"] == "Leaks memory"
    shown = detail(anonymous, plugin_id)
    assert shown["version"] == "1.0.0"  # the latest version that is not yanked
    versions = expect(anonymous.get(f"/plugins/{plugin_id}/versions"), 200)["data"]
    assert [(v["version"], v["yanked"], v["yankReason"]) for v in versions] == \
        [("1.1.0", True, "Leaks memory"), ("1.0.0", False, None)]
    assert expect(anonymous.get(f"/plugins/{plugin_id}/versions/1.1.0"), 200)["data"]["yankReason"] == \
        "Leaks memory"
    expect_error(publisher.post(f"/plugins/{plugin_id}/versions/3.0.0/yank", json={"reason": "x"}), 404,
                 "VERSION_NOT_FOUND")
    assert field_names(publisher.post(f"/plugins/{plugin_id}/versions/1.0.0/yank", json={})) == {"reason"}

    # The install service learns of the yank through events; an environment no version fits means no
    # install can start while it catches up.
    installer = new_account(admin, "user")
    ensure_environment(admin, ANCIENT_ENVIRONMENT, "0.1.0", "0.1.0")

    def refused():
        response = installer.post(f"/plugins/{plugin_id}/install",
                                  json={"environment": ANCIENT_ENVIRONMENT, "version": "1.1.0"})
        body = response.json()
        return body if response.status_code == 409 and body["error"]["code"] == "VERSION_YANKED" else None

    wait_for(refused, timeout=30, interval=0.1, message="the install service to refuse the yanked version")
    body = expect_error(installer.post(f"/plugins/{plugin_id}/install",
                                       json={"environment": slug("env"), "version": "1.1.0"}), 409, "VERSION_YANKED")
    assert "1.1.0" in body["error"]["message"]


def test_verified_and_featured_are_for_admins_only(anonymous, admin, publisher):
    plugin = create(publisher)
    release(publisher, plugin["id"], "1.0.0")
    expect_error(publisher.patch(f"/plugins/{plugin['id']}", json={"verified": True}), 403, "FORBIDDEN")
    expect_error(publisher.patch(f"/plugins/{plugin['id']}", json={"featured": True}), 403, "FORBIDDEN")
    expect_error(admin.post("/plugins", json={"name": slug("x"), "description": "d", "category": "other",
                                              "bogus": 1}), 400, "VALIDATION_ERROR")
    assert detail(anonymous, plugin["id"])["verified"] is False
    data = expect(admin.patch(f"/plugins/{plugin['id']}", json={"verified": True, "featured": True}), 200)["data"]
    assert data["verified"] is True and data["featured"] is True and data["author"]["verified"] is True
    params = {"category": plugin["category"], "verified": "true", "featured": "true"}
    assert [p["id"] for p in expect(anonymous.get("/plugins", params=params), 200)["data"]] == [plugin["id"]]


def test_only_the_owner_or_an_admin_changes_a_plugin(stack, anonymous, admin, publisher):
    plugin = create(publisher)
    plugin_id = plugin["id"]
    release(publisher, plugin_id, "1.0.0")
    stranger, user = new_account(admin, "publisher"), new_account(admin, "user")
    before = detail(anonymous, plugin_id)
    attempts = [
        ("patch", f"/plugins/{plugin_id}", {"json": {"description": "Hijacked"}}),
        ("post", f"/plugins/{plugin_id}/versions", {
            "data": {"metadata": json.dumps({"version": "6.6.6"})},
            "files": {"package": ("x.tgz", npm_package("x", "6.6.6"), "application/gzip")}}),
        ("post", f"/plugins/{plugin_id}/images", {"files": {"icon": ("i.png", png_icon(66), "image/png")}}),
        ("post", f"/plugins/{plugin_id}/unpublish", {}),
        ("post", f"/plugins/{plugin_id}/publish", {}),
        ("post", f"/plugins/{plugin_id}/deprecate", {"json": {"reason": "Mine now"}}),
        ("post", f"/plugins/{plugin_id}/versions/1.0.0/yank", {"json": {"reason": "Mine now"}}),
    ]
    for method, path, kwargs in attempts:
        for intruder in (stranger, user):
            expect_error(getattr(intruder, method)(path, **kwargs), 403, "FORBIDDEN")
        expect_error(getattr(anonymous, method)(path, **kwargs), 401, "UNAUTHORIZED")
    after = detail(anonymous, plugin_id)
    assert after["versions"] == before["versions"] and after["description"] == before["description"]
    assert after["icon"] is None and after["deprecation"] is None and after["status"] == "published"
    assert len(stored_files(stack, "packages", plugin_id)) == 1 and stored_files(stack, "images", plugin_id) == []
    # Creating needs a publisher.
    expect_error(user.post("/plugins", json={"name": slug("u"), "description": "d", "category": "other"}),
                 403, "FORBIDDEN")
    expect_error(anonymous.post("/plugins", json={"name": slug("a"), "description": "d", "category": "other"}),
                 401, "UNAUTHORIZED")
    # An admin may change anyone's plugin.
    expect(admin.patch(f"/plugins/{plugin_id}", json={"description": "Moderated"}), 200)
    release(admin, plugin_id, "1.0.1")
    assert detail(anonymous, plugin_id)["version"] == "1.0.1"


def test_create_validation_and_conflicts(publisher):
    name = slug("dup")
    create(publisher, name)
    body = expect_error(publisher.post("/plugins", json={"name": name, "description": "d", "category": "other"}),
                        409, "CONFLICT")
    assert name in body["error"]["message"]
    assert field_names(publisher.post("/plugins", json={"name": "Not A Slug", "description": "", "category": "X",
                                                        "colour": "red"})) >= {"name", "description", "category",
                                                                               "colour"}
    assert field_names(publisher.post("/plugins", json={})) >= {"name", "description", "category"}


# --- bad inputs through the native door: right status and code, nothing stored ----------------------------

def test_bad_versions_store_nothing(stack, anonymous, publisher):
    plugin = create(publisher)
    plugin_id = plugin["id"]
    good = release(publisher, plugin_id, "1.0.0")
    before_files = stored_files(stack, "packages", plugin_id)
    assert len(before_files) == 1
    url = f"/plugins/{plugin_id}/versions"
    package = ("p.tgz", npm_package(plugin_id, "1.1.0"), "application/gzip")

    assert field_names(publisher.post(url, files={"package": package})) == {"metadata"}
    assert field_names(publisher.post(url, data={"metadata": '{"version": "1.1.0",'}, files={"package": package})) \
        == {"metadata"}
    assert field_names(publisher.post(url, files={"metadata": (None, json.dumps({"version": "1.1.0"}))})) == \
        {"package"}
    assert field_names(post_version(publisher, plugin_id, "one.two")) == {"version"}
    assert field_names(post_version(publisher, plugin_id, "1.1.0", bogus=True)) == {"bogus"}
    assert field_names(post_version(publisher, plugin_id, "1.1.0",
                                    compatibility={"backstage": "not a range at all"})) == {"compatibility"}
    assert field_names(post_version(publisher, plugin_id, "1.1.0",
                                    configuration={"schema": {"type": "no-such-type"}})) == {"configuration.schema"}
    assert field_names(post_version(publisher, plugin_id, "1.1.0",
                                    configuration={"schema": {"type": "object", "required": ["url"]},
                                                   "defaults": {"url": "u"}, "examples": [{}]})) == \
        {"configuration.examples"}
    assert field_names(post_version(publisher, plugin_id, "1.1.0", package=b"just some text\n",
                                    filename="fake.tgz")) == {"package"}
    assert field_names(post_version(publisher, plugin_id, "1.1.0", package=b"",
                                    filename="empty.tgz")) == {"package"}
    traversal = tgz_with({"package/package.json": b"{}", "../../../../etc/cron.d/evil": b"* * * * * root sh\n"})
    assert field_names(post_version(publisher, plugin_id, "1.1.0", package=traversal)) == {"package"}
    body = expect_error(post_version(publisher, plugin_id, "1.0.0"), 409, "CONFLICT")
    assert "1.0.0" in body["error"]["message"]
    expect_error(post_version(publisher, plugin_id, "1.0"), 409, "CONFLICT")  # 1.0 is 1.0.0
    response = publisher.post(url, json={"version": "1.1.0"})
    expect_error(response, 415, "UNSUPPORTED_MEDIA_TYPE")

    shown = detail(anonymous, plugin_id)
    assert [v["version"] for v in shown["versions"]] == ["1.0.0"] and shown["versions"][0] == good
    assert stored_files(stack, "packages", plugin_id) == before_files

    # A file name with a path in it is only a display name: stored under a name of the catalog's own.
    escaped = Path(stack.env["ARTIFACT_ROOT"]).parent / f"{plugin_id}-escaped.tgz"
    version = release(publisher, plugin_id, "1.1.0", filename=f"../{escaped.name}")
    assert version["package"]["filename"] == escaped.name
    assert not escaped.exists()
    assert len(stored_files(stack, "packages", plugin_id)) == 2
    download = fetch(anonymous, version["package"]["url"])
    assert "/" not in download.headers["Content-Disposition"].split("filename=", 1)[1]


def test_bad_images_store_nothing(stack, anonymous, publisher):
    plugin = create(publisher)
    plugin_id = plugin["id"]
    release(publisher, plugin_id, "1.0.0")
    images = expect(publisher.post(f"/plugins/{plugin_id}/images", files=[
        ("icon", ("icon.png", png_icon(31), "image/png")),
        ("screenshots", ("s.png", png_icon(32), "image/png"))]), 201)["data"]
    before = detail(anonymous, plugin_id)
    before_files = stored_files(stack, "images", plugin_id)
    assert len(before_files) == 2
    url = f"/plugins/{plugin_id}/images"
    text = ("notes.png", b"this is a text file, not an image\n", "image/png")
    svg = ("logo.png", b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>', "image/svg+xml")

    assert field_names(publisher.post(url, files={"icon": text})) == {"icon"}
    assert field_names(publisher.post(url, files={"icon": svg})) == {"icon"}
    # All or nothing: a good screenshot beside a bad one is not kept either.
    response = publisher.post(url, files=[("screenshots", ("ok.png", png_icon(33), "image/png")),
                                          ("screenshots", text)])
    assert field_names(response) == {"screenshots[1]"}
    body = expect_error(publisher.post(url, files={"screenshots": ("huge.png", oversize_png(), "image/png")}),
                        413, "PAYLOAD_TOO_LARGE")
    assert body["error"]["details"]["limit"] == MAX_IMAGE_BYTES
    assert field_names(publisher.post(url, files={"banner": ("b.png", png_icon(34), "image/png")})) == {"banner"}
    after = detail(anonymous, plugin_id)
    assert (after["icon"], after["screenshots"]) == (before["icon"], before["screenshots"]) == \
        (images["icon"], images["screenshots"])
    assert stored_files(stack, "images", plugin_id) == before_files

    # A path in the file name goes nowhere: the image is stored under a generated name.
    target = Path(stack.env["ARTIFACT_ROOT"]).parent / f"{plugin_id}-escaped.png"
    traversal = ("../" * 12) + str(target).lstrip("/")
    data = png_icon(35)
    added = expect(publisher.post(url, files={"screenshots": (traversal, data, "image/png")}), 201)["data"]
    new_url = added["screenshots"][-1]
    assert ".." not in new_url and "escaped" not in new_url
    assert not target.exists()
    assert fetch(anonymous, new_url).content == data
    assert len(stored_files(stack, "images", plugin_id)) == 3


# --- the BlueMind document's script ----------------------------------------------------------------------

def test_the_bluemind_python_script_ported_to_python_3(stack, anonymous, admin, publisher, tmp_path, capsys):
    # The files the script opens: real PNG images and a real .jar.
    images = {"thumbnail.png": png_icon(41), "screenshot1.png": png_icon(42, 24), "screenshot2.png": png_icon(43, 32)}
    for file_name, content in images.items():
        (tmp_path / file_name).write_bytes(content)
    jar = jar_package("super_plugin")
    (tmp_path / "super_plugin.jar").write_bytes(jar)
    plugin_name = f"Super plugin {unique_name('bm')}"

    # ---- the document's full script: only `print` changed, and the host, key, name and file paths ----
    WEBSITE = stack.gateway_url + "/"
    API_KEY = publisher.key

    #### POST PLUGIN
    data = {
        'api_key': API_KEY,
        'name': plugin_name,
        'shortdesc': 'A short description',
        'description': 'A long description',
        'license': 'A license',
        'installation_instructions': 'Several instructions !',
        'home_url': "http://www.blue-mind.net"
    }

    files = {
        'thumbnail': open(str(tmp_path / 'thumbnail.png'), 'rb'),  # noqa: SIM115
        'screen1': open(str(tmp_path / 'screenshot1.png'), 'rb'),  # noqa: SIM115
        'screen2': open(str(tmp_path / 'screenshot2.png'), 'rb')  # noqa: SIM115
    }

    URL = WEBSITE + 'addons/api/plugins/'

    #### POST REQUEST
    req = requests.post(URL, files=files, data={'json': json.dumps(data)}, verify=False)

    #### POST OR GET RESPONSE
    print("Status code : " + str(req.status_code))
    if req.text:
        print("Contents : " + str(json.dumps(req.json(), indent=4, sort_keys=True)))
    # ---- end of the first run of the script ----
    for file in files.values():
        file.close()
    created = req
    assert created.status_code == 201, created.text
    plugin = created.json()
    number, plugin_id = plugin["id"], plugin["plugin_id"]  # the door's numeric id, the marketplace's id
    assert isinstance(number, int) and plugin_id.startswith("plugin_")
    assert plugin["name"] == plugin_name and plugin["status"] == "unpublished"
    assert plugin["current_version"] is None and len(plugin["screenshots"]) == 2 and plugin["thumbnail"]

    #### POST PLUGIN VERSION
    data = {
        'api_key': API_KEY,
        'plugin_name': plugin_name,
        'version': '0.2',
        'target_bm_versions': '3.x',
        'release_notes': 'We just put out a new release'
    }

    files = {
        'package': open(str(tmp_path / 'super_plugin.jar'), 'rb')  # noqa: SIM115
    }

    URL = WEBSITE + 'addons/api/plugin_version/'

    #### POST REQUEST
    req = requests.post(URL, files=files, data={'json': json.dumps(data)}, verify=False)

    #### POST OR GET RESPONSE
    print("Status code : " + str(req.status_code))
    if req.text:
        print("Contents : " + str(json.dumps(req.json(), indent=4, sort_keys=True)))
    files["package"].close()
    versioned = req
    assert versioned.status_code == 201, versioned.text
    assert versioned.json()["version"] == "0.2" and versioned.json()["integrity"] == integrity(jar)

    #### GET PLUGINS
    headers = {
        'api-key': API_KEY
    }

    URL = WEBSITE + 'addons/api/plugins/'

    #### GET REQUEST
    req = requests.get(URL, headers=headers, verify=False)

    #### POST OR GET RESPONSE
    print("Status code : " + str(req.status_code))
    if req.text:
        print("Contents : " + str(json.dumps(req.json(), indent=4, sort_keys=True)))
    mine = req
    assert mine.status_code == 200, mine.text
    [listed] = [p for p in mine.json() if p["id"] == number]
    assert listed["status"] == "published" and listed["current_version"] == "0.2"

    #### GET PLUGIN (the document's "Specific plugin" example)
    URL = WEBSITE + 'addons/api/plugin/' + str(number) + '/'

    req = requests.get(URL, headers=headers, verify=False)
    print("Status code : " + str(req.status_code))
    if req.text:
        print("Contents : " + str(json.dumps(req.json(), indent=4, sort_keys=True)))
    one = req
    assert one.status_code == 200, one.text
    # ---- end of the script ----

    printed = capsys.readouterr().out
    assert printed.count("Status code : 201") == 2 and printed.count("Status code : 200") == 2
    assert f'"name": "{plugin_name}"' in printed

    got = one.json()
    assert got == listed
    assert got["shortdesc"] == "A short description" and got["description"] == "A long description"
    assert got["license"] == "A license" and got["installation_instructions"] == "Several instructions !"
    assert got["home_url"] == "http://www.blue-mind.net"
    [version] = got["versions"]
    assert version["version"] == "0.2" and version["target_bm_versions"] == "3.x"
    assert version["release_notes"] == "We just put out a new release" and version["sha256"] == sha256(jar)

    # An ordinary catalog plugin, public now that it has a version.
    shown = detail(anonymous, plugin_id)
    assert shown["displayName"] == plugin_name and shown["status"] == "published"
    assert shown["description"] == "A short description" and shown["longDescription"] == "A long description"
    assert shown["license"] == "A license" and shown["installationInstructions"] == "Several instructions !"
    assert shown["author"]["id"] == publisher.account["id"]
    assert shown["version"] == "0.2" and shown["compatibility"]["platform"] == ["3.x"]
    assert shown["icon"] == plugin["thumbnail"] and shown["screenshots"] == plugin["screenshots"]
    assert fetch(anonymous, shown["icon"]).content == images["thumbnail.png"]
    assert [fetch(anonymous, url).content for url in shown["screenshots"]] == \
        [images["screenshot1.png"], images["screenshot2.png"]]
    [shown_version] = shown["versions"]
    assert shown_version["version"] == "0.2" and shown_version["changelog"] == "We just put out a new release"
    assert shown_version["package"]["integrity"] == integrity(jar) and shown_version["package"]["format"] == "jar"
    assert detail(anonymous, shown["name"])["id"] == plugin_id  # its slug works as the id
    download = fetch(anonymous, shown_version["package"]["url"])
    assert download.content == jar and download.headers["ETag"] == f'"{sha256(jar)}"'
    assert integrity(download.content) == shown_version["package"]["integrity"]

    # Both doors lead to the same plugin: a native version 0.10 is newer than 0.2.
    release(publisher, plugin_id, "0.10", package=jar_package("super_plugin_010"), filename="super_plugin.jar")
    assert detail(anonymous, plugin_id)["version"] == "0.10"
    again = requests.get(WEBSITE + 'addons/api/plugin/' + plugin_id + '/', headers=headers, verify=False)
    assert again.json()["id"] == number  # the plugin_… id works there too
    assert again.json()["current_version"] == "0.10"
    assert [v["version"] for v in again.json()["versions"]] == ["0.10", "0.2"]

    # Another publisher may not read it; an admin may.
    stranger = new_account(admin, "publisher")
    body = expect_error(requests.get(URL, headers={'api-key': stranger.key}), 403, "FORBIDDEN")
    assert body["error"]["code"] == "FORBIDDEN"
    assert number not in [p["id"] for p in requests.get(WEBSITE + 'addons/api/plugins/',
                                                           headers={'api-key': stranger.key}).json()]
    assert requests.get(URL, headers={'api-key': stack.admin_key}).json()["id"] == number
    expect_error(requests.get(URL), 401, "UNAUTHORIZED")


# --- bad inputs through the BlueMind door ----------------------------------------------------------------

@pytest.fixture
def addons(stack, publisher):
    """POST to /addons/api/... the way the document's script does, with this publisher's key."""
    def post(path: str, data: dict | None = None, files=None, raw_json: str | None = None, header: bool = False,
             key: str | None = None):
        parts = []  # always multipart/form-data, even with no file
        if raw_json is not None:
            parts.append(("json", (None, raw_json)))
        elif data is not None:
            parts.append(("json", (None, json.dumps({"api_key": key or publisher.key, **data}))))
        parts += list((files or {}).items())
        headers = {"api-key": publisher.key} if header else {}
        return requests.post(f"{stack.gateway_url}/addons/api/{path}", files=parts, headers=headers)
    return post


def plugin_fields(name: str) -> dict:
    return {"name": name, "shortdesc": "Short", "description": "Long", "license": "MIT",
            "installation_instructions": "Unzip it"}


def my_plugin_names(stack, publisher) -> list[str]:
    response = requests.get(f"{stack.gateway_url}/addons/api/plugins/", headers={"api-key": publisher.key})
    return [p["name"] for p in expect(response, 200)]


def test_bluemind_bad_plugin_uploads_store_nothing(stack, addons, publisher):
    name = f"Broken {unique_name('bm')}"
    png = ("t.png", png_icon(51), "image/png")
    text = ("screenshot.png", b"plain text pretending to be a PNG\n", "image/png")
    before = my_plugin_names(stack, publisher)
    images_root = Path(stack.env["ARTIFACT_ROOT"]) / "images"

    def stored_images() -> set[Path]:
        return {path for path in images_root.rglob("*") if path.is_file()} if images_root.exists() else set()

    stored_before = stored_images()

    # The json part: missing, garbled, not an object, missing keys.
    assert field_names(addons("plugins/", files={"thumbnail": png}, header=True)) == {"json"}
    assert field_names(addons("plugins/", raw_json='{"api_key": "x", "name": ', files={"thumbnail": png},
                              header=True)) == {"json"}
    assert field_names(addons("plugins/", raw_json='["not", "an", "object"]', header=True)) == {"json"}
    missing = {k: v for k, v in plugin_fields(name).items() if k not in ("license", "installation_instructions")}
    body = expect_error(addons("plugins/", missing, files={"thumbnail": png}), 400, "VALIDATION_ERROR")
    assert set(body["error"]["details"]["fields"]) == {"license", "installation_instructions"}
    assert "license" in body["error"]["message"] and "installation_instructions" in body["error"]["message"]
    for key in ("name", "shortdesc", "description"):
        partial = {k: v for k, v in plugin_fields(name).items() if k != key}
        assert field_names(addons("plugins/", partial)) == {key}
    # Without any key at all there is nobody to publish as.
    expect_error(addons("plugins/", raw_json=json.dumps(plugin_fields(name)), files={"thumbnail": png}),
                 401, "UNAUTHORIZED")
    expect_error(addons("plugins/", plugin_fields(name), key="mkp_not_a_real_key", files={"thumbnail": png}),
                 401, "UNAUTHORIZED")

    # Files: a text file named .png, as the logo or as a screenshot; an image over the limit.
    assert field_names(addons("plugins/", plugin_fields(name), files={"thumbnail": text})) == {"thumbnail"}
    assert field_names(addons("plugins/", plugin_fields(name),
                              files={"thumbnail": png, "screen1": png, "screen2": text})) == {"screen2"}
    body = expect_error(addons("plugins/", plugin_fields(name), files={
        "thumbnail": png, "screen1": ("big.png", oversize_png(), "image/png")}), 413, "PAYLOAD_TOO_LARGE")
    assert body["error"]["details"]["limit"] == MAX_IMAGE_BYTES

    assert my_plugin_names(stack, publisher) == before
    assert name not in my_plugin_names(stack, publisher)
    assert stored_images() == stored_before  # not one image of the refused uploads was kept

    # A path in a file name: accepted, and stored under a name of the catalog's own.
    target = Path(stack.env["ARTIFACT_ROOT"]).parent / f"{unique_name('escaped')}.png"
    created = addons("plugins/", plugin_fields(name), files={
        "thumbnail": (("../" * 12) + str(target).lstrip("/"), png_icon(52), "image/png")})
    plugin = expect(created, 201)
    assert not target.exists() and ".." not in plugin["thumbnail"]
    [added] = stored_images() - stored_before
    assert added.parent == images_root / plugin["plugin_id"] and added.read_bytes() == png_icon(52)
    assert my_plugin_names(stack, publisher) == before + [name]
    expect_error(addons("plugins/", plugin_fields(name)), 409, "CONFLICT")


def test_bluemind_bad_versions_store_nothing(stack, admin, addons, publisher):
    name = f"Versioned {unique_name('bm')}"
    plugin = expect(addons("plugins/", plugin_fields(name)), 201)
    jar = ("p.jar", jar_package("p"), "application/java-archive")
    fields = {"plugin_name": name, "version": "0.2", "target_bm_versions": "3.x, 4.x", "release_notes": "First"}
    first = expect(addons("plugin_version/", fields, files={"package": jar}), 201)
    assert first["target_bm_versions"] == "3.x, 4.x"

    def versions():
        response = requests.get(f"{stack.gateway_url}/addons/api/plugin/{plugin['id']}/",
                                headers={"api-key": publisher.key})
        return [v["version"] for v in expect(response, 200)["versions"]]

    files_before = stored_files(stack, "packages", plugin["plugin_id"])
    assert versions() == ["0.2"] and len(files_before) == 1
    later = {**fields, "version": "0.3"}
    assert field_names(addons("plugin_version/", later)) == {"package"}  # the package is required
    assert field_names(addons("plugin_version/", files={"package": jar}, header=True)) == {"json"}
    assert field_names(addons("plugin_version/", raw_json="{garbled", files={"package": jar}, header=True)) == \
        {"json"}
    for key in ("plugin_name", "version", "target_bm_versions", "release_notes"):
        partial = {k: v for k, v in later.items() if k != key}
        assert field_names(addons("plugin_version/", partial, files={"package": jar})) == {key}
    assert field_names(addons("plugin_version/", {**later, "version": "three"}, files={"package": jar})) == \
        {"version"}
    assert field_names(addons("plugin_version/", later,
                              files={"package": ("p.jar", b"not a zip at all", "application/java-archive")})) == \
        {"package"}
    escaping = io.BytesIO()
    with zipfile.ZipFile(escaping, "w") as archive:
        archive.writestr("../../../../tmp/evil.sh", "echo pwned\n")
    assert field_names(addons("plugin_version/", later,
                              files={"package": ("p.jar", escaping.getvalue(), "application/java-archive")})) == \
        {"package"}
    expect_error(addons("plugin_version/", {**later, "version": "0.2"}, files={"package": jar}), 409, "CONFLICT")
    expect_error(addons("plugin_version/", {**later, "plugin_name": f"Nobody's {unique_name('x')}"},
                        files={"package": jar}), 404, "PLUGIN_NOT_FOUND")

    # Another publisher's plugin: refused, nothing stored; an administrator may.
    stranger = new_account(admin, "publisher")
    expect_error(addons("plugin_version/", later, key=stranger.key, files={"package": jar}), 403, "FORBIDDEN")
    assert versions() == ["0.2"]
    assert stored_files(stack, "packages", plugin["plugin_id"]) == files_before

    assert expect(addons("plugin_version/", later, key=stack.admin_key, files={"package": jar}), 201)["version"] \
        == "0.3"
    assert versions() == ["0.3", "0.2"]


def test_the_document_script_without_images_creates_a_plugin(stack, publisher):
    """Images are optional in the document. Without any, `requests` sends the script's form as
    application/x-www-form-urlencoded: the `json` field and its api_key are the same."""
    data = {'api_key': publisher.key, 'name': f"Plain plugin {unique_name('bm')}", 'shortdesc': 'A short description',
            'description': 'A long description', 'license': 'A license',
            'installation_instructions': 'Some instructions'}
    files = {}
    req = requests.post(stack.gateway_url + '/addons/api/plugins/', files=files, data={'json': json.dumps(data)},
                        verify=False)
    assert req.status_code == 201, req.text
    assert req.json()["name"] == data["name"] and req.json()["screenshots"] == []


def test_the_document_script_without_its_package_is_told_what_is_missing(stack, publisher):
    """The version script with its `package` left out (files = {}): 400 naming the package, not a 401."""
    name = f"Unpacked {unique_name('bm')}"
    plugin = expect(requests.post(stack.gateway_url + '/addons/api/plugins/',
                                  files={'thumbnail': ('t.png', png_icon(61), 'image/png')},
                                  data={'json': json.dumps({'api_key': publisher.key, **plugin_fields(name)})}), 201)
    data = {'api_key': publisher.key, 'plugin_name': name, 'version': '0.2', 'target_bm_versions': '3.x',
            'release_notes': 'Brand new release'}
    files = {}
    req = requests.post(stack.gateway_url + '/addons/api/plugin_version/', files=files,
                        data={'json': json.dumps(data)}, verify=False)
    body = expect_error(req, 400, "VALIDATION_ERROR")
    assert "package" in body["error"]["details"]["fields"]
    shown = requests.get(f"{stack.gateway_url}/addons/api/plugin/{plugin['id']}/", headers={'api-key': publisher.key})
    assert expect(shown, 200)["versions"] == []
