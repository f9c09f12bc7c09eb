"""The real thing: gunicorn with two workers, PostgreSQL for accounts, SQLite or Redis for counters."""

import os
import signal
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import psycopg
import pytest
import redis
import urllib3

from gateway.config import Config
from gateway.migrate import migrate
from marketplace_shared.testing import free_port, temporary_postgres_database, unique_name, wait_for

from ..conftest import FakeUpstream

GATEWAY_DIR = Path(__file__).resolve().parents[2]
API = "/api/marketplace/v1"
ADMIN_KEY = "integration-admin-key-0123456789"
LIMIT = 30


REDIS_URL = "redis://127.0.0.1:6379/0"


@pytest.fixture(scope="module")
def catalog():
    server = FakeUpstream("catalog")
    yield server
    server.stop()


@pytest.fixture(scope="module", params=["sqlite", "redis"])
def gateway(request, tmp_path_factory, catalog):
    if request.param == "redis":
        # Redis must be running: this case fails, never skips, without it.
        redis.Redis.from_url(REDIS_URL, socket_timeout=1).ping()
    stopped = FakeUpstream("stopped")
    stopped.stop()
    tmp_path = tmp_path_factory.mktemp(request.param)
    with temporary_postgres_database("gateway_it") as database_url:
        port = free_port()
        env = {**os.environ, "DATABASE_URL": database_url, "VAR_DIR": str(tmp_path), "PORT": str(port),
               "WEB_CONCURRENCY": "2", "WEB_THREADS": "4", "MARKETPLACE_ADMIN_API_KEY": ADMIN_KEY,
               "RATE_LIMIT_ANONYMOUS": f"{LIMIT}/hour", "RATE_LIMIT_AUTHENTICATED": "1000/hour",
               "RATE_LIMIT_KEY_PREFIX": unique_name("gw"), "CATALOG_URL": catalog.url, "REVIEW_URL": stopped.url,
               "INSTALL_URL": stopped.url, "WEBHOOK_URL": stopped.url,
               "LOG_LEVEL": os.environ.get("GATEWAY_TEST_LOG_LEVEL", "WARNING")}
        env.pop("PROMETHEUS_MULTIPROC_DIR", None)
        if request.param == "redis":
            env["REDIS_URL"] = REDIS_URL
        else:
            env.pop("REDIS_URL", None)
        migrate(Config(DATABASE_URL=database_url, MARKETPLACE_ADMIN_API_KEY=ADMIN_KEY))
        process = subprocess.Popen([sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py"], cwd=GATEWAY_DIR,
                                   env=env, start_new_session=True, stdout=open(tmp_path / "gateway.log", "wb"),  # noqa: SIM115
                                   stderr=subprocess.PIPE)
        url = f"http://127.0.0.1:{port}"
        http = urllib3.PoolManager(retries=False, timeout=5)
        try:
            wait_for(lambda: http.request("GET", f"{url}/readyz").status == 200, timeout=30, message="gateway ready")
            yield url, database_url
        finally:
            os.killpg(process.pid, signal.SIGTERM)
            _out, errors = process.communicate(timeout=20)
            if process.returncode not in (0, -signal.SIGTERM):
                print(errors.decode()[-3000:])


def _get(url: str, headers=None):
    # A fresh connection per request, so the kernel spreads them over both workers.
    response = urllib3.request("GET", url, headers=headers, retries=False, timeout=10)
    return response.status, response.headers


def test_limit_n_allows_exactly_n_across_workers(gateway):
    """Anonymous callers from one address: the only test here that spends the anonymous budget."""
    url, _database = gateway
    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(lambda _: _get(f"{url}{API}/plugins"), range(LIMIT + 12)))
    statuses = sorted(status for status, _headers in results)
    assert statuses.count(200) == LIMIT and statuses.count(429) == 12
    remaining = sorted(int(headers["X-RateLimit-Remaining"]) for status, headers in results if status == 200)
    assert remaining == list(range(LIMIT))  # every request saw its own count
    assert all(headers.get("Retry-After") for status, headers in results if status == 429)


def test_admin_bootstrap_raced_by_two_workers_and_errors_keep_headers(gateway):
    url, database_url = gateway
    with psycopg.connect(database_url) as connection:
        admins = connection.execute("SELECT count(*) FROM accounts WHERE role = 'admin'").fetchone()[0]
    assert admins == 1
    admin = {"Authorization": f"Bearer {ADMIN_KEY}"}
    statuses = {_get(f"{url}{API}/me", admin)[0] for _ in range(6)}
    assert statuses == {200}
    status, headers = _get(f"{url}{API}/reviews/r1", admin)
    assert status == 503 and headers["X-RateLimit-Limit"] == "1000" and headers["X-Request-Id"]
    body = urllib3.request("GET", f"{url}{API}/reviews/r1", headers=admin, retries=False).json()
    assert body["error"]["code"] == "SERVICE_UNAVAILABLE" and body["requestId"].startswith("req_")
