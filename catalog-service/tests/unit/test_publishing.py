import hashlib
import io
import json
import os

from catalog_testkit import API, JPEG, PNG, create_plugin, make_tgz, make_zip, published_plugin, upload_version
from sqlalchemy import func, select

from catalog_service.models import OutboxEvent, PluginImage, PluginVersion


def artifact_files(config):
    root = config.ARTIFACT_ROOT
    return sorted(os.path.join(d, f) for d, _, files in os.walk(root) for f in files) if os.path.isdir(root) else []


def events(app, event_type=None):
    with app.extensions["database"].session() as session:
        rows = session.scalars(select(OutboxEvent).order_by(OutboxEvent.id)).all()
        return [r.payload for r in rows if event_type is None or r.event_type == event_type]


def count(app, model):
    with app.extensions["database"].session() as session:
        return session.scalar(select(func.count()).select_from(model))


def test_create_requires_publisher(client, user, publisher):
    body = {"name": "x-plugin", "description": "d", "category": "backend"}
    assert client.post(f"{API}/plugins", json=body, headers=user).status_code == 403
    response = client.post(f"{API}/plugins", json=body)
    assert response.status_code == 401 and response.get_json()["error"]["code"] == "UNAUTHORIZED"


def test_create_fills_author_from_identity_and_is_not_public_without_version(client, publisher):
    plugin = create_plugin(client, publisher, name="my-plugin", displayName="My Plugin", tags=["a", "b"])
    assert plugin["author"] == {"id": "acct_pub", "name": "Pat Publisher", "email": "pat@example.com",
                                "url": None, "verified": False}
    assert plugin["status"] == "unpublished" and plugin["version"] is None
    assert client.get(f"{API}/plugins").get_json()["pagination"]["total"] == 0
    assert client.get(f"{API}/plugins/my-plugin").status_code == 404
    assert client.get(f"{API}/plugins/my-plugin", headers=publisher).status_code == 200


def test_create_validation_names_fields(client, publisher):
    response = client.post(f"{API}/plugins", json={"name": "Bad Name", "category": "x", "bogus": 1},
                           headers=publisher)
    assert response.status_code == 400
    fields = response.get_json()["error"]["details"]["fields"]
    assert {"name", "description", "bogus"} <= set(fields)


def test_duplicate_name_is_conflict(client, publisher):
    create_plugin(client, publisher, name="dup")
    response = client.post(f"{API}/plugins", json={"name": "dup", "description": "d", "category": "backend"},
                           headers=publisher)
    assert response.status_code == 409 and response.get_json()["error"]["code"] == "CONFLICT"


def test_verified_and_featured_are_admin_only(client, publisher, admin):
    plugin = create_plugin(client, publisher)
    response = client.patch(f"{API}/plugins/{plugin['id']}", json={"verified": True}, headers=publisher)
    assert response.status_code == 403
    response = client.patch(f"{API}/plugins/{plugin['id']}", json={"verified": True, "featured": True}, headers=admin)
    assert response.status_code == 200
    assert response.get_json()["data"]["verified"] is True and response.get_json()["data"]["featured"] is True


def test_patch_by_other_publisher_is_forbidden(client, publisher, other_publisher):
    plugin = published_plugin(client, publisher)
    response = client.patch(f"{API}/plugins/{plugin['id']}", json={"description": "x"}, headers=other_publisher)
    assert response.status_code == 403 and response.get_json()["error"]["code"] == "FORBIDDEN"
    response = client.patch(f"{API}/plugins/{plugin['id']}", json={"tags": ["a", "b"]}, headers=publisher)
    response = client.patch(f"{API}/plugins/{plugin['id']}", json={"tags": ["b", "c"]}, headers=publisher)
    assert response.status_code == 200 and response.get_json()["data"]["tags"] == ["b", "c"]
    response = client.patch(f"{API}/plugins/{plugin['id']}", json={"description": "new", "pricing": {
        "model": "paid", "price": 9.5, "currency": "EUR"}}, headers=publisher)
    assert response.status_code == 200
    data = response.get_json()["data"]
    assert data["description"] == "new" and data["pricing"] == {"model": "paid", "price": 9.5, "currency": "EUR"}


