"""Events from RabbitMQ to a real HTTP receiver on loopback, on real PostgreSQL: signed, retried, isolated, durable.

The poll interval is long (5 s) on purpose: deliveries arriving well within it show the consumer wakes the dispatcher.
"""

import base64
import hashlib
import hmac
import json
import threading
import time

import pika
import pytest
from webhook_receiver import Receiver

from marketplace_shared.broker import EventPublisher
from marketplace_shared.contracts import contract_event
from marketplace_shared.db import Database
from marketplace_shared.testing import identity_headers, isolated_service, running_worker, unique_name, wait_for
from webhook_service.app import create_app
from webhook_service.config import Config
from webhook_service.migrate import migrate
from webhook_service.worker import build_dispatcher, build_worker

PREFIX = "/api/marketplace/v1"


class Stack:
    def __init__(self, config, app):
        self.config = config
        self.app = app
        self.client = app.test_client()
        self.database = Database(config.DATABASE_URL)
        self.dispatcher = None
        self.connection = pika.BlockingConnection(pika.URLParameters(config.AMQP_URL))
        self.publisher = EventPublisher(self.connection, config.EVENT_EXCHANGE)

    def start_dispatcher(self, dispatcher=None):
        """Start the consumer's own dispatcher, or (after a stop) a new sending side that finds work by polling."""
        self.dispatcher = (dispatcher or build_dispatcher(self.config, self.database)).start()

    def stop_dispatcher(self):
        if self.dispatcher is not None:
            self.dispatcher.stop()
            self.dispatcher = None

    def headers(self, account_id="acct_ann", role="user"):
        return identity_headers(self.config.INTERNAL_TOKEN_SECRET, account_id, role)

    def subscribe(self, url, account_id="acct_ann", role="user", **body):
        response = self.client.post(f"{PREFIX}/webhooks", headers=self.headers(account_id, role),
                                    json={"url": url, "events": ["plugin.installed", "plugin.error"], **body})
        assert response.status_code == 201, response.get_json()
        return response.get_json()["data"]

    def publish_install(self, account_id="acct_ann", event_type="plugin.installed"):
        plugin_id = unique_name("plugin")
        extra = {"error": {"code": "DEPLOY_FAILED", "message": "boom", "step": "deploy"}} \
            if event_type == "plugin.error" else {}
        event = contract_event(event_type, {
            "pluginId": plugin_id, "version": "1.2.3", "installationId": unique_name("install"),
            "environment": "production", "namespace": "default", "accountId": account_id, **extra}, plugin_id)
        self.publisher.publish(event)
        return event

    def deliveries(self, webhook_id, account_id="acct_ann"):
        response = self.client.get(f"{PREFIX}/webhooks/{webhook_id}/deliveries", headers=self.headers(account_id))
        return response.get_json()["data"]


@pytest.fixture
def stack():
    with isolated_service(Config, migrate, "webhook_itest", WEBHOOK_ALLOWED_NETWORKS=["127.0.0.0/8"],
                          WEBHOOK_RETRY_SCHEDULE=[0.2, 0.2, 0.2], WEBHOOK_RETRY_JITTER=0.1, WEBHOOK_POLL_SECONDS=5.0,
                          WEBHOOK_TIMEOUT_SECONDS=2.0, WEBHOOK_LEASE_SECONDS=3.0,
                          WEBHOOK_ENDPOINT_CONCURRENCY=2) as config:
        running = Stack(config, create_app(config))
        dispatcher = build_dispatcher(config, running.database)
        worker = build_worker(config, dispatcher=dispatcher)
        try:
            with running_worker(worker):
                running.start_dispatcher(dispatcher)
                try:
                    yield running
                finally:
                    running.stop_dispatcher()
        finally:
            running.connection.close()
            worker.database.dispose()
            running.database.dispose()
            running.app.extensions["database"].dispose()


def verify(secret: str, received) -> dict:
    """A receiver's three checks, written from the issue's definitions."""
    key = base64.b64decode(secret[6:]) if secret.startswith("whsec_") else secret.encode()
    body, headers = received.body, received.headers
    assert headers["x-marketplace-signature-256"] == "sha256=" + hmac.new(key, body, hashlib.sha256).hexdigest()
    signed = f"{headers['webhook-id']}.{headers['webhook-timestamp']}.".encode() + body
    expected = "v1," + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    assert expected in headers["webhook-signature"].split(" ")
    assert abs(int(headers["webhook-timestamp"]) - time.time()) < 60
    payload = json.loads(body)
    canonical = json.dumps({k: payload[k] for k in ("event", "timestamp", "data")}, sort_keys=True,
                           separators=(",", ":"), ensure_ascii=False).encode()
    assert payload["signature"] == "sha256=" + hmac.new(key, canonical, hashlib.sha256).hexdigest()
    return payload


