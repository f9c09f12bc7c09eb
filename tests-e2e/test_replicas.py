"""Several replicas behave exactly like one (issue 20): a stack of its own with two gateways (two processes on two
ports, sharing one Redis database, each with its own fallback counter file as on two hosts), two catalog
services, two catalog, two install and two webhook workers.

- an enterprise limit of N allows exactly N requests spread over both gateways;
- a burst of installs is shared by both install workers (seen in the lease each job holds) and each
  installation runs exactly once (one attempt, each step logged once, one `plugin.installed`);
- each webhook delivery is sent exactly once although both webhook workers consume (the receiver finds out
  which worker process owns the connection each request arrives on);
- the outbox relays of every replica never publish an event twice (a queue of the test's own, bound to
  every routing key, sees each event id once).
"""

import json
import os
import re
import secrets
import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack

import pika
import psycopg
import pytest
import redis
import requests

from api_client import ApiClient, expect, expect_error
from factories import (
    new_account,
    publish_plugin,
    stack_env,
    start_or_show_logs,
    wait_for_installation,
    wait_until_installable,
)
from marketplace_shared.testing import (
    AMQP_URL,
    QuietHandler,
    delete_broker_objects,
    free_port,
    serve_loopback,
    temporary_postgres_database,
    unique_name,
    wait_for,
)
from stack import ALL, SERVICES, Stack

REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/11")
INSTALLS = 10
ENTERPRISE_LIMIT = 7
TWO = {"gateway": 2, "catalog-service": 2, "catalog-service-worker": 2, "install-service-worker": 2,
       "webhook-service-worker": 2}
INSTALL_WORKERS = ["install-service-worker", "install-service-worker-2"]
WEBHOOK_WORKERS = ["webhook-service-worker", "webhook-service-worker-2"]


# -- the stack -------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def replicas(tmp_path_factory):
    run_id = unique_name("replicas")
    prefix = f"{run_id}."
    var_dir = tmp_path_factory.mktemp("replicas")
    admin_key = f"mkp_{secrets.token_urlsafe(30)}"
    env = {
        **stack_env(prefix, admin_key, var_dir),
        "REDIS_URL": REDIS_URL,
        "RATE_LIMIT_KEY_PREFIX": run_id,
        "WEB_CONCURRENCY": "1",
    }
    # Each gateway's counters without Redis would be its own file, as on two hosts: sharing has to come from Redis.
    replica_env = {name: {"RATE_LIMIT_SQLITE_PATH": str(var_dir / f"{name}-ratelimit.db")}
                   for name in ("gateway", "gateway-2")}
    # Jobs of about a second (6 steps), so that a burst keeps both install workers busy and each lease is seen.
    worker_env = {"install-service": {"INSTALL_STEP_DELAY_SECONDS": "0.15"}}
    with ExitStack() as cleanup:
        databases = {service.name: cleanup.enter_context(temporary_postgres_database(f"{run_id}_{service.package}"))
                     for service in ALL}
        running = Stack(var_dir=var_dir, env=env, ports={service.name: free_port() for service in ALL},
                        databases=databases, worker_env=worker_env, with_web=False, replicas=TWO,
                        replica_env=replica_env)
        running.admin_key = admin_key
        running.prefix = prefix
        cleanup.callback(delete_broker_objects, prefix,
                         [prefix + s.name for s in SERVICES] + [prefix + "install-service.jobs"],
                         prefix + "marketplace.events")
        cleanup.callback(clear_redis_keys, run_id)
        # Every event published to the exchange, from the first one on.
        tap = cleanup.enter_context(EventTap(prefix + "marketplace.events", prefix + "test-tap"))
        running.tap = tap
        cleanup.callback(running.stop)
        start_or_show_logs(running, timeout=120)
        yield running


def clear_redis_keys(prefix: str) -> None:
    client = redis.Redis.from_url(REDIS_URL)
    keys = list(client.scan_iter(match=f"*{prefix}*"))
    if keys:
        client.delete(*keys)
    client.close()