def test_version_upload_publishes_and_emits_events(app, client, publisher):
    plugin = create_plugin(client, publisher)
    schema = {"type": "object", "properties": {"apiUrl": {"type": "string"}}, "required": ["apiUrl"]}
    response = upload_version(client, publisher, plugin["id"], version="1.2.3", changelog="First",
                              compatibility={"backstage": "^1.35.0", "node": ">=18.0.0", "platform": ["linux"]},
                              dependencies=[{"name": "@backstage/core", "version": "^1.35.0"}],
                              configuration={"schema": schema, "defaults": {"apiUrl": "http://x"},
                                             "examples": [{"apiUrl": "http://y"}]},
                              permissions=["catalog.read"])
    assert response.status_code == 201, response.get_json()
    package = response.get_json()["data"]["package"]
    detail = client.get(f"{API}/plugins/{plugin['id']}").get_json()["data"]
    assert detail["version"] == "1.2.3" and detail["status"] == "published"
    assert detail["configuration"]["schema"] == schema and detail["permissions"] == ["catalog.read"]
    assert detail["dependencies"] == [{"name": "@backstage/core", "version": "^1.35.0"}]
    published = events(app, "plugin.version_published")
    assert len(published) == 1
    data = published[0]["data"]
    assert data["package"]["path"] == f"{API}/plugins/{plugin['id']}/versions/1.2.3/package"
    assert data["package"]["sha256"] == package["sha256"] and data["package"]["integrity"].startswith("sha256-")
    assert data["compatibility"] == {"backstage": "^1.35.0", "node": ">=18.0.0", "platform": ["linux"]}
    assert data["configurationSchema"] == schema and data["ownerId"] == "acct_pub"
    assert [e["data"]["version"] for e in events(app, "plugin.published")] == ["1.2.3"]
    upload_version(client, publisher, plugin["id"], version="1.3.0")
    assert len(events(app, "plugin.published")) == 1


def test_short_versions_are_ordered_as_semver_and_shown_as_given(client, publisher):
    plugin = create_plugin(client, publisher)
    for version in ("0.2", "0.10", "0.9.1", "1.0.0-rc.1"):
        assert upload_version(client, publisher, plugin["id"], version=version).status_code == 201
    assert upload_version(client, publisher, plugin["id"], version="0.2.0").status_code == 409
    detail = client.get(f"{API}/plugins/{plugin['id']}").get_json()["data"]
    assert [v["version"] for v in detail["versions"]] == ["1.0.0-rc.1", "0.10", "0.9.1", "0.2"]
    assert detail["version"] == "1.0.0-rc.1"
    versions = client.get(f"{API}/plugins/{plugin['id']}/versions?limit=2&page=2").get_json()
    assert [v["version"] for v in versions["data"]] == ["0.9.1", "0.2"]
    assert versions["pagination"]["total"] == 4


def test_bad_version_metadata(client, publisher):
    plugin = create_plugin(client, publisher)
    response = upload_version(client, publisher, plugin["id"], version="one")
    assert response.status_code == 400 and "version" in response.get_json()["error"]["details"]["fields"]
    response = upload_version(client, publisher, plugin["id"], compatibility={"backstage": "not a range!"})
    assert response.status_code == 400
    response = upload_version(client, publisher, plugin["id"], configuration={"schema": {"type": "nope"}})
    assert response.status_code == 400
    assert "configuration.schema" in response.get_json()["error"]["details"]["fields"]
    response = upload_version(client, publisher, plugin["id"], configuration={
        "schema": {"type": "object", "properties": {"n": {"type": "integer"}}}, "defaults": {"n": "x"}})
    assert response.status_code == 400
    response = client.post(f"{API}/plugins/{plugin['id']}/versions", data={"metadata": "{not json",
                           "package": (io.BytesIO(make_tgz()), "p.tgz")}, headers=publisher,
                           content_type="multipart/form-data")
    assert response.status_code == 400 and "metadata" in response.get_json()["error"]["details"]["fields"]
    response = client.post(f"{API}/plugins/{plugin['id']}/versions", data={"metadata": json.dumps(
        {"version": "1.0.0"})}, headers=publisher, content_type="multipart/form-data")
    assert response.status_code == 400 and "package" in response.get_json()["error"]["details"]["fields"]
    response = client.post(f"{API}/plugins/{plugin['id']}/versions", json={"version": "1.0.0"}, headers=publisher)
    assert response.status_code == 415


