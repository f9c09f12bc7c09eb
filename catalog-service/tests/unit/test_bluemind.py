"""The BlueMind document's scripts, ported to the Flask test client (multipart with a `json` part)."""

import io
import json

import pytest
from catalog_testkit import API, JPEG, PNG, make_zip

ADDONS = "/addons/api"


def plugin_data(**overrides):
    data = {"api_key": "ignored-here", "name": "Super plugin", "shortdesc": "A short description",
            "description": "A long description", "license": "A license",
            "installation_instructions": "Some instructions", "home_url": "http://www.blue-mind.net"}
    data.update(overrides)
    return {key: value for key, value in data.items() if value is not None}


def post(client, url, headers, data, files=None):
    form = {"json": json.dumps(data)} if data is not None else {}
    for key, value in (files or {}).items():
        form[key] = value
    return client.post(url, data=form, headers=headers, content_type="multipart/form-data")


def create(client, headers, **overrides):
    files = {"thumbnail": (io.BytesIO(JPEG), "my_thumbnail.jpg"),
             "screen1": (io.BytesIO(PNG), "my_screenshot1.png"),
             "screen2": (io.BytesIO(PNG + b"x"), "my_screenshot2.png")}
    return post(client, f"{ADDONS}/plugins/", headers, plugin_data(**overrides), files)


def add_version(client, headers, **overrides):
    data = {"api_key": "k", "plugin_name": "Super plugin", "version": "0.2", "target_bm_versions": "3.x",
            "release_notes": "Brand new release", **overrides}
    return post(client, f"{ADDONS}/plugin_version/", headers, data,
                {"package": (io.BytesIO(make_zip()), "super_plugin.jar")})


def test_the_documented_journey(client, publisher):
    response = create(client, publisher)
    assert response.status_code == 201, response.get_json()
    created = response.get_json()
    assert created["name"] == "Super plugin" and created["status"] == "unpublished"
    assert created["thumbnail"].endswith(".jpg") and len(created["screenshots"]) == 2

    response = add_version(client, publisher)
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["version"] == "0.2"

    mine = client.get(f"{ADDONS}/plugins/", headers=publisher).get_json()
    assert [p["name"] for p in mine] == ["Super plugin"]
    assert mine[0]["status"] == "published" and mine[0]["current_version"] == "0.2"
    one = client.get(f"{ADDONS}/plugin/{created['id']}/", headers=publisher)
    assert one.status_code == 200 and one.get_json()["versions"][0]["target_bm_versions"] == "3.x"
    assert client.get(f"{ADDONS}/plugin/{created['id']}", headers=publisher).status_code == 200

    detail = client.get(f"{API}/plugins/{created['plugin_id']}").get_json()["data"]
    assert detail["description"] == "A short description" and detail["longDescription"] == "A long description"
    assert detail["homepage"] == "http://www.blue-mind.net" and detail["repository"] == "http://www.blue-mind.net"
    assert detail["version"] == "0.2" and detail["compatibility"]["platform"] == ["3.x"]
    assert detail["versions"][0]["package"]["integrity"].startswith("sha256-")
    assert len(detail["screenshots"]) == 2 and client.get(detail["screenshots"][0]).status_code == 200
    assert client.get(detail["icon"]).mimetype == "image/jpeg"


def test_every_plugin_has_a_numeric_id_and_its_plugin_id_works_too(client, publisher):
    first = create(client, publisher).get_json()
    second = create(client, publisher, name="Second plugin").get_json()
    assert isinstance(first["id"], int) and second["id"] == first["id"] + 1
    assert first["plugin_id"].startswith("plugin_")
    for ref in (first["id"], first["plugin_id"], "super-plugin"):
        response = client.get(f"{ADDONS}/plugin/{ref}/", headers=publisher)
        assert response.status_code == 200 and response.get_json()["id"] == first["id"], ref
    assert [p["id"] for p in client.get(f"{ADDONS}/plugins/", headers=publisher).get_json()] == [first["id"],
                                                                                                  second["id"]]
    for missing in ("999999", str(2**31), "9" * 40):
        response = client.get(f"{ADDONS}/plugin/{missing}/", headers=publisher)
        assert response.status_code == 404 and response.get_json()["error"]["code"] == "PLUGIN_NOT_FOUND", missing


def test_trailing_slash_is_optional(client, publisher):
    response = post(client, f"{ADDONS}/plugins", publisher, plugin_data(name="No slash"))
    assert response.status_code == 201
    assert client.get(f"{ADDONS}/plugins", headers=publisher).status_code == 200


@pytest.mark.parametrize("missing", ["name", "shortdesc", "description", "license", "installation_instructions"])
def test_missing_required_key_is_named(app, client, publisher, missing):
    response = create(client, publisher, **{missing: None})
    assert response.status_code == 400
    body = response.get_json()
    assert body["error"]["code"] == "VALIDATION_ERROR" and missing in body["error"]["details"]["fields"]
    assert missing in body["error"]["message"]
    assert client.get(f"{ADDONS}/plugins/", headers=publisher).get_json() == []