class EventTap:
    """A queue of the test's own bound to every routing key of the exchange: what the relays published."""

    def __init__(self, exchange: str, queue: str):
        self.exchange, self.queue = exchange, queue
        self.events: list[dict] = []

    def __enter__(self):
        parameters = pika.URLParameters(AMQP_URL)
        parameters.heartbeat = 0  # the test reads it now and then, not often enough to answer heartbeats
        self.connection = pika.BlockingConnection(parameters)
        self.channel = self.connection.channel()
        self.channel.exchange_declare(exchange=self.exchange, exchange_type="topic", durable=True)
        self.channel.queue_declare(queue=self.queue, exclusive=True)
        self.channel.queue_bind(queue=self.queue, exchange=self.exchange, routing_key="#")
        return self

    def drain(self) -> list[dict]:
        while True:
            method, properties, body = self.channel.basic_get(self.queue, auto_ack=True)
            if method is None:
                return self.events
            event = json.loads(body)
            assert properties.message_id == event["id"], properties
            self.events.append(event)

    def of_type(self, event_type: str) -> list[dict]:
        return [event for event in self.drain() if event["type"] == event_type]

    def __exit__(self, *exc):
        if self.connection.is_open:
            self.connection.close()


@pytest.fixture(scope="module")
def gateways(replicas) -> list[str]:
    return [replicas.url("gateway"), replicas.url("gateway-2")]


@pytest.fixture(scope="module")
def admin(replicas) -> ApiClient:
    return ApiClient(replicas.gateway_url, replicas.admin_key)


def via(client: ApiClient, base_url: str) -> ApiClient:
    """The same credentials through another gateway."""
    other = ApiClient(base_url, getattr(client, "key", None))
    other.account = getattr(client, "account", None)
    return other


# -- rate limits -----------------------------------------------------------------------------------

def test_an_enterprise_limit_of_n_allows_exactly_n_requests_alternating_between_the_gateways(replicas, admin,
                                                                                            gateways):
    account = new_account(admin, "user", tier="enterprise", rateLimitPerHour=ENTERPRISE_LIMIT)
    headers = {"X-API-Key": account.key}
    remaining = []
    for number in range(ENTERPRISE_LIMIT):
        response = requests.get(f"{gateways[number % 2]}/api/marketplace/v1/me", headers=headers, timeout=10)
        expect(response, 200)
        assert response.headers["X-RateLimit-Limit"] == str(ENTERPRISE_LIMIT)
        remaining.append(int(response.headers["X-RateLimit-Remaining"]))
    # One budget: each request, whichever gateway took it, spends one of the same N.
    assert remaining == list(range(ENTERPRISE_LIMIT - 1, -1, -1)), remaining
    for base_url in gateways:
        response = requests.get(f"{base_url}/api/marketplace/v1/me", headers=headers, timeout=10)
        body = expect_error(response, 429, "RATE_LIMITED")
        assert body["error"]["details"]["limit"] == ENTERPRISE_LIMIT
        assert response.headers["X-RateLimit-Remaining"] == "0" and int(response.headers["Retry-After"]) >= 1
    # The counter lives in the shared Redis database, under this stack's key prefix.
    client = redis.Redis.from_url(REDIS_URL)
    counters = [key for key in client.scan_iter(match=f"*{replicas.env['RATE_LIMIT_KEY_PREFIX']}*")
                if account.account["id"].encode() in key]
    assert len(counters) == 1 and int(client.get(counters[0])) == ENTERPRISE_LIMIT + 2, counters
    client.close()


def test_a_concurrent_burst_over_both_gateways_gets_exactly_n_through(admin, gateways):
    account = new_account(admin, "user", tier="enterprise", rateLimitPerHour=ENTERPRISE_LIMIT)
    headers = {"Authorization": f"Bearer {account.key}"}
    targets = [gateways[number % 2] for number in range(3 * ENTERPRISE_LIMIT)]

    def call(base_url):
        session = requests.Session()
        session.trust_env = False
        return base_url, session.get(f"{base_url}/api/marketplace/v1/plugins?limit=1", headers=headers, timeout=30)

    with ThreadPoolExecutor(max_workers=12) as pool:
        results = list(pool.map(call, targets))
    statuses = Counter(response.status_code for _, response in results)
    assert statuses == {200: ENTERPRISE_LIMIT, 429: 2 * ENTERPRISE_LIMIT}, statuses
    allowed = sorted(int(response.headers["X-RateLimit-Remaining"]) for _, response in results
                     if response.status_code == 200)
    assert allowed == list(range(ENTERPRISE_LIMIT)), allowed
    for _, response in results:
        if response.status_code == 429:
            expect_error(response, 429, "RATE_LIMITED")


# -- both catalog replicas -----------------------------------------------------------------------------

