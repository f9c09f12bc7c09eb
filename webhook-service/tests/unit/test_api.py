"""The subscriptions API through the Flask test client (fake DNS: see conftest.FAKE_DNS)."""

import base64

import pytest

PREFIX = "/api/marketplace/v1"
URL = "https://hooks.example.com/hook"


def create(client, headers, **body):
    body = {"url": URL, "events": ["plugin.installed"], **body}
    return client.post(f"{PREFIX}/webhooks", json=body, headers=headers)


def test_register_generates_a_secret_shown_once(client, auth):
    response = create(client, auth(), description="mine")
    assert response.status_code == 201
    data = response.get_json()["data"]
    assert data["id"].startswith("wh_")
    assert data["secret"].startswith("whsec_") and len(base64.b64decode(data["secret"][6:])) == 32
    assert data["url"] == URL and data["events"] == ["plugin.installed"] and data["active"] is True
    assert data["ownerId"] == "acct_ann" and data["description"] == "mine" and data["disabled"] is False
    assert data["createdAt"].endswith("Z")
    shown = client.get(f"{PREFIX}/webhooks/{data['id']}", headers=auth()).get_json()["data"]
    assert "secret" not in shown
    listed = client.get(f"{PREFIX}/webhooks", headers=auth()).get_json()["data"]
    assert "secret" not in listed[0]


def test_register_with_the_spec_body_and_own_secret(client, auth):
    response = create(client, auth(), events=["plugin.installed", "plugin.error"], secret="webhook_secret_key")
    assert response.status_code == 201
    assert response.get_json()["data"]["secret"] == "webhook_secret_key"


@pytest.mark.parametrize("body, field", [
    ({"events": ["plugin.exploded"]}, "events"),
    ({"events": []}, "events"),
    ({"events": "plugin.installed"}, "events"),
    ({"url": None}, "url"),
    ({"secret": "short"}, "secret"),
    ({"secret": "whsec_***notbase64***"}, "secret"),
    ({"pluginIds": "plugin_1"}, "pluginIds"),
    ({"colour": "blue"}, "colour"),
    ({"active": "maybe"}, "active"),
])
def test_register_validation_errors_name_the_field(client, auth, body, field):
    response = create(client, auth(), **body)
    assert response.status_code == 400
    error = response.get_json()["error"]
    assert error["code"] == "VALIDATION_ERROR"
    assert field in error["details"]["fields"]


def test_every_published_event_and_the_wildcard_are_accepted(client, auth):
    names = ["plugin.installed", "plugin.updated", "plugin.uninstalled", "plugin.error", "plugin.health_changed",
             "plugin.published", "plugin.version_published", "plugin.*"]
    assert create(client, auth(), events=names).status_code == 201


@pytest.mark.parametrize("url", [
    "http://169.254.169.254/", "http://[::ffff:10.0.0.1]/", "http://internal.example.com/",
    "http://mixed.example.com/", "ftp://hooks.example.com/", "http://127.0.0.1:9999/", "http://nowhere.invalid/",
])
def test_register_refuses_unsafe_urls(client, auth, url):
    response = create(client, auth(), url=url)
    assert response.status_code == 400, response.get_json()
    assert response.get_json()["error"]["details"]["fields"]["url"]


def test_allowed_networks_permit_loopback(app, client, auth, config):
    config.WEBHOOK_ALLOWED_NETWORKS = ["127.0.0.0/8"]
    assert create(client, auth(), url="http://127.0.0.1:9999/hook").status_code == 201


def test_allowed_networks_only_refuse_a_public_address_at_registration(app, client, auth, config):
    config.WEBHOOK_ALLOWED_NETWORKS = ["127.0.0.0/8"]
    config.WEBHOOK_ALLOWED_NETWORKS_ONLY = True
    response = create(client, auth(), url=URL)
    assert response.status_code == 400, response.get_json()
    assert "outside the allowed networks" in str(response.get_json()["error"]["details"]["fields"]["url"])
    assert create(client, auth(), url="http://127.0.0.1:9999/hook").status_code == 201


