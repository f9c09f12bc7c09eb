import re
import subprocess
import sys
import textwrap
import time

import pytest

from gateway.app import create_app
from gateway.migrate import migrate
from gateway.ratelimit import SQLiteStorage

from ..conftest import ADMIN, FakeUpstream, make_account

API = "/api/marketplace/v1"
ISO = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")


@pytest.fixture
def limited(config):
    config.RATE_LIMIT_ANONYMOUS = "5/hour"
    config.RATE_LIMIT_AUTHENTICATED = "8/hour"
    migrate(config)
    return create_app(config).test_client()


def test_anonymous_callers_get_exactly_the_limit(limited):
    remaining = []
    for _ in range(5):
        response = limited.get(f"{API}/plugins")
        assert response.status_code == 200
        remaining.append(int(response.headers["X-RateLimit-Remaining"]))
    assert remaining == [4, 3, 2, 1, 0]
    refused = limited.get(f"{API}/plugins")
    assert refused.status_code == 429
    body = refused.get_json()
    assert body["error"]["code"] == "RATE_LIMITED" and body["requestId"] == refused.headers["X-Request-Id"]
    assert 3500 <= int(refused.headers["Retry-After"]) <= 3600
    assert refused.headers["X-RateLimit-Limit"] == "5" and refused.headers["X-RateLimit-Remaining"] == "0"
    assert refused.headers["RateLimit-Policy"] == '"anonymous";q=5;w=3600'
    assert re.match(r'^"anonymous";r=0;t=\d+$', refused.headers["RateLimit"])
    assert ISO.match(refused.headers["X-RateLimit-Reset"])


def test_accounts_have_their_own_budget_and_enterprise_its_own_limit(limited):
    _account, user = make_account(limited)  # two admin calls: the admin's budget, not the anonymous one
    for _ in range(5):
        limited.get(f"{API}/plugins")
    assert limited.get(f"{API}/plugins").status_code == 429
    response = limited.get(f"{API}/plugins", headers=user)
    assert response.status_code == 200 and response.headers["X-RateLimit-Limit"] == "8"
    assert response.headers["RateLimit-Policy"] == '"authenticated";q=8;w=3600'
    enterprise, big = make_account(limited, tier="enterprise", rateLimitPerHour=3)
    statuses = [limited.get(f"{API}/plugins", headers=big).status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    assert limited.get(f"{API}/plugins", headers=big).headers["RateLimit-Policy"] == '"enterprise";q=3;w=3600'
    # Raising the limit applies within the auth cache lifetime (at once in this process).
    limited.patch(f"{API}/admin/accounts/{enterprise['id']}", json={"rateLimitPerHour": 50}, headers=ADMIN)
    assert limited.get(f"{API}/plugins", headers=big).status_code == 200


def test_headers_on_every_kind_of_response(limited, config):
    _account, user = make_account(limited)
    responses = {
        "proxied 200": limited.get(f"{API}/plugins"),
        "own 200": limited.get(f"{API}/me", headers=user),
        "401": limited.post(f"{API}/plugins", json={}),
        "403": limited.get(f"{API}/admin/accounts", headers=user),
        "404": limited.get("/nowhere"),
        "405": limited.put(f"{API}/me", json={}, headers=user),
        "400": limited.post(f"{API}/me/api-keys", json={"nope": 1}, headers=user),
    }
    for name, response in responses.items():
        assert response.headers.get("X-RateLimit-Limit"), name
        assert response.headers.get("X-RateLimit-Remaining"), name
        assert ISO.match(response.headers.get("X-RateLimit-Reset", "")), name
        assert response.headers.get("RateLimit-Policy") and response.headers.get("RateLimit"), name
        assert response.headers.get("X-Request-Id"), name
    assert limited.get("/healthz").headers.get("X-RateLimit-Limit") is None  # probes are not counted


def test_sqlite_storage_is_exact_across_processes(tmp_path):
    path = tmp_path / "counters.db"
    SQLiteStorage(f"gateway-sqlite://{path}")
    worker = textwrap.dedent(f"""
        import threading
        from gateway.ratelimit import SQLiteStorage
        storage = SQLiteStorage("gateway-sqlite://{path}")
        counts = []
        def hit():
            for _ in range(50):
                counts.append(storage.incr("shared", 3600))
        threads = [threading.Thread(target=hit) for _ in range(4)]
        [t.start() for t in threads]
        [t.join() for t in threads]
        print(",".join(map(str, counts)))
    """)
    processes = [subprocess.Popen([sys.executable, "-c", worker], stdout=subprocess.PIPE, text=True)
                 for _ in range(2)]
    seen = []
    for process in processes:
        out, _ = process.communicate(timeout=60)
        assert process.returncode == 0
        seen += [int(value) for value in out.strip().split(",")]
    # Every hit got its own number: no two processes or threads ever read the same count.
    assert sorted(seen) == list(range(1, 401))


def test_sqlite_storage_windows_expire(tmp_path):
    storage = SQLiteStorage(f"gateway-sqlite://{tmp_path / 'c.db'}")
    count, reset = storage.incr_with_expiry("k", 1)
    assert count == 1 and reset - time.time() <= 1
    assert storage.incr("k", 1) == 2 and storage.get("k") == 2
    time.sleep(1.05)  # the window is a real second long
    assert storage.get("k") == 0 and storage.incr("k", 1) == 1
    storage.clear("k")
    assert storage.get("k") == 0 and storage.check()


def test_a_broken_counter_store_lets_requests_through(config):
    config.REDIS_URL = "redis://127.0.0.1:1/0"  # nothing listens there
    migrate(config)
    client = create_app(config).test_client()
    response = client.get(f"{API}/plugins")
    assert response.status_code == 200 and response.headers["X-RateLimit-Limit"] == "1000"


def test_an_upstream_error_still_counts_and_carries_headers(limited, config):
    stopped = FakeUpstream("gone")
    stopped.stop()
    config.WEBHOOK_URL = stopped.url
    client = create_app(config).test_client()
    response = client.get(f"{API}/webhooks")
    assert response.status_code == 503 and response.headers["X-RateLimit-Remaining"] == "4"


def test_readyz_reports_the_rate_limit_store(client, app):
    body = client.get("/readyz").get_json()
    assert body["checks"]["rateLimitStore"] == "ok"
    app.extensions["gateway"].limiter.storage.check = lambda: False
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.get_json()["error"]["details"]["checks"]["rateLimitStore"].startswith("error")