def test_both_catalog_replicas_serve_what_either_wrote(replicas, admin, gateways):
    publisher = new_account(admin, "publisher")
    plugin = publish_plugin(publisher)  # through gateway 1, hence catalog-service
    for base_url in [*gateways, replicas.url("catalog-service"), replicas.url("catalog-service-2")]:
        body = expect(requests.get(f"{base_url}/api/marketplace/v1/plugins/{plugin['id']}", timeout=10), 200)
        assert body["data"]["id"] == plugin["id"] and body["data"]["version"] == "1.0.0", body["data"]
    # A change through the second gateway (the second catalog) is read through the first.
    expect(via(publisher, gateways[1]).patch(f"/plugins/{plugin['id']}", json={"description": "Changed via 2"}), 200)
    assert expect(publisher.get(f"/plugins/{plugin['id']}"), 200)["data"]["description"] == "Changed via 2"


# -- a burst of installs, their webhooks, their events ---------------------------------------------------------

class TracingReceiver:
    """A webhook receiver on loopback that also finds which process sent each request: the pid among `candidates`
    owning the client end of the TCP connection (looked up in /proc while the connection is open)."""

    def __init__(self, candidates: dict[int, str]):
        self.candidates = candidates
        self.requests: list[dict] = []
        self.lock = threading.Lock()
        receiver = self

        class Handler(QuietHandler):
            def do_POST(self):  # noqa: N802 - http.server's naming
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                sender = receiver.sender_of(self.client_address[1])
                with receiver.lock:
                    receiver.requests.append({"headers": {k.lower(): v for k, v in self.headers.items()},
                                              "body": json.loads(body), "sender": sender})
                self.send_response(204)
                self.send_header("Content-Length", "0")
                self.end_headers()

        self.server = serve_loopback(Handler, poll_interval=0.05)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"

    def sender_of(self, client_port: int) -> str | None:
        inodes = set()
        for table in ("/proc/net/tcp", "/proc/net/tcp6"):
            with open(table) as lines:
                for line in list(lines)[1:]:
                    fields = line.split()
                    if int(fields[1].rsplit(":", 1)[1], 16) == client_port:
                        inodes.add(fields[9])
        for pid, name in self.candidates.items():
            for fd in os.listdir(f"/proc/{pid}/fd"):
                try:
                    target = os.readlink(f"/proc/{pid}/fd/{fd}")
                except FileNotFoundError:
                    continue
                match = re.fullmatch(r"socket:\[(\d+)\]", target)
                if match and match.group(1) in inodes:
                    return name
        return None

    def received(self) -> list[dict]:
        with self.lock:
            return list(self.requests)

    def close(self):
        self.server.shutdown()
        self.server.server_close()


class LeaseWatcher:
    """Polls the install service's database for the lease each running job holds: which worker process runs it."""

    def __init__(self, database_url: str, worker_pids: dict[int, str]):
        self.database_url = database_url
        self.worker_pids = worker_pids
        self.holders: dict[str, set[str]] = {}
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def run(self):
        with psycopg.connect(self.database_url, autocommit=True) as connection:
            while not self.stopping.is_set():
                for installation_id, owner in connection.execute(
                        "SELECT id, lease_owner FROM installations WHERE lease_owner IS NOT NULL"):
                    pid = int(owner.split("|")[1])
                    self.holders.setdefault(installation_id, set()).add(self.worker_pids.get(pid, f"pid {pid}"))
                self.stopping.wait(0.02)

    def stop(self):
        self.stopping.set()
        self.thread.join(timeout=10)


@pytest.fixture(scope="module")
def burst(replicas, admin, gateways):
    """A user with a webhook on plugin.installed installs one plugin into INSTALLS environments at once, half through
    each gateway, while the leases of the running jobs are watched."""
    publisher = new_account(admin, "publisher")
    user = new_account(admin, "user")
    plugin = publish_plugin(publisher)
    webhook_pids = {replicas.processes[name].pid: name for name in WEBHOOK_WORKERS}
    install_pids = {replicas.processes[name].pid: name for name in INSTALL_WORKERS}
    receiver = TracingReceiver(webhook_pids)
    webhook = expect(user.post("/webhooks", json={"url": receiver.url, "events": ["plugin.installed"]}), 201)["data"]
    watcher = LeaseWatcher(replicas.databases["install-service"], install_pids)
    try:
        first = wait_until_installable(user, plugin["id"])
        clients = [user, via(user, gateways[1])]

        def install(number):
            environment = unique_name("env").replace("_", "-")
            response = clients[number % 2].post(f"/plugins/{plugin['id']}/install", json={"environment": environment})
            return expect(response, 202)["data"]

        with ThreadPoolExecutor(max_workers=INSTALLS) as pool:
            started = [first, *pool.map(install, range(1, INSTALLS))]
        finished = [wait_for_installation(user, item["installationId"], timeout=120) for item in started]
        wait_for(lambda: len(receiver.received()) >= INSTALLS, timeout=60, interval=0.05,
                 message=f"{INSTALLS} webhook deliveries")

        def delivered():
            rows = expect(user.get(f"/webhooks/{webhook['id']}/deliveries", params={"limit": 100}), 200)["data"]
            return rows if len(rows) == INSTALLS and all(row["status"] == "succeeded" for row in rows) else None

        deliveries = wait_for(delivered, timeout=30, message="every delivery recorded as succeeded")
    finally:
        watcher.stop()
    yield {"user": user, "plugin": plugin, "installations": finished, "holders": watcher.holders,
           "receiver": receiver, "deliveries": deliveries, "install_pids": install_pids,
           "webhook_pids": webhook_pids}
    receiver.close()


