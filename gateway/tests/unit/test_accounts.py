from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select, update

from gateway import services
from gateway.app import create_app
from gateway.models import Account, ApiKey
from marketplace_shared.db import Database
from marketplace_shared.testing import wait_for

from ..conftest import ADMIN, ADMIN_KEY, make_account

API = "/api/marketplace/v1"


def test_admin_creates_gets_lists_and_changes_accounts(client):
    created = client.post(f"{API}/admin/accounts", headers=ADMIN,
                          json={"name": "Ann", "email": "Ann@Example.com", "role": "publisher"})
    assert created.status_code == 201
    account = created.get_json()["data"]
    assert account["id"].startswith("acct_") and account["email"] == "ann@example.com"
    assert account["tier"] == "authenticated" and account["createdAt"].endswith("Z")

    assert client.get(f"{API}/admin/accounts/{account['id']}", headers=ADMIN).get_json()["data"] == account
    listing = client.get(f"{API}/admin/accounts?role=publisher&limit=1", headers=ADMIN).get_json()
    assert [row["id"] for row in listing["data"]] == [account["id"]]
    assert listing["pagination"]["total"] == 1 and listing["links"]["self"].startswith(f"{API}/admin/accounts?")

    changed = client.patch(f"{API}/admin/accounts/{account['id']}", headers=ADMIN,
                           json={"tier": "enterprise", "rateLimitPerHour": 5000, "role": "user"})
    assert changed.status_code == 200
    assert {k: changed.get_json()["data"][k] for k in ("tier", "rateLimitPerHour", "role")} == \
        {"tier": "enterprise", "rateLimitPerHour": 5000, "role": "user"}


def test_account_input_is_validated(client):
    unknown = client.post(f"{API}/admin/accounts", headers=ADMIN,
                          json={"name": "A", "email": "a@example.com", "colour": "red"})
    assert unknown.status_code == 400
    assert "colour" in unknown.get_json()["error"]["details"]["fields"]
    bad_role = client.post(f"{API}/admin/accounts", headers=ADMIN,
                           json={"name": "A", "email": "a@e.com", "role": "god"})
    assert bad_role.status_code == 400 and "role" in bad_role.get_json()["error"]["details"]["fields"]
    enterprise = client.post(f"{API}/admin/accounts", headers=ADMIN,
                             json={"name": "A", "email": "a@example.com", "tier": "enterprise"})
    assert enterprise.status_code == 400
    assert "rateLimitPerHour" in enterprise.get_json()["error"]["details"]["fields"]
    assert client.post(f"{API}/admin/accounts", headers=ADMIN, json={"name": "A", "email": "a@example.com"}) \
        .status_code == 201
    duplicate = client.post(f"{API}/admin/accounts", headers=ADMIN, json={"name": "B", "email": "A@example.com"})
    assert duplicate.status_code == 409 and duplicate.get_json()["error"]["code"] == "CONFLICT"
    missing = client.get(f"{API}/admin/accounts/acct_nope", headers=ADMIN)
    assert missing.status_code == 404 and missing.get_json()["error"]["code"] == "ACCOUNT_NOT_FOUND"
    empty_patch = client.patch(f"{API}/admin/accounts/acct_admin", headers=ADMIN, json={})
    assert empty_patch.status_code == 400


def test_admin_routes_need_an_admin(client):
    _account, user = make_account(client, "user")
    _account, publisher = make_account(client, "publisher")
    for headers, status in (({}, 401), (user, 403), (publisher, 403), (ADMIN, 200)):
        response = client.get(f"{API}/admin/accounts", headers=headers)
        assert response.status_code == status, (headers, response.get_json())
    assert client.post(f"{API}/admin/accounts", json={"name": "x", "email": "x@example.com"},
                       headers=user).status_code == 403
    assert client.post(f"{API}/admin/accounts", json={"name": "x", "email": "x@example.com"}).status_code == 401


def test_me_and_my_keys(client):
    account, headers = make_account(client, "publisher")
    me = client.get(f"{API}/me", headers=headers)
    assert me.status_code == 200 and me.headers["Cache-Control"] == "no-store"
    body = me.get_json()["data"]
    assert body["id"] == account["id"] and body["role"] == "publisher"
    assert body["rateLimit"]["policy"] == "authenticated" and body["rateLimit"]["limit"] == 1000
    assert client.get(f"{API}/me").status_code == 401

    expires = (datetime.now(UTC) + timedelta(days=30)).isoformat()
    created = client.post(f"{API}/me/api-keys", headers=headers, json={"name": "ci", "expiresAt": expires})
    assert created.status_code == 201
    new_key = created.get_json()["data"]
    assert services.is_well_formed_key(new_key["key"]) and new_key["expiresAt"].endswith("Z")
    assert new_key["accountId"] == account["id"] and new_key["status"] == "active"
    assert client.get(f"{API}/me", headers={"Authorization": f"Bearer {new_key['key']}"}).status_code == 200
    listed = client.get(f"{API}/me/api-keys", headers=headers).get_json()["data"]
    assert {key["name"] for key in listed} == {"test", "ci"} and all("key" not in key for key in listed)
    past = client.post(f"{API}/me/api-keys", headers=headers, json={"expiresAt": "2001-01-01T00:00:00Z"})
    assert past.status_code == 400 and "expiresAt" in past.get_json()["error"]["details"]["fields"]
    assert client.post(f"{API}/me/api-keys", json={}).status_code == 401


