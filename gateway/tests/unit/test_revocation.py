"""Credentials change everywhere at once: two gateway apps stand for two workers (or replicas) sharing the
accounts database and the counter store; each keeps its own credential cache for AUTH_CACHE_SECONDS."""

import pytest

from gateway.app import create_app
from gateway.migrate import migrate

from ..conftest import ADMIN, make_account

API = "/api/marketplace/v1"


def _workers(config, count=2):
    config.AUTH_CACHE_SECONDS = 300.0  # far longer than any test: only the generation can end an entry early
    migrate(config)
    return [create_app(config).test_client() for _ in range(count)]


@pytest.mark.parametrize("limiting", [True, False])
def test_a_key_revoked_on_one_worker_is_refused_at_once_by_the_other(config, limiting):
    config.RATE_LIMIT_ENABLED = limiting
    first, second = _workers(config)
    _account, headers = make_account(first)
    key_id = first.get(f"{API}/me/api-keys", headers=headers).get_json()["data"][0]["id"]
    # The second worker has the key cached: a read (fast path) and a write (Flask path) both pass.
    assert second.get(f"{API}/plugins", headers=headers).status_code == 200
    assert second.get(f"{API}/me", headers=headers).status_code == 200
    assert first.delete(f"{API}/api-keys/{key_id}", headers=headers).status_code == 204
    for response in (second.get(f"{API}/plugins", headers=headers), second.get(f"{API}/me", headers=headers),
                     second.post(f"{API}/plugins/p1/reviews", json={"rating": 5}, headers=headers),
                     first.get(f"{API}/plugins", headers=headers)):
        assert response.status_code == 401, response.get_data(as_text=True)
        assert response.get_json()["error"] == {"code": "UNAUTHORIZED", "message": "API key has been revoked",
                                                "details": {}}
    # Other keys keep working, and keep their cache entries once looked up again.
    assert second.get(f"{API}/me", headers=ADMIN).status_code == 200


def test_a_role_change_applies_at_once_on_every_worker(config):
    first, second = _workers(config)
    account, headers = make_account(first)
    assert second.get(f"{API}/admin/accounts", headers=headers).status_code == 403
    changed = first.patch(f"{API}/admin/accounts/{account['id']}", json={"role": "admin"}, headers=ADMIN)
    assert changed.status_code == 200
    assert second.get(f"{API}/admin/accounts", headers=headers).status_code == 200


def test_an_unknown_key_is_401_when_the_anonymous_budget_is_spent(config):
    config.RATE_LIMIT_ANONYMOUS = "2/hour"
    config.RATE_LIMIT_FAILED_AUTH = "3/hour"
    (client,) = _workers(config, 1)
    assert [client.get(f"{API}/plugins").status_code for _ in range(3)] == [200, 200, 429]
    unknown = {"Authorization": "Bearer mkp_" + "A" * 32 + "000000"}
    for remaining in (2, 1, 0):
        refused = client.get(f"{API}/plugins", headers=unknown)
        assert refused.status_code == 401 and refused.get_json()["error"]["code"] == "UNAUTHORIZED"
        assert refused.headers["RateLimit-Policy"] == '"failed_auth";q=3;w=3600'
        assert refused.headers["X-RateLimit-Remaining"] == str(remaining)
    # Failed attempts have a limit of their own.
    throttled = client.post(f"{API}/plugins/p1/reviews", json={}, headers={"X-API-Key": "wrong"})
    assert throttled.status_code == 429 and throttled.headers["Retry-After"]
    assert throttled.get_json()["error"]["details"]["policy"] == "failed_auth"
    # A signed-in caller is not affected by either budget of its address.
    assert client.get(f"{API}/me", headers=ADMIN).status_code == 200


def test_an_expired_key_is_401_not_429(config):
    from datetime import UTC, datetime, timedelta

    from gateway.models import ApiKey

    config.RATE_LIMIT_ANONYMOUS = "1/hour"
    (client,) = _workers(config, 1)
    _account, headers = make_account(client)
    client.get(f"{API}/plugins")
    assert client.get(f"{API}/plugins").status_code == 429
    app = client.application
    with app.extensions["gateway"].database.session() as session, session.begin():
        for key in session.query(ApiKey).filter(ApiKey.prefix == headers["X-API-Key"][:12]):
            key.expires_at = datetime.now(UTC).replace(tzinfo=None) - timedelta(seconds=1)
    app.extensions["gateway"].authenticator.forget_account(_account["id"])
    expired = client.get(f"{API}/plugins", headers=headers)
    assert expired.status_code == 401 and expired.get_json()["error"]["message"] == "API key has expired"
