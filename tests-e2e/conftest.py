"""Start the whole system once per test run: every service and worker as real processes on free
ports, against a fresh PostgreSQL database per service and a broker prefix of the run's own."""

import os
import secrets
import sys
from contextlib import ExitStack
from pathlib import Path
from urllib.parse import urlparse

import pytest

from marketplace_shared.contracts import exchange_checked
from marketplace_shared.testing import (
    AMQP_URL,
    delete_broker_objects,
    free_port,
    temporary_postgres_database,
    unique_name,
)

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from portal_browser import browser, page  # noqa: E402, F401 - the portal tests' fixtures, defined once

from api_client import ApiClient  # noqa: E402
from factories import new_account, stack_env, start_or_show_logs  # noqa: E402
from stack import ALL, SERVICES, Stack  # noqa: E402
from tcp_proxy import TcpProxy  # noqa: E402


@pytest.fixture(scope="session")
def broker_proxy():
    """Every worker reaches RabbitMQ through this proxy, so a test can cut the connection."""
    target = urlparse(AMQP_URL)
    proxy = TcpProxy(target.hostname, target.port or 5672)
    yield proxy
    proxy.close()


@pytest.fixture(scope="session")
def stack(tmp_path_factory, broker_proxy):
    run_id = unique_name("e2e")
    prefix = f"{run_id}."
    var_dir = tmp_path_factory.mktemp("stack")
    admin_key = os.environ.get("E2E_ADMIN_API_KEY") or f"mkp_{secrets.token_urlsafe(30)}"
    jwt_secret = secrets.token_urlsafe(32)
    proxied_amqp = AMQP_URL.replace(f":{urlparse(AMQP_URL).port or 5672}/", f":{broker_proxy.port}/")
    env = {
        **stack_env(prefix, admin_key, var_dir),
        "JWT_SHARED_SECRET": jwt_secret,  # tokens no API call can revoke (the contract fuzz test's callers)
        "HEALTH_CHECK_INTERVAL": "1",
        "WEB_CONCURRENCY": "2",
    }
    env.pop("REDIS_URL", None)
    with ExitStack() as cleanup:
        databases = {service.name: cleanup.enter_context(temporary_postgres_database(f"{run_id}_{service.package}"))
                     for service in ALL}
        ports = {service.name: free_port() for service in ALL}
        worker_env = {service.name: {"AMQP_URL": proxied_amqp} for service in SERVICES}
        running = Stack(var_dir=var_dir, env=env, ports=ports, databases=databases, worker_env=worker_env)
        running.admin_key = admin_key
        running.jwt_secret = jwt_secret
        cleanup.callback(delete_broker_objects, prefix,
                         [prefix + s.name for s in SERVICES] + [prefix + "install-service.jobs"],
                         prefix + "marketplace.events")
        cleanup.callback(running.stop)
        start_or_show_logs(running, timeout=90)
        yield running


@pytest.fixture(scope="session", autouse=True)
def events_follow_the_contract(stack):
    """Every event that crosses the run's exchange is checked against docs/asyncapi.yaml at the end."""
    with exchange_checked(AMQP_URL, stack.env["EVENT_PREFIX"] + "marketplace.events") as seen:
        yield seen


@pytest.fixture(scope="session")
def anonymous(stack) -> ApiClient:
    return ApiClient(stack.gateway_url)


@pytest.fixture(scope="session")
def admin(stack) -> ApiClient:
    return ApiClient(stack.gateway_url, stack.admin_key)


@pytest.fixture
def user(admin) -> ApiClient:
    return new_account(admin, "user")


@pytest.fixture
def publisher(admin) -> ApiClient:
    return new_account(admin, "publisher")


def pytest_collection_modifyitems(items):
    """The contract fuzz test runs last: as an admin it may change any account or key, the bootstrap
    admin's included, which no later test could then rely on."""
    items.sort(key=lambda item: item.path.name == "test_contract_fuzz.py")