def test_requires_a_signed_in_caller(client):
    assert client.get(f"{PREFIX}/webhooks").status_code == 401
    assert client.post(f"{PREFIX}/webhooks", json={"url": URL, "events": ["plugin.error"]}).status_code == 401


def test_owners_see_their_own_admins_see_all(client, auth):
    mine = create(client, auth("acct_ann")).get_json()["data"]["id"]
    theirs = create(client, auth("acct_bob")).get_json()["data"]["id"]
    ann = client.get(f"{PREFIX}/webhooks", headers=auth("acct_ann")).get_json()
    assert list(ann) == ["data", "pagination", "links", "metadata"]
    assert [w["id"] for w in ann["data"]] == [mine]
    assert ann["pagination"]["total"] == 1
    admin = client.get(f"{PREFIX}/webhooks", headers=auth("acct_root", "admin")).get_json()
    assert {w["id"] for w in admin["data"]} == {mine, theirs}
    only_bob = client.get(f"{PREFIX}/webhooks?ownerId=acct_bob", headers=auth("acct_root", "admin")).get_json()
    assert [w["id"] for w in only_bob["data"]] == [theirs]
    for method, suffix in (("get", ""), ("patch", ""), ("delete", ""), ("post", "/ping"), ("get", "/deliveries")):
        response = getattr(client, method)(f"{PREFIX}/webhooks/{theirs}{suffix}", headers=auth("acct_ann"),
                                           json={} if method == "patch" else None)
        assert response.status_code == 404, (method, suffix)
        assert response.get_json()["error"]["code"] == "WEBHOOK_NOT_FOUND"
    assert client.get(f"{PREFIX}/webhooks/{theirs}", headers=auth("acct_root", "admin")).status_code == 200


def test_pagination(client, auth):
    for _ in range(3):
        create(client, auth())
    body = client.get(f"{PREFIX}/webhooks?page=2&limit=2", headers=auth()).get_json()
    assert len(body["data"]) == 1
    assert body["pagination"] == {"page": 2, "limit": 2, "total": 3, "totalPages": 2, "hasNextPage": False,
                                  "hasPrevPage": True}
    assert body["links"]["prev"].endswith("page=1&limit=2")
    assert client.get(f"{PREFIX}/webhooks?limit=1000", headers=auth()).status_code == 400


def test_patch_and_delete(client, auth):
    webhook_id = create(client, auth()).get_json()["data"]["id"]
    response = client.patch(f"{PREFIX}/webhooks/{webhook_id}", headers=auth(),
                            json={"events": ["plugin.*"], "pluginIds": ["plugin_1"], "active": False})
    assert response.status_code == 200
    data = response.get_json()["data"]
    assert data["events"] == ["plugin.*"] and data["pluginIds"] == ["plugin_1"] and data["active"] is False
    # No body changes nothing (the document marks the body optional).
    unchanged = client.patch(f"{PREFIX}/webhooks/{webhook_id}", headers=auth())
    assert unchanged.status_code == 200
    assert {k: v for k, v in unchanged.get_json()["data"].items() if k != "updatedAt"} == \
        {k: v for k, v in data.items() if k != "updatedAt"}
    bad = client.patch(f"{PREFIX}/webhooks/{webhook_id}", headers=auth(), json={"url": "http://10.0.0.7/"})
    assert bad.status_code == 400
    assert client.patch(f"{PREFIX}/webhooks/{webhook_id}", headers=auth(), json={"secret": "x" * 20}).status_code == 400
    assert client.delete(f"{PREFIX}/webhooks/{webhook_id}", headers=auth()).status_code == 204
    assert client.get(f"{PREFIX}/webhooks/{webhook_id}", headers=auth()).status_code == 404