def test_bad_archives_store_nothing(app, config, client, publisher):
    plugin = create_plugin(client, publisher)
    bad = [b"just some text", b"\x1f\x8b" + b"garbage" * 10, b"PK\x03\x04broken",
           make_tgz({"../../etc/passwd": b"x"}), make_zip({"/abs/path": b"x"})]
    for payload in bad:
        response = upload_version(client, publisher, plugin["id"], package=payload, filename="p.tgz")
        assert response.status_code == 400, payload[:10]
        assert response.get_json()["error"]["code"] == "VALIDATION_ERROR"
    response = upload_version(client, publisher, plugin["id"], package=b"\x1f\x8b" + os.urandom(70 * 1024))
    assert response.status_code == 413 and response.get_json()["error"]["code"] == "PAYLOAD_TOO_LARGE"
    assert count(app, PluginVersion) == 0 and artifact_files(config) == []
    assert events(app, "plugin.version_published") == []


def test_zip_and_jar_packages(client, publisher):
    plugin = create_plugin(client, publisher)
    response = upload_version(client, publisher, plugin["id"], version="1.0.0", package=make_zip(),
                              filename="../../evil.jar")
    assert response.status_code == 201
    package = response.get_json()["data"]["package"]
    assert package["format"] == "jar" and package["filename"] == "evil.jar"


def test_other_publishers_plugin_stores_nothing(app, config, client, publisher, other_publisher):
    plugin = published_plugin(client, publisher)
    before = artifact_files(config)
    response = upload_version(client, other_publisher, plugin["id"], version="2.0.0")
    assert response.status_code == 403
    response = client.post(f"{API}/plugins/{plugin['id']}/images", data={"icon": (io.BytesIO(PNG), "i.png")},
                           headers=other_publisher, content_type="multipart/form-data")
    assert response.status_code == 403
    assert artifact_files(config) == before and count(app, PluginVersion) == 1


def test_download_streams_with_etag_and_counts(app, client, publisher):
    plugin = published_plugin(client, publisher)
    url = f"{API}/plugins/{plugin['id']}/versions/1.0.0/package"
    response = client.get(url)
    assert response.status_code == 200 and response.data[:2] == b"\x1f\x8b"
    etag = response.headers["ETag"]
    assert etag == f'"{hashlib.sha256(response.data).hexdigest()}"'
    assert client.get(url, headers={"If-None-Match": etag}).status_code == 304
    assert client.get(f"{API}/plugins/{plugin['id']}/versions/9.9.9/package").status_code == 404
    detail = client.get(f"{API}/plugins/{plugin['id']}").get_json()["data"]
    assert detail["downloads"] == {"total": 1, "monthly": 1, "weekly": 1, "daily": 1}
    assert [e["data"]["version"] for e in events(app, "plugin.downloaded")] == ["1.0.0"]