def test_missing_or_garbled_json_part(client, publisher):
    response = post(client, f"{ADDONS}/plugins/", publisher, None, {"thumbnail": (io.BytesIO(PNG), "t.png")})
    assert response.status_code == 400 and "json" in response.get_json()["error"]["details"]["fields"]
    response = client.post(f"{ADDONS}/plugins/", data={"json": "{oops"}, headers=publisher,
                           content_type="multipart/form-data")
    assert response.status_code == 400 and "json" in response.get_json()["error"]["details"]["fields"]
    response = client.post(f"{ADDONS}/plugins/", data={"json": "[1, 2]"}, headers=publisher,
                           content_type="multipart/form-data")
    assert response.status_code == 400


def test_bad_images_store_nothing(app, config, client, publisher):
    response = post(client, f"{ADDONS}/plugins/", publisher, plugin_data(),
                    {"thumbnail": (io.BytesIO(b"I am text"), "logo.png")})
    assert response.status_code == 400 and "thumbnail" in response.get_json()["error"]["details"]["fields"]
    assert client.get(f"{ADDONS}/plugins/", headers=publisher).get_json() == []
    response = post(client, f"{ADDONS}/plugins/", publisher, plugin_data(),
                    {"../../etc/x": (io.BytesIO(b"\x89PNG" + b"0" * 20000), "../../evil.png")})
    assert response.status_code == 413
    assert client.get(f"{ADDONS}/plugins/", headers=publisher).get_json() == []


def test_version_requires_package_and_keys(client, publisher):
    create(client, publisher)
    data = {"plugin_name": "Super plugin", "version": "0.2", "target_bm_versions": "3.x", "release_notes": "r"}
    response = post(client, f"{ADDONS}/plugin_version/", publisher, data)
    assert response.status_code == 400 and "package" in response.get_json()["error"]["details"]["fields"]
    response = add_version(client, publisher, release_notes=None)
    assert response.status_code == 400
    response = add_version(client, publisher, version="zero point two")
    assert response.status_code == 400
    response = add_version(client, publisher, plugin_name="Nobody's plugin")
    assert response.status_code == 404 and response.get_json()["error"]["code"] == "PLUGIN_NOT_FOUND"
    assert add_version(client, publisher).status_code == 201
    assert add_version(client, publisher).status_code == 409


def test_other_publishers_plugin_is_forbidden_unless_admin(client, publisher, other_publisher, admin):
    created = create(client, publisher).get_json()
    assert client.get(f"{ADDONS}/plugin/{created['id']}/", headers=other_publisher).status_code == 403
    assert client.get(f"{ADDONS}/plugin/{created['id']}/", headers=admin).status_code == 200
    assert client.get(f"{ADDONS}/plugin/plugin_nope/", headers=admin).status_code == 404
    response = add_version(client, other_publisher)
    assert response.status_code == 403 and response.get_json()["error"]["code"] == "FORBIDDEN"
    assert client.get(f"{ADDONS}/plugins/", headers=other_publisher).get_json() == []
    assert client.get(f"{API}/plugins/{created['plugin_id']}", headers=publisher).get_json()["data"]["versions"] == []
    assert add_version(client, admin, version="0.3").status_code == 201


def test_requires_a_publisher(client, user):
    assert client.get(f"{ADDONS}/plugins/", headers=user).status_code == 403
    assert client.get(f"{ADDONS}/plugins/").status_code == 401
    assert create(client, user).status_code == 403


def test_duplicate_name_conflicts(client, publisher, other_publisher):
    assert create(client, publisher).status_code == 201
    assert create(client, other_publisher).status_code == 409


def test_a_script_attaching_no_file_sends_a_urlencoded_form(client, publisher):
    created = client.post(f"{ADDONS}/plugins/", data={"json": json.dumps(plugin_data(name="No images"))},
                          headers=publisher, content_type="application/x-www-form-urlencoded")
    assert created.status_code == 201, created.get_json()
    version = client.post(f"{ADDONS}/plugin_version/", headers=publisher,
                          data={"json": json.dumps({"plugin_name": "No images", "version": "0.1",
                                                    "target_bm_versions": "3.x", "release_notes": "x"})},
                          content_type="application/x-www-form-urlencoded")
    assert version.status_code == 400
    assert "package" in version.get_json()["error"]["message"]


def test_a_short_version_is_published_with_its_normalized_form(app, client, publisher):
    from sqlalchemy import select

    from catalog_service.models import OutboxEvent

    create(client, publisher)
    assert add_version(client, publisher, version="0.2").status_code == 201
    with app.extensions["database"].session() as session:
        [event] = [row.payload["data"] for row in session.scalars(
            select(OutboxEvent).where(OutboxEvent.event_type == "plugin.version_published"))]
    # The install service orders and matches versions by normalizedVersion; it never parses `0.2` itself.
    assert (event["version"], event["normalizedVersion"]) == ("0.2", "0.2.0")
    assert event["compatibility"] == {"backstage": None, "node": None, "platform": ["3.x"]}
