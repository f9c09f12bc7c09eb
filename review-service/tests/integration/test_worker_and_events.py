"""The review service on real PostgreSQL and RabbitMQ: catalog events in, review.rating_changed out."""

import json
from concurrent.futures import ThreadPoolExecutor

import pika
import pytest
from sqlalchemy import select

from marketplace_shared.broker import EventPublisher, declare_exchange
from marketplace_shared.contracts import contract_event
from marketplace_shared.testing import identity_headers, isolated_service, running_worker, unique_name, wait_for
from review_service.app import create_app
from review_service.config import Config
from review_service.migrate import migrate
from review_service.models import OutboxEvent
from review_service.worker import build_worker

PREFIX = "/api/marketplace/v1"


@pytest.fixture
def stack():
    with isolated_service(Config, migrate, "review_itest", other_queues=("catalog-stand-in",),
                          CONSUMER_RETRY_DELAY_MS=100) as config:
        # A stand-in for the catalog's queue, so review.rating_changed is routable and can be read back.
        catalog_queue = config.EVENT_PREFIX + "catalog-stand-in"
        connection = pika.BlockingConnection(pika.URLParameters(config.AMQP_URL))
        channel = connection.channel()
        declare_exchange(channel, config.EVENT_EXCHANGE)
        channel.queue_declare(catalog_queue, durable=False, auto_delete=False)
        channel.queue_bind(catalog_queue, config.EVENT_EXCHANGE, routing_key="review.rating_changed")
        worker = build_worker(config)
        app = create_app(config)
        try:
            with running_worker(worker):
                yield config, app, EventPublisher(connection, config.EVENT_EXCHANGE), channel, catalog_queue
        finally:
            connection.close()
            worker.database.dispose()
            app.extensions["database"].dispose()


def headers(config: Config, account_id: str, role: str = "user") -> dict:
    return identity_headers(config.INTERNAL_TOKEN_SECRET, account_id, role, name=account_id.title())


def received(channel, queue: str) -> list[dict]:
    events = []
    while True:
        method, _properties, body = channel.basic_get(queue, auto_ack=True)
        if method is None:
            return events
        events.append(json.loads(body))


def test_published_plugin_review_and_relayed_rating(stack):
    config, app, publisher, channel, catalog_queue = stack
    client = app.test_client()
    plugin_id = unique_name("plugin")
    review_url = f"{PREFIX}/plugins/{plugin_id}/reviews"
    assert client.post(review_url, headers=headers(config, "acct_ann"), json={"rating": 4}).status_code == 404

    publisher.publish(contract_event("plugin.published", {
        "pluginId": plugin_id, "name": plugin_id + "-name", "displayName": "Itest", "ownerId": "acct_owner",
        "version": "1.0.0", "category": "tools"}, subject=plugin_id))

    def created():
        response = client.post(review_url, headers=headers(config, "acct_ann"), json={"rating": 4, "title": "Good"})
        return response.get_json()["data"] if response.status_code == 201 else None

    review = wait_for(created, message="plugin known to the review service")

    # The outbox row is relayed to the exchange, where the catalog's queue gets it.
    events = []
    wait_for(lambda: events.extend(received(channel, catalog_queue)) or events, message="rating_changed relayed")
    assert events[0]["type"] == "review.rating_changed" and events[0]["source"] == "review-service"
    assert events[0]["data"]["pluginId"] == plugin_id
    assert (events[0]["data"]["sequence"], events[0]["data"]["count"], events[0]["data"]["average"]) == (1, 1, 4.0)
    assert events[0]["data"]["topReviews"][0]["id"] == review["id"]
    # The relay marks the row after the broker confirms it, so a consumer can see the event first.
    def marked_published():
        with app.extensions["database"].session() as session:
            return session.scalar(select(OutboxEvent.published_at).where(OutboxEvent.event_id == events[0]["id"]))

    wait_for(marked_published, message="outbox row marked published")

    # An installation, learned from plugin.installed, verifies the review retroactively.
    publisher.publish(contract_event("plugin.installed", {
        "pluginId": plugin_id, "version": "1.0.0", "installationId": "install_1", "environment": "production",
        "namespace": "default", "accountId": "acct_ann"}, plugin_id))
    wait_for(lambda: client.get(f"{PREFIX}/reviews/{review['id']}").get_json()["data"]["verifiedInstall"],
             message="verifiedInstall")


def test_concurrent_reviews_get_consecutive_sequences(stack):
    config, app, publisher, channel, catalog_queue = stack
    plugin_id = unique_name("plugin")
    publisher.publish(contract_event("plugin.published", {
        "pluginId": plugin_id, "name": plugin_id, "displayName": plugin_id, "ownerId": "acct_owner",
        "version": "1.0.0", "category": "tools"}, plugin_id))
    client = app.test_client()
    wait_for(lambda: client.get(f"{PREFIX}/plugins/{plugin_id}/reviews").status_code == 200, message="plugin known")

    def post(account_rating):
        account, rating = account_rating
        with app.test_client() as own_client:
            return own_client.post(f"{PREFIX}/plugins/{plugin_id}/reviews", headers=headers(config, account),
                                   json={"rating": rating}).status_code

    callers = [(f"acct_{n}", 1 + n % 5) for n in range(6)] + [("acct_dup", 5)] * 3
    with ThreadPoolExecutor(max_workers=6) as pool:
        statuses = list(pool.map(post, callers))
    assert statuses[:6] == [201] * 6
    assert sorted(statuses[6:]) == [201, 409, 409]

    with app.extensions["database"].session() as session:
        rows = session.scalars(select(OutboxEvent).where(OutboxEvent.event_type == "review.rating_changed")
                               .order_by(OutboxEvent.id)).all()
        mine = [row.payload["data"] for row in rows if row.payload["data"]["pluginId"] == plugin_id]
    assert sorted(data["sequence"] for data in mine) == list(range(1, 8))
    last = max(mine, key=lambda data: data["sequence"])
    assert last["count"] == 7
    assert last["distribution"] == {"5": 2, "4": 1, "3": 1, "2": 1, "1": 2}