def test_images_by_magic_bytes(app, config, client, publisher):
    plugin = published_plugin(client, publisher)
    url = f"{API}/plugins/{plugin['id']}/images"

    def post(data):
        return client.post(url, data=data, headers=publisher, content_type="multipart/form-data")

    assert post({"icon": (io.BytesIO(b"hello, I am text"), "icon.png")}).status_code == 400
    svg = b'<svg xmlns="http://www.w3.org/2000/svg"></svg>'
    assert post({"icon": (io.BytesIO(svg), "icon.svg")}).status_code == 400
    # One good and one bad file: nothing is kept.
    response = post({"icon": (io.BytesIO(PNG), "i.png"), "screenshots": (io.BytesIO(b"text"), "s.png")})
    assert response.status_code == 400
    assert post({"icon": (io.BytesIO(b"\x89PNG" + b"\x00" * 20000), "big.png")}).status_code == 413
    # An image part sent as text (no filename) is refused, not ignored.
    response = post({"icon": (io.BytesIO(PNG), "i.png"), "screenshots": "{}"})
    assert response.status_code == 400 and list(response.get_json()["error"]["details"]["fields"]) == ["screenshots"]
    assert count(app, PluginImage) == 0 and not [f for f in artifact_files(config) if "/images/" in f]
    response = post({"icon": (io.BytesIO(PNG), "../../../etc/passwd"),
                     "screenshots": [(io.BytesIO(JPEG), "a.jpg"), (io.BytesIO(PNG), "b.png")]})
    assert response.status_code == 201, response.get_json()
    data = response.get_json()["data"]
    assert data["icon"].startswith(f"{API}/plugins/{plugin['id']}/images/icon-") and len(data["screenshots"]) == 2
    image = client.get(data["icon"])
    assert image.status_code == 200 and image.data == PNG and image.mimetype == "image/png"
    assert client.get(data["screenshots"][0]).mimetype == "image/jpeg"
    # A new icon replaces the old one and its file.
    new_icon = post({"icon": (io.BytesIO(PNG + b"2"), "i.png")}).get_json()["data"]["icon"]
    assert client.get(data["icon"]).status_code == 404 and client.get(new_icon).status_code == 200
    assert count(app, PluginImage) == 3
    assert client.delete(new_icon, headers=publisher).status_code == 204
    assert client.get(f"{API}/plugins/{plugin['id']}").get_json()["data"]["icon"] is None


def test_unpublish_publish_deprecate_yank(app, client, publisher, other_publisher, user):
    plugin = published_plugin(client, publisher)
    pid = plugin["id"]
    upload_version(client, publisher, pid, version="1.1.0")
    assert client.post(f"{API}/plugins/{pid}/unpublish", headers=other_publisher).status_code == 403
    assert client.post(f"{API}/plugins/{pid}/unpublish", headers=publisher).status_code == 200
    assert client.get(f"{API}/plugins/{pid}").status_code == 404
    assert client.get(f"{API}/plugins").get_json()["pagination"]["total"] == 0
    assert [e["data"] for e in events(app, "plugin.unpublished")] == [{"pluginId": pid, "ownerId": "acct_pub"}]
    assert client.post(f"{API}/plugins/{pid}/publish", headers=publisher).status_code == 200
    assert len(events(app, "plugin.published")) == 2

    response = client.post(f"{API}/plugins/{pid}/versions/1.1.0/yank", json={}, headers=publisher)
    assert response.status_code == 400
    response = client.post(f"{API}/plugins/{pid}/versions/1.1.0/yank", json={"reason": "broken"}, headers=publisher)
    assert response.status_code == 200 and response.get_json()["data"]["yanked"] is True
    detail = client.get(f"{API}/plugins/{pid}").get_json()["data"]
    assert detail["version"] == "1.0.0"
    assert detail["versions"][0]["yanked"] is True and detail["versions"][0]["yankReason"] == "broken"
    assert events(app, "plugin.version_yanked")[0]["data"] == {"pluginId": pid, "ownerId": "acct_pub",
                                                               "version": "1.1.0", "reason": "broken"}
    assert client.post(f"{API}/plugins/{pid}/versions/7.0.0/yank", json={"reason": "x"},
                       headers=publisher).status_code == 404

    other = published_plugin(client, publisher, name="new-thing")
    response = client.post(f"{API}/plugins/{pid}/deprecate", json={"reason": "old", "replacement": other["id"]},
                           headers=publisher)
    assert response.status_code == 200
    assert response.get_json()["data"]["deprecation"]["replacement"] == "new-thing"
    response = client.post(f"{API}/plugins/{pid}/deprecate", json={"reason": "old", "replacement": "nope"},
                           headers=publisher)
    assert response.status_code == 400