def test_an_installation_event_arrives_signed(stack):
    with Receiver() as receiver:
        webhook = stack.subscribe(receiver.url)
        stack.subscribe(receiver.url, account_id="acct_bob")  # not Bob's installation: nothing for him
        published = time.time()
        event = stack.publish_install()
        wait_for(lambda: receiver.received, timeout=10, message="the delivery")
        [received] = receiver.received
        assert received.at - published < 4.0  # handed over by the consumer, not found by the 5 s poll
        payload = verify(webhook["secret"], received)
        assert payload["event"] == "plugin.installed" and payload["data"] == event["data"]
        assert payload["timestamp"] == event["time"]
        assert received.headers["x-marketplace-event"] == "plugin.installed"
        assert received.headers["x-marketplace-delivery"] == received.headers["webhook-id"]
        [delivery] = wait_for(lambda: [d for d in stack.deliveries(webhook["id"]) if d["status"] == "succeeded"])
        assert delivery["id"] == received.headers["webhook-id"]
        assert [(a["statusCode"], a["success"], a["responseBody"]) for a in delivery["attempts"]] == [(200, True, "ok")]
        time.sleep(0.3)  # nothing more is on its way (Bob's subscription gets nothing)
        assert len(receiver.received) == 1


def test_a_receiver_failing_twice_gets_it_on_the_third_attempt(stack):
    def flaky(_received, count):
        return (503, {}, b"not yet") if count <= 2 else (200, {}, b"thanks")

    with Receiver(flaky) as receiver:
        webhook = stack.subscribe(receiver.url, secret="plain-text-secret")
        stack.publish_install(event_type="plugin.error")
        wait_for(lambda: receiver.count >= 3, timeout=10, message="three attempts")
        ids = {r.headers["webhook-id"] for r in receiver.received}
        assert len(ids) == 1  # the same delivery id every time, to dedupe on
        for received in receiver.received:
            verify("plain-text-secret", received)
        [delivery] = wait_for(lambda: [d for d in stack.deliveries(webhook["id"]) if d["status"] == "succeeded"])
        assert delivery["attemptCount"] == 3
        assert [(a["number"], a["statusCode"], a["responseBody"]) for a in delivery["attempts"]] == [
            (1, 503, "not yet"), (2, 503, "not yet"), (3, 200, "thanks")]
        gaps = [b.at - a.at for a, b in zip(receiver.received, receiver.received[1:], strict=False)]
        assert all(gap >= 0.15 for gap in gaps)  # the schedule (0.2 s, jitter 10 %) was waited out


def test_a_hanging_receiver_does_not_delay_another(stack):
    release = threading.Event()

    def hang(_received, _count):
        release.wait(10)
        return 200, {}, b""

    with Receiver(hang) as stuck, Receiver() as healthy:
        stack.subscribe(stuck.url)
        stack.subscribe(healthy.url)
        try:
            published = time.time()
            for _ in range(6):  # more than the hanging endpoint's concurrency limit (2)
                stack.publish_install()
            wait_for(lambda: healthy.count >= 6, timeout=10, message="the healthy receiver's deliveries")
            # Sooner than the 2 s send timeout: nothing waited for the stuck receiver's slots to free.
            assert max(r.at for r in healthy.received) - published < 1.9
            assert stuck.count <= 2  # the stuck endpoint holds at most its own slots
        finally:
            release.set()


def test_pending_deliveries_survive_a_restart(stack):
    with Receiver() as receiver:
        stack.subscribe(receiver.url)
        stack.stop_dispatcher()  # the sending side is down
        stack.publish_install()
        stack.publish_install()
        # One of them was taken by a sender that died before recording it: its lease has to run out.
        from webhook_service.dispatcher import Dispatcher

        wait_for(lambda: _pending(stack) == 2, message="two pending deliveries")
        doomed = Dispatcher(stack.config, stack.database)
        jobs, _ = doomed.claim()
        assert len(jobs) == 2
        time.sleep(0.3)
        assert receiver.count == 0
        stack.start_dispatcher()
        wait_for(lambda: receiver.count >= 2, timeout=15, message="both after the restart")
        assert len({r.headers["webhook-id"] for r in receiver.received}) == 2


def _pending(stack) -> int:
    from sqlalchemy import func, select

    from webhook_service.models import Delivery

    with stack.database.session() as session:
        return session.scalar(select(func.count()).select_from(Delivery).where(Delivery.status == "pending"))