def test_rotate_secret_keeps_the_old_one_for_the_grace_period(client, auth, database):
    from webhook_service.models import Webhook
    from webhook_service.services import secrets_in_use

    created = create(client, auth()).get_json()["data"]
    response = client.post(f"{PREFIX}/webhooks/{created['id']}/rotate-secret", headers=auth())
    assert response.status_code == 200
    rotated = response.get_json()["data"]
    assert rotated["secret"].startswith("whsec_") and rotated["secret"] != created["secret"]
    assert rotated["previousSecretExpiresAt"] is not None
    with database.session() as session:
        assert secrets_in_use(session.get(Webhook, created["id"])) == [rotated["secret"], created["secret"]]
    chosen = client.post(f"{PREFIX}/webhooks/{created['id']}/rotate-secret", headers=auth(),
                         json={"secret": "my-new-secret-123", "gracePeriodSeconds": 0})
    assert chosen.get_json()["data"]["secret"] == "my-new-secret-123"
    with database.session() as session:
        assert secrets_in_use(session.get(Webhook, created["id"])) == ["my-new-secret-123"]
    bad = client.post(f"{PREFIX}/webhooks/{created['id']}/rotate-secret", headers=auth(), json={"grace": 1})
    assert bad.status_code == 400


def test_ping_redeliver_and_recover(client, auth, database):
    from webhook_service.models import Delivery

    webhook_id = create(client, auth()).get_json()["data"]["id"]
    ping = client.post(f"{PREFIX}/webhooks/{webhook_id}/ping", headers=auth())
    assert ping.status_code == 202
    delivery = ping.get_json()["data"]
    assert delivery["event"] == "webhook.ping" and delivery["status"] == "pending"
    assert delivery["payload"]["data"]["webhookId"] == webhook_id
    listed = client.get(f"{PREFIX}/webhooks/{webhook_id}/deliveries", headers=auth()).get_json()
    assert [d["id"] for d in listed["data"]] == [delivery["id"]]
    assert client.get(f"{PREFIX}/webhooks/{webhook_id}/deliveries?status=failed", headers=auth()).get_json()[
        "pagination"]["total"] == 0

    with database.session() as session, session.begin():
        row = session.get(Delivery, delivery["id"])
        row.status, row.next_attempt_at, row.round_attempts = "failed", None, 1
    again = client.post(f"{PREFIX}/webhooks/{webhook_id}/deliveries/{delivery['id']}/redeliver", headers=auth())
    assert again.status_code == 202 and again.get_json()["data"]["status"] == "pending"
    assert again.get_json()["data"]["id"] == delivery["id"]
    missing = client.post(f"{PREFIX}/webhooks/{webhook_id}/deliveries/dlv_nope/redeliver", headers=auth())
    assert missing.status_code == 404 and missing.get_json()["error"]["code"] == "DELIVERY_NOT_FOUND"

    with database.session() as session, session.begin():
        session.get(Delivery, delivery["id"]).status = "failed"
    recovered = client.post(f"{PREFIX}/webhooks/{webhook_id}/recover", headers=auth(),
                            json={"since": "2000-01-01T00:00:00Z"})
    assert recovered.status_code == 202 and recovered.get_json()["data"]["recovered"] == 1
    none_later = client.post(f"{PREFIX}/webhooks/{webhook_id}/recover", headers=auth(),
                             json={"since": "2999-01-01T00:00:00Z"})
    assert none_later.get_json()["data"]["recovered"] == 0
    assert client.post(f"{PREFIX}/webhooks/{webhook_id}/recover", headers=auth(), json={}).status_code == 400
    assert client.post(f"{PREFIX}/webhooks/{webhook_id}/recover", headers=auth(),
                       json={"since": "yesterday"}).status_code == 400


def test_openapi_documents_the_routes(client):
    paths = client.get("/openapi.json").get_json()["paths"]
    for path in ("/webhooks", "/webhooks/{webhook_id}", "/webhooks/{webhook_id}/rotate-secret",
                 "/webhooks/{webhook_id}/ping", "/webhooks/{webhook_id}/deliveries",
                 "/webhooks/{webhook_id}/deliveries/{delivery_id}/redeliver", "/webhooks/{webhook_id}/recover"):
        assert PREFIX + path in paths