def test_revoking_a_key_stops_it_at_once(client):
    _account, headers = make_account(client)
    me = client.get(f"{API}/me/api-keys", headers=headers).get_json()["data"]
    other_account, other = make_account(client)
    assert client.delete(f"{API}/api-keys/{me[0]['id']}", headers=other).status_code == 403
    assert client.delete(f"{API}/api-keys/key_missing", headers=other).status_code == 404
    assert client.get(f"{API}/me", headers=headers).status_code == 200  # cached, and then revoked:
    assert client.delete(f"{API}/api-keys/{me[0]['id']}", headers=headers).status_code == 204
    revoked = client.get(f"{API}/me", headers=headers)
    assert revoked.status_code == 401 and "revoked" in revoked.get_json()["error"]["message"]
    # An admin may revoke anyone's key.
    other_key = client.get(f"{API}/admin/accounts/{other_account['id']}/api-keys", headers=ADMIN).get_json()["data"]
    assert client.delete(f"{API}/api-keys/{other_key[0]['id']}", headers=ADMIN).status_code == 204
    assert client.get(f"{API}/me", headers=other).status_code == 401
    listed = client.get(f"{API}/admin/accounts/{other_account['id']}/api-keys", headers=ADMIN).get_json()["data"]
    assert listed[0]["status"] == "revoked" and listed[0]["revokedAt"]


def test_an_expired_key_is_refused(client, config):
    _account, headers = make_account(client)
    database = Database(config.DATABASE_URL)
    with database.session() as session, session.begin():
        session.execute(update(ApiKey).where(ApiKey.key_hash == services.hash_key(headers["X-API-Key"]))
                        .values(expires_at=datetime(2020, 1, 1)))
    database.dispose()
    response = client.get(f"{API}/me", headers=headers)
    assert response.status_code == 401 and "expired" in response.get_json()["error"]["message"]
    assert client.post(f"{API}/plugins", json={}, headers=headers).status_code == 401


def test_last_use_is_recorded(client, config):
    _account, headers = make_account(client)
    client.get(f"{API}/me", headers=headers)
    database = Database(config.DATABASE_URL)

    def last_used():
        with database.session() as session:
            return session.scalar(select(ApiKey.last_used_at)
                                  .where(ApiKey.key_hash == services.hash_key(headers["X-API-Key"])))

    first = wait_for(last_used, timeout=5, message="lastUsedAt")
    listed = client.get(f"{API}/me/api-keys", headers=headers).get_json()["data"]
    assert listed[0]["lastUsedAt"].endswith("Z")
    assert last_used() == first  # not rewritten within the minute
    database.dispose()


def test_the_admin_key_bootstrap_is_idempotent(config):
    from gateway.migrate import migrate

    for _ in range(2):  # each boot migrates and writes the admin account; gunicorn's workers do not
        migrate(config)
    create_app(config)
    database = Database(config.DATABASE_URL)
    with database.session() as session:
        assert session.scalar(select(func.count()).select_from(Account).where(Account.role == "admin")) == 1
        assert session.scalar(select(func.count()).select_from(ApiKey)) == 1
    client = create_app(config).test_client()
    assert client.get(f"{API}/me", headers={"api-key": ADMIN_KEY}).get_json()["data"]["role"] == "admin"
    # A new key replaces the old one.
    config.MARKETPLACE_ADMIN_API_KEY = "another-admin-key-987654"
    migrate(config)
    client = create_app(config).test_client()
    assert client.get(f"{API}/me", headers={"X-API-Key": "another-admin-key-987654"}).status_code == 200
    assert client.get(f"{API}/me", headers={"X-API-Key": ADMIN_KEY}).status_code == 401
    database.dispose()


def test_the_app_itself_writes_no_admin_account(config):
    from gateway.migrate import migrate

    key = config.MARKETPLACE_ADMIN_API_KEY
    config.MARKETPLACE_ADMIN_API_KEY = None
    migrate(config)
    config.MARKETPLACE_ADMIN_API_KEY = key
    create_app(config)  # what every gunicorn worker runs
    database = Database(config.DATABASE_URL)
    with database.session() as session:
        assert session.scalar(select(func.count()).select_from(Account)) == 0
    migrate(config)  # the boot step
    with database.session() as session:
        assert session.get(Account, services.ADMIN_ACCOUNT_ID).role == "admin"
    database.dispose()
