"""Credentials end everywhere at once: a revoked key is refused by every gateway worker and replica on its
next use, and a key that is not valid is 401 whatever the anonymous budget of its address.

The stack's gateway keeps its counters in SQLite (its two workers share the file); two more gateway
replicas started here share the stack's accounts database and keep their counters in Redis, with a
credential cache of 300 s, so that only the shared generation can make them let a key go.
"""

import os
import signal
import subprocess
from concurrent.futures import ThreadPoolExecutor

import pytest
import redis
import requests

from api_client import ApiClient, expect, expect_error
from factories import new_account
from marketplace_shared.testing import free_port, unique_name, wait_for
from stack import GATEWAY, PYTHON, REPO

REDIS_URL = "redis://127.0.0.1:6379/0"
CONNECTIONS = 6


@pytest.fixture(scope="module")
def replicas(stack, tmp_path_factory):
    """Two more gateways (two workers each) in front of the same services and accounts, counters in Redis."""
    redis.Redis.from_url(REDIS_URL, socket_timeout=2).ping()  # Redis must run: this fails, never skips
    prefix = unique_name("e2erev")
    var_dir = tmp_path_factory.mktemp("replicas")
    processes, urls = [], []
    for index in range(2):
        port = free_port()
        env = stack.base_env(GATEWAY)
        env.pop("PROMETHEUS_MULTIPROC_DIR", None)
        env.update({"PORT": str(port), "REDIS_URL": REDIS_URL, "RATE_LIMIT_KEY_PREFIX": prefix,
                    "AUTH_CACHE_SECONDS": "300", "RATE_LIMIT_ANONYMOUS": "3/hour", "RATE_LIMIT_FAILED_AUTH": "50/hour",
                    "WEB_CONCURRENCY": "2", "VAR_DIR": str(var_dir / str(index))})
        log = open(var_dir / f"gateway-{index}.log", "wb")  # noqa: SIM115 - closed with the process
        processes.append((subprocess.Popen([PYTHON, "-m", "gunicorn", "-c", "gunicorn.conf.py"], cwd=REPO / "gateway",
                                           env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True),
                          log))
        urls.append(f"http://127.0.0.1:{port}")
    try:
        for url in urls:
            wait_for(lambda url=url: _ready(url), timeout=60, message=f"gateway replica {url} ready")
        yield urls
    finally:
        for process, log in processes:
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(timeout=20)
            log.close()
        connection = redis.Redis.from_url(REDIS_URL)
        for key in connection.scan_iter(f"*{prefix}*"):
            connection.delete(key)


def _ready(url: str) -> bool:
    try:
        return requests.get(f"{url}/readyz", timeout=2).status_code == 200
    except requests.RequestException:
        return False


def _kept_alive(base_url: str, key: str, count: int = CONNECTIONS) -> list[ApiClient]:
    """Clients on connections of their own, each opened (and its worker's cache filled) before the revoke."""
    clients = []
    for _ in range(count):
        client = ApiClient(base_url, key)
        expect(client.get("/me"), 200)
        clients.append(client)
    return clients


def _all_at_once(clients: list[ApiClient], path: str) -> list[requests.Response]:
    with ThreadPoolExecutor(max_workers=len(clients)) as pool:
        return list(pool.map(lambda client: client.get(path), clients))


def test_a_revoked_key_is_refused_at_once_by_every_worker(stack, admin):
    owner = new_account(admin, "user")
    created = expect(owner.post("/me/api-keys", json={"name": "to revoke"}), 201)["data"]
    clients = _kept_alive(stack.gateway_url, created["key"])
    expect(owner.delete(f"/api-keys/{created['id']}"), 204)
    for response in _all_at_once(clients, "/me") + _all_at_once(clients, "/plugins?limit=1"):
        body = expect_error(response, 401, "UNAUTHORIZED")
        assert body["error"]["message"] == "API key has been revoked", body


def test_a_revoked_key_is_refused_at_once_by_every_replica(replicas, admin):
    first, second = replicas
    owner = new_account(admin, "user")  # created through the stack's gateway: the accounts are shared
    created = expect(ApiClient(first, owner.key).post("/me/api-keys", json={"name": "replicas"}), 201)["data"]
    clients = _kept_alive(first, created["key"]) + _kept_alive(second, created["key"])
    expect(ApiClient(second, owner.key).delete(f"/api-keys/{created['id']}"), 204)
    for response in _all_at_once(clients, "/me") + _all_at_once(clients, "/plugins?limit=1"):
        body = expect_error(response, 401, "UNAUTHORIZED")
        assert body["error"]["message"] == "API key has been revoked", body
    # The owner's first key is untouched on both.
    for url in replicas:
        expect(ApiClient(url, owner.key).get("/me"), 200)


def test_an_unknown_key_with_the_anonymous_budget_spent_is_401(replicas, admin):
    url = replicas[0]
    anonymous = ApiClient(url)
    statuses = [anonymous.get("/plugins?limit=1").status_code for _ in range(4)]
    assert statuses[-1] == 429 and statuses.count(429) >= 1, statuses
    unknown = "mkp_" + "A" * 32 + "000000"
    account = new_account(admin, "user")
    revoked = expect(account.post("/me/api-keys", json={"name": "gone"}), 201)["data"]
    expect(account.delete(f"/api-keys/{revoked['id']}"), 204)
    for headers in ({"Authorization": f"Bearer {unknown}"}, {"X-API-Key": "not-a-key"},
                    {"Authorization": f"Bearer {revoked['key']}"}):
        for path in ("/plugins?limit=1", "/me"):
            response = anonymous.get(path, headers=headers)
            expect_error(response, 401, "UNAUTHORIZED")
            assert response.headers["RateLimit-Policy"].startswith('"failed_auth"'), dict(response.headers)
        expect_error(anonymous.post("/webhooks", json={"url": "bad"}, headers=headers), 401, "UNAUTHORIZED")
    expect_error(anonymous.get("/plugins?limit=1"), 429, "RATE_LIMITED")
