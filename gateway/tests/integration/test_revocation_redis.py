"""Two gateway replicas with their counters in Redis: a key revoked on one is refused at once by the other."""

import redis

from gateway.app import create_app
from gateway.migrate import migrate
from marketplace_shared.testing import unique_name

from ..conftest import make_account

API = "/api/marketplace/v1"
REDIS_URL = "redis://127.0.0.1:6379/0"


def test_a_revoked_key_is_refused_at_once_by_another_replica(config):
    config.REDIS_URL = REDIS_URL  # Redis must be running: this fails, never skips, without it
    config.RATE_LIMIT_KEY_PREFIX = unique_name("gwrev")
    config.AUTH_CACHE_SECONDS = 300.0
    migrate(config)
    first, second = (create_app(config).test_client() for _ in range(2))
    try:
        assert first.get("/readyz").status_code == 200
        _account, headers = make_account(first)
        key_id = first.get(f"{API}/me/api-keys", headers=headers).get_json()["data"][0]["id"]
        assert second.get(f"{API}/plugins", headers=headers).status_code == 200
        assert first.delete(f"{API}/api-keys/{key_id}", headers=headers).status_code == 204
        refused = second.get(f"{API}/plugins", headers=headers)
        assert refused.status_code == 401 and refused.get_json()["error"]["message"] == "API key has been revoked"
        assert second.get(f"{API}/me", headers=headers).status_code == 401
    finally:
        connection = redis.Redis.from_url(REDIS_URL)
        for key in connection.scan_iter(f"*{config.RATE_LIMIT_KEY_PREFIX}*"):
            connection.delete(key)
