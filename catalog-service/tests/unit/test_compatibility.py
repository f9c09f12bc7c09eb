"""Plugin-level compatibility: the plugin's default, which a version's own ranges override field by field."""

import io
import json

from catalog_testkit import API, create_plugin, make_zip, upload_version
from sqlalchemy import select

from catalog_service.models import OutboxEvent

DEFAULT = {"backstage": "^1.30.0", "node": ">=18.0.0", "platform": ["linux"]}


def listed(client, plugin_id):
    [item] = [p for p in client.get(f"{API}/plugins?limit=100").get_json()["data"] if p["id"] == plugin_id]
    return item["compatibility"]


def detail(client, plugin_id, headers=None):
    return client.get(f"{API}/plugins/{plugin_id}", headers=headers or {}).get_json()["data"]


def published_compatibility(app, plugin_id):
    with app.extensions["database"].session() as session:
        rows = session.scalars(select(OutboxEvent).where(OutboxEvent.event_type == "plugin.version_published")
                               .order_by(OutboxEvent.id)).all()
        return {row.payload["data"]["version"]: row.payload["data"]["compatibility"] for row in rows
                if row.payload["data"]["pluginId"] == plugin_id}


def test_the_default_is_shown_inherited_and_overridden_by_a_versions_own(app, client, publisher):
    plugin = create_plugin(client, publisher, name="compat-default", compatibility=DEFAULT)
    assert detail(client, plugin["id"], publisher)["compatibility"] == DEFAULT  # before any version

    assert upload_version(client, publisher, plugin["id"], "1.0.0").status_code == 201
    assert listed(client, plugin["id"]) == DEFAULT
    response = upload_version(client, publisher, plugin["id"], "2.0.0", compatibility={"backstage": "^1.40.0"})
    assert response.status_code == 201
    overridden = {**DEFAULT, "backstage": "^1.40.0"}
    assert listed(client, plugin["id"]) == overridden
    versions = {v["version"]: v["compatibility"] for v in detail(client, plugin["id"])["versions"]}
    assert versions == {"2.0.0": overridden, "1.0.0": DEFAULT}
    # The install service is told each version's effective ranges.
    assert published_compatibility(app, plugin["id"]) == {"1.0.0": DEFAULT, "2.0.0": overridden}
    # The list's compatibility filter reads the same ranges.
    ids = [p["id"] for p in client.get(f"{API}/plugins?compatibility=1.45.0").get_json()["data"]]
    assert plugin["id"] in ids
    assert plugin["id"] not in [p["id"] for p in client.get(f"{API}/plugins?compatibility=1.35.0").get_json()["data"]]


def test_patch_merges_into_the_default(client, publisher):
    plugin = create_plugin(client, publisher, name="compat-patch", compatibility=DEFAULT)
    assert upload_version(client, publisher, plugin["id"], "1.0.0", compatibility={"node": ">=20.0.0"}).status_code \
        == 201
    response = client.patch(f"{API}/plugins/{plugin['id']}", headers=publisher,
                            json={"compatibility": {"backstage": "^1.35.0", "platform": []}})
    assert response.status_code == 200, response.get_json()
    assert listed(client, plugin["id"]) == {"backstage": "^1.35.0", "node": ">=20.0.0", "platform": []}
    response = client.patch(f"{API}/plugins/{plugin['id']}", headers=publisher, json={"compatibility": {}})
    assert response.status_code == 200 and listed(client, plugin["id"])["backstage"] == "^1.35.0"


def test_bad_compatibility_is_a_validation_error(client, publisher):
    plugin = create_plugin(client, publisher, name="compat-bad")
    for body in ({"compatibility": {"backstage": "not a range"}}, {"compatibility": {"os": "linux"}},
                 {"compatibility": "^1.30.0"}, {"compatibility": {"platform": "linux"}}):
        response = client.patch(f"{API}/plugins/{plugin['id']}", headers=publisher, json=body)
        assert response.status_code == 400, body
        assert response.get_json()["error"]["code"] == "VALIDATION_ERROR"
        assert "compatibility" in json.dumps(response.get_json()["error"]["details"])


def test_the_bluemind_door_fills_the_same_fields(client, publisher):
    form = {"json": json.dumps({"api_key": "k", "name": "Compat door", "shortdesc": "Short", "description": "Long",
                                "license": "MIT", "installation_instructions": "Unzip"})}
    assert client.post("/addons/api/plugins/", data=form, headers=publisher,
                       content_type="multipart/form-data").status_code == 201
    plugin_id = client.get("/addons/api/plugins/", headers=publisher).get_json()[0]["plugin_id"]
    response = client.patch(f"{API}/plugins/{plugin_id}", headers=publisher, json={"compatibility": DEFAULT})
    assert response.status_code == 200
    form = {"json": json.dumps({"api_key": "k", "plugin_name": "Compat door", "version": "0.2",
                                "target_bm_versions": "3.x, 4.x", "release_notes": "First"}),
            "package": (io.BytesIO(make_zip()), "p.jar")}
    assert client.post("/addons/api/plugin_version/", data=form, headers=publisher,
                       content_type="multipart/form-data").status_code == 201
    assert listed(client, plugin_id) == {**DEFAULT, "platform": ["3.x", "4.x"]}
    shown = client.get(f"/addons/api/plugin/{plugin_id}/", headers=publisher).get_json()
    assert shown["compatibility"] == {**DEFAULT, "platform": ["3.x", "4.x"]}
    assert shown["versions"][0]["target_bm_versions"] == "3.x, 4.x"


def outbox(app, event_type):
    with app.extensions["database"].session() as session:
        return [row.payload["data"] for row in session.scalars(
            select(OutboxEvent).where(OutboxEvent.event_type == event_type).order_by(OutboxEvent.id))]


def test_a_default_that_changes_a_versions_ranges_tells_the_install_service(app, client, publisher):
    plugin = create_plugin(client, publisher, name="compat-event", compatibility=DEFAULT)
    own = {"backstage": "^1.40.0", "node": ">=20.0.0", "platform": ["darwin"]}
    assert upload_version(client, publisher, plugin["id"], "1.0.0").status_code == 201
    assert upload_version(client, publisher, plugin["id"], "2.0.0", compatibility=own).status_code == 201
    assert outbox(app, "plugin.compatibility_changed") == []  # creating with a default says nothing more

    response = client.patch(f"{API}/plugins/{plugin['id']}", headers=publisher,
                            json={"compatibility": {"backstage": ">=1.10.0"}})
    assert response.status_code == 200
    changed = {**DEFAULT, "backstage": ">=1.10.0"}
    [event] = outbox(app, "plugin.compatibility_changed")
    assert event == {"pluginId": plugin["id"], "ownerId": "acct_pub", "default": changed,
                     "versions": [{"version": "1.0.0", "compatibility": changed},
                                  {"version": "2.0.0", "compatibility": own}]}
    # The same default again, or another field no version inherits: nothing to tell.
    for body in ({"backstage": ">=1.10.0"}, {}):
        assert client.patch(f"{API}/plugins/{plugin['id']}", headers=publisher,
                            json={"compatibility": body}).status_code == 200
    assert len(outbox(app, "plugin.compatibility_changed")) == 1