def test_a_burst_of_installs_is_shared_by_both_install_workers(burst):
    holders = burst["holders"]
    ids = [installation["installationId"] for installation in burst["installations"]]
    assert set(holders) == set(ids), {"never seen running": set(ids) - set(holders)}
    # Each job was held by one worker process only, and both workers took some.
    assert all(len(held_by) == 1 for held_by in holders.values()), holders
    workers = Counter(next(iter(held_by)) for held_by in holders.values())
    assert set(workers) == set(INSTALL_WORKERS), workers


def test_each_installation_runs_exactly_once(replicas, burst):
    user = burst["user"]
    steps = ["Resolving version and dependencies", "Downloading package", "Validating configuration", "Deploying",
             "Checking health", "Activating", "Installation completed"]
    for installation in burst["installations"]:
        assert installation["status"] == "completed" and installation["attempts"] == 1, installation
        logs = expect(user.get(f"/installations/{installation['installationId']}/logs", params={"limit": 100}),
                      200)["data"]
        messages = [line["message"] for line in logs]
        for step in steps:
            assert sum(message.startswith(step) for message in messages) == 1, (step, messages)
        assert not [m for m in messages if m.startswith("Attempt ") or "taken over" in m or "stalled" in m], messages
    installed = replicas.tap.of_type("plugin.installed")
    ids = sorted(event["data"]["installationId"] for event in installed)
    assert ids == sorted(i["installationId"] for i in burst["installations"]), ids
    # The catalog counted each installation once, whichever catalog replica reads it.
    plugin_id = burst["plugin"]["id"]
    for base_url in (replicas.url("catalog-service"), replicas.url("catalog-service-2")):
        wait_for(lambda url=base_url: requests.get(f"{url}/api/marketplace/v1/plugins/{plugin_id}/stats", timeout=10)
                 .json()["data"]["usage"]["installations"] == INSTALLS, timeout=30, message="catalog counts")


def test_each_webhook_delivery_is_sent_exactly_once_although_both_workers_consume(burst):
    received = burst["receiver"].received()
    deliveries = burst["deliveries"]
    assert len(received) == INSTALLS, [r["headers"].get("webhook-id") for r in received]
    delivery_ids = [request["headers"]["x-marketplace-delivery"] for request in received]
    assert len(set(delivery_ids)) == INSTALLS and set(delivery_ids) == {d["id"] for d in deliveries}
    assert all(delivery["attemptCount"] == 1 for delivery in deliveries), deliveries
    installations = sorted(request["body"]["data"]["installationId"] for request in received)
    assert installations == sorted(i["installationId"] for i in burst["installations"])
    senders = Counter(request["sender"] for request in received)
    assert set(senders) == set(WEBHOOK_WORKERS), senders


def test_the_outbox_relays_of_every_replica_never_publish_an_event_twice(replicas, burst):
    events = replicas.tap.drain()
    counts = Counter(event["id"] for event in events)
    twice = {event_id: count for event_id, count in counts.items() if count > 1}
    assert not twice, twice
    by_type = Counter(event["type"] for event in events)
    # The burst's own: one job request and one completion per installation (the first install may retry
    # while the install service learns the plugin, which publishes nothing).
    assert by_type["installation.requested"] >= INSTALLS and by_type["plugin.installed"] == INSTALLS, by_type
    requested = [e for e in events if e["type"] == "installation.requested"
                 and e["data"]["installationId"] in {i["installationId"] for i in burst["installations"]}]
    assert len(requested) == INSTALLS, requested
    # And every relay marked what it sent (rows still unsent are only ones no queue is bound for, tried later).
    for service in ("catalog-service", "install-service", "webhook-service"):
        with psycopg.connect(replicas.databases[service]) as connection:
            (unsent,) = connection.execute(
                "SELECT count(*) FROM outbox WHERE published_at IS NULL AND attempts = 0").fetchone()
        assert unsent == 0, service
