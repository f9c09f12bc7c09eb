"""From event to delivery rows (visibility), and what each attempt's answer leads to (retries, 410, disabling)."""

import random
from datetime import timedelta

import pytest
from sqlalchemy import select

from marketplace_shared.contracts import contract_event
from marketplace_shared.outbox import utcnow
from webhook_service import attempts, services
from webhook_service.dispatcher import Dispatcher
from webhook_service.models import Delivery, DeliveryAttempt, OutboxEvent, Webhook
from webhook_service.sender import FakeSender, SendResult
from webhook_service.worker import build_worker


def add_webhook(database, owner_id="acct_ann", role="user", events=("plugin.*",), plugin_ids=None, **fields):
    fields = {"active": True, "disabled": False, **fields}
    with database.session() as session, session.begin():
        webhook = Webhook(id=services.new_webhook_id(), owner_id=owner_id, owner_role=role,
                          url="https://hooks.example.com/hook", events=list(events), plugin_ids=plugin_ids,
                          secret="a-test-secret", **fields)
        session.add(webhook)
    return webhook.id


def install_event(account_id="acct_ann", plugin_id="plugin_1"):
    return contract_event("plugin.installed", {
        "pluginId": plugin_id, "version": "1.0.0", "installationId": "install_1", "environment": "production",
        "namespace": "default", "accountId": account_id}, plugin_id)


def published_event(owner_id="acct_pub", plugin_id="plugin_1"):
    return contract_event("plugin.published", {
        "pluginId": plugin_id, "name": "p", "displayName": "P", "ownerId": owner_id, "version": "1.0.0",
        "category": "backend"}, plugin_id)


def version_published_event(owner_id, plugin_id, version):
    return contract_event("plugin.version_published", {
        "pluginId": plugin_id, "name": "p", "ownerId": owner_id, "version": version, "normalizedVersion": version,
        "releaseDate": "2026-11-01T00:00:00.000Z", "compatibility": {"backstage": None, "node": None, "platform": []},
        "dependencies": [], "configurationSchema": {},
        "package": {"path": f"/api/marketplace/v1/plugins/{plugin_id}/versions/{version}/package", "size": 3,
                    "sha256": "0" * 64, "integrity": "sha256-" + "A" * 43 + "="}}, plugin_id)


@pytest.fixture
def consume(config, database):
    worker = build_worker(config, database)
    return worker.handle


def deliveries(database, webhook_id=None):
    with database.session() as session:
        query = select(Delivery)
        if webhook_id:
            query = query.where(Delivery.webhook_id == webhook_id)
        return session.scalars(query).all()


def test_who_receives_what(database, consume):
    admin = add_webhook(database, "acct_root", "admin")
    ann = add_webhook(database, "acct_ann", "user")
    bob = add_webhook(database, "acct_bob", "user")
    publisher = add_webhook(database, "acct_pub", "publisher")
    other_publisher = add_webhook(database, "acct_pub2", "publisher")
    user_named_as_owner = add_webhook(database, "acct_pub", "user")  # same id, but only a user's rights
    only_errors = add_webhook(database, "acct_root", "admin", events=["plugin.error"])
    other_plugin = add_webhook(database, "acct_root", "admin", plugin_ids=["plugin_2"])
    this_plugin = add_webhook(database, "acct_root", "admin", plugin_ids=["plugin_1"])

    consume(published_event("acct_pub", "plugin_1"))
    consume(install_event("acct_ann", "plugin_1"))
    received = {}
    for delivery in deliveries(database):
        received.setdefault(delivery.webhook_id, set()).add(delivery.event_type)
    assert received[admin] == {"plugin.published", "plugin.installed"}
    assert received[ann] == {"plugin.installed"}
    assert received[publisher] == {"plugin.published", "plugin.installed"}
    assert bob not in received and other_publisher not in received and user_named_as_owner not in received
    assert only_errors not in received and other_plugin not in received
    assert received[this_plugin] == {"plugin.published", "plugin.installed"}


def test_publisher_sees_installs_of_plugins_learnt_from_version_events(database, consume):
    publisher = add_webhook(database, "acct_pub", "publisher", events=["plugin.installed"])
    consume(install_event("acct_ann", "plugin_9"))
    assert deliveries(database, publisher) == []  # owner not known yet
    consume(version_published_event("acct_pub", "plugin_9", "2.0.0"))
    consume(install_event("acct_ann", "plugin_9"))
    assert [d.event_type for d in deliveries(database, publisher)] == ["plugin.installed"]


def test_non_public_and_inactive_are_not_delivered(database, consume):
    add_webhook(database, "acct_root", "admin", events=["plugin.*"])
    add_webhook(database, "acct_root", "admin", active=False)
    add_webhook(database, "acct_root", "admin", disabled=True)
    consume(contract_event("plugin.unpublished", {"pluginId": "plugin_1", "ownerId": "acct_pub"}, "plugin_1"))
    consume(contract_event("plugin.downloaded", {"pluginId": "plugin_1", "version": "1.0.0", "accountId": "acct_ann"},
                           "plugin_1"))
    assert deliveries(database) == []
    consume(install_event())
    assert len(deliveries(database)) == 1


def test_the_same_event_twice_gives_one_delivery_with_a_stable_id(database, consume):
    webhook_id = add_webhook(database)
    event = install_event()
    assert consume(event) is True
    assert consume(event) is False
    with database.session() as session, session.begin():
        again = services.create_deliveries(session, event)  # a replay past the dedupe table
    assert again == []
    [delivery] = deliveries(database)
    assert delivery.id == services.delivery_id_for(webhook_id, event["id"])
    assert delivery.payload == {"event": "plugin.installed", "timestamp": event["time"], "data": event["data"]}


class FakeDispatcher:
    """Stands in for the worker's dispatcher; checks that what it is given is committed."""

    def __init__(self, database, lease):
        self.database, self.lease, self.woken, self.accepted = database, lease, [], []

    def committed(self):
        with self.database.session() as session:
            return [(d.id, d.next_attempt_at) for d in session.scalars(select(Delivery))]

    def handoff_lease(self):
        return self.lease

    def jobs_for(self, deliveries, lease):
        return [d.id for d in deliveries]

    def accept(self, jobs):
        self.accepted.append((jobs, self.committed()))

    def wake(self):
        self.woken.append(self.committed())


def test_new_deliveries_go_to_the_dispatcher_after_commit(config, database):
    add_webhook(database)
    full = FakeDispatcher(database, None)
    consume = build_worker(config, database, dispatcher=full).handle
    consume(install_event())
    consume(contract_event("plugin.unpublished", {"pluginId": "plugin_p", "ownerId": "x"}, "plugin_p"))
    [rows] = full.woken  # once, and the row was visible to another session, due now
    assert len(rows) == 1 and seconds_until(rows[0][1]) <= 0

    with_room = FakeDispatcher(database, 30.0)
    build_worker(config, database, dispatcher=with_room).handle(install_event())
    [(jobs, rows)] = with_room.accepted
    leased = dict(rows)[jobs[0]]
    assert seconds_until(leased) == pytest.approx(30, abs=2)  # leased to the dispatcher it was handed to


# -- attempts ---------------------------------------------------------------------------------

@pytest.fixture
def dispatcher(config, database):
    def make(*results):
        return Dispatcher(config, database, sender=FakeSender(list(results)), rng=random.Random(1))
    return make


def pending_delivery(database, consume, **webhook_fields):
    webhook_id = add_webhook(database, **webhook_fields)
    consume(install_event())
    return webhook_id, deliveries(database, webhook_id)[0].id


def make_due(database, delivery_id):
    with database.session() as session, session.begin():
        session.get(Delivery, delivery_id).next_attempt_at = utcnow() - timedelta(seconds=1)


def state(database, delivery_id):
    with database.session() as session:
        delivery = session.get(Delivery, delivery_id)
        return delivery, session.get(Webhook, delivery.webhook_id), list(delivery.attempts)


def seconds_until(moment):
    return (moment - utcnow()).total_seconds()


def test_success_on_the_first_attempt(database, consume, dispatcher):
    _, delivery_id = pending_delivery(database, consume)
    sender = dispatcher(SendResult(status_code=204, body="", duration_ms=3))
    assert sender.process_once() == 1
    delivery, webhook, attempts = state(database, delivery_id)
    assert (delivery.status, delivery.attempt_count, delivery.next_attempt_at) == ("succeeded", 1, None)
    assert [(a.number, a.status_code, a.success, a.duration_ms) for a in attempts] == [(1, 204, True, 3)]
    assert sender.process_once() == 0
    url, headers, _body = sender.sender.requests[0]
    assert url == "https://hooks.example.com/hook" and headers["webhook-id"] == delivery_id


def test_failures_follow_the_schedule_then_give_up(config, database, consume, dispatcher):
    _, delivery_id = pending_delivery(database, consume)
    sender = dispatcher(SendResult(status_code=500, body="boom" * 1000))
    expected = [5, 300, 1800]
    for number, delay in enumerate(expected, start=1):
        assert sender.process_once() == 1
        delivery, webhook, attempts = state(database, delivery_id)
        assert delivery.status == "pending" and delivery.attempt_count == number
        assert seconds_until(delivery.next_attempt_at) == pytest.approx(delay, abs=1.5)
        assert sender.process_once() == 0  # not due yet
        make_due(database, delivery_id)
    assert sender.process_once() == 1
    delivery, webhook, attempts = state(database, delivery_id)
    assert (delivery.status, delivery.attempt_count, delivery.next_attempt_at) == ("failed", 4, None)
    assert len(attempts) == 4 and all(a.status_code == 500 and not a.success for a in attempts)
    assert webhook.failing_since is not None and not webhook.disabled


def test_jitter_spreads_the_delay(config, database, consume, dispatcher):
    config.WEBHOOK_RETRY_JITTER = 0.2
    delays = [attempts.retry_delay(config, 1, None, random.Random(seed)) for seed in range(50)]
    assert all(4.0 <= d <= 6.0 for d in delays) and len(set(delays)) > 40
    assert attempts.retry_delay(config, 4, None) is None


def test_retry_after_is_honoured(config, database, consume, dispatcher):
    _, delivery_id = pending_delivery(database, consume)
    sender = dispatcher(SendResult(status_code=429, retry_after=120.0), SendResult(status_code=503, retry_after=1.0))
    sender.process_once()
    delivery, _, _ = state(database, delivery_id)
    assert seconds_until(delivery.next_attempt_at) == pytest.approx(120, abs=1.5)
    make_due(database, delivery_id)
    sender.process_once()  # asks for less than the schedule: the schedule wins
    delivery, _, _ = state(database, delivery_id)
    assert seconds_until(delivery.next_attempt_at) == pytest.approx(300, abs=1.5)
    config.WEBHOOK_RETRY_AFTER_MAX_SECONDS = 3600
    assert attempts.retry_delay(config, 1, 10**9) == 3600


def test_retry_after_header_parsing():
    from datetime import UTC, datetime

    from webhook_service.sender import parse_retry_after

    now = datetime(2026, 1, 1, tzinfo=UTC)
    assert parse_retry_after("120") == 120
    assert parse_retry_after("Thu, 01 Jan 2026 00:01:00 GMT", now) == 60
    assert parse_retry_after("soon") is None and parse_retry_after(None) is None


def test_gone_disables_the_subscription_and_tells_the_owner(database, consume, dispatcher):
    webhook_id, delivery_id = pending_delivery(database, consume)
    dispatcher(SendResult(status_code=410)).process_once()
    delivery, webhook, _ = state(database, delivery_id)
    assert delivery.status == "failed"
    assert webhook.disabled and not webhook.active and "410" in webhook.disabled_reason
    with database.session() as session:
        [event] = session.scalars(select(OutboxEvent)).all()
    assert event.event_type == "webhook.disabled"
    assert event.payload["data"] == {"webhookId": webhook_id, "ownerId": "acct_ann",
                                     "url": "https://hooks.example.com/hook", "reason": webhook.disabled_reason}
    consume(install_event())
    assert len(deliveries(database, webhook_id)) == 1  # no new deliveries while disabled


def test_failing_for_days_disables(config, database, consume, dispatcher):
    webhook_id, delivery_id = pending_delivery(database, consume)
    with database.session() as session, session.begin():
        session.get(Webhook, webhook_id).failing_since = utcnow() - timedelta(days=5) + timedelta(minutes=1)
    sender = dispatcher(SendResult(error="ConnectionRefusedError"))
    sender.process_once()
    assert not state(database, delivery_id)[1].disabled
    make_due(database, delivery_id)
    with database.session() as session, session.begin():
        session.get(Webhook, webhook_id).failing_since = utcnow() - timedelta(days=5, seconds=1)
    sender.process_once()
    _, webhook, attempts = state(database, delivery_id)
    assert webhook.disabled and "5 days" in webhook.disabled_reason
    assert attempts[-1].error == "ConnectionRefusedError" and attempts[-1].status_code is None
    with database.session() as session:
        assert [e.event_type for e in session.scalars(select(OutboxEvent))] == ["webhook.disabled"]
    make_due(database, delivery_id)
    assert sender.process_once() == 0  # nothing goes to a disabled subscription


def test_a_success_ends_the_failing_streak_and_reenabling_clears_the_flag(database, consume, dispatcher, client,
                                                                          auth):
    webhook_id, delivery_id = pending_delivery(database, consume)
    dispatcher(SendResult(status_code=500)).process_once()
    assert state(database, delivery_id)[1].failing_since is not None
    make_due(database, delivery_id)
    dispatcher(SendResult(status_code=200)).process_once()
    assert state(database, delivery_id)[1].failing_since is None
    with database.session() as session, session.begin():
        webhook = session.get(Webhook, webhook_id)
        webhook.disabled, webhook.active, webhook.disabled_reason = True, False, "x"
    response = client.patch(f"/api/marketplace/v1/webhooks/{webhook_id}", json={"active": True}, headers=auth())
    data = response.get_json()["data"]
    assert data["active"] is True and data["disabled"] is False and data["disabledReason"] is None


def test_a_redirect_is_a_failure(database, consume, dispatcher):
    _, delivery_id = pending_delivery(database, consume)
    dispatcher(SendResult(status_code=302, body="")).process_once()
    delivery, _, attempts = state(database, delivery_id)
    assert delivery.status == "pending" and attempts[0].status_code == 302 and not attempts[0].success


def test_ping_is_sent_once_even_to_an_inactive_subscription(database, dispatcher):
    from marketplace_shared.identity import Identity

    webhook_id = add_webhook(database, active=False)
    with database.session() as session, session.begin():
        delivery_id = services.ping(session, Identity("acct_ann", "user"), webhook_id).id
    sender = dispatcher(SendResult(status_code=500))
    assert sender.process_once() == 1
    delivery, webhook, _ = state(database, delivery_id)
    assert delivery.status == "failed" and webhook.failing_since is None
    assert sender.sender.requests[0][1]["X-Marketplace-Event"] == "webhook.ping"


def test_a_deleted_subscription_drops_its_deliveries(database, consume, dispatcher):
    from marketplace_shared.identity import Identity

    webhook_id, delivery_id = pending_delivery(database, consume)
    sender = dispatcher(SendResult(status_code=500))
    sender.process_once()
    with database.session() as session, session.begin():
        services.delete_webhook(session, Identity("acct_ann", "user"), webhook_id)
    with database.session() as session:
        assert session.scalars(select(DeliveryAttempt)).all() == []
        assert session.get(Delivery, delivery_id) is None


def test_claim_takes_a_bounded_number_per_endpoint_and_leases_them(config, database, consume, dispatcher):
    from webhook_service.dispatcher import PREFETCH

    config.WEBHOOK_ENDPOINT_CONCURRENCY = 1
    webhook_id = add_webhook(database)
    for _ in range(PREFETCH + 2):
        consume(install_event())
    claimer = dispatcher()
    jobs, _ = claimer.claim()
    assert len(jobs) == PREFETCH and {job.webhook_id for job in jobs} == {webhook_id}
    # Claimed rows are leased (not due); the rest are still due.
    jobs_again, _ = claimer.claim()
    assert len(jobs_again) == 2 and not {j.delivery_id for j in jobs} & {j.delivery_id for j in jobs_again}
    assert claimer.claim()[0] == []
    with database.session() as session:
        leased = session.get(Delivery, jobs[0].delivery_id)
        assert seconds_until(leased.next_attempt_at) == pytest.approx(claimer.lease_seconds, abs=1.5)


def test_jobs_start_within_the_endpoint_limit_and_never_on_a_short_lease(config, dispatcher):
    import time
    from collections import deque

    from webhook_service.dispatcher import Job

    config.WEBHOOK_ENDPOINT_CONCURRENCY = 2
    claimer = dispatcher()
    fresh = time.monotonic() + claimer.lease_seconds

    def job(name, webhook_id, lease_ends=fresh):
        return Job(name, webhook_id, "u", ("s",), "plugin.installed", "t", {}, lease_ends)

    claimer._queued["wh_slow"] = deque([job("a1", "wh_slow"), job("a2", "wh_slow"), job("a3", "wh_slow")])
    claimer._queued["wh_fast"] = deque([job("b0", "wh_fast", time.monotonic() + 1), job("b1", "wh_fast")])
    started = []
    with claimer._lock:
        while (next_job := claimer._next_job_locked()) is not None:
            started.append(next_job.delivery_id)
    assert started == ["a1", "b1", "a2"]  # round robin, two at most for wh_slow, b0's lease too short
    assert claimer.dropped == 1 and [j.delivery_id for j in claimer._queued["wh_slow"]] == ["a3"]


def test_a_batch_of_outcomes_is_recorded_whatever_its_mix(config, database, consume, dispatcher):
    first, second = add_webhook(database), add_webhook(database, events=["plugin.installed"])
    consume(install_event())
    [ok] = deliveries(database, first)
    [twice] = deliveries(database, second)
    claimer = dispatcher()
    jobs = {job.delivery_id: job for job in claimer.claim()[0]}
    now = utcnow()
    claimer.record([(jobs[ok.id], SendResult(status_code=200, body="fine", duration_ms=4), now),
                    (jobs[twice.id], SendResult(status_code=500, body="no"), now),
                    (jobs[twice.id], SendResult(status_code=202, body="yes"), now)])
    delivery, webhook, attempts = state(database, ok.id)
    assert (delivery.status, delivery.attempt_count, delivery.last_status_code) == ("succeeded", 1, 200)
    assert [(a.number, a.status_code, a.response_body, a.duration_ms) for a in attempts] == [(1, 200, "fine", 4)]
    assert webhook.failing_since is None
    delivery, webhook, attempts = state(database, twice.id)
    assert (delivery.status, delivery.attempt_count) == ("succeeded", 2)
    assert [(a.number, a.status_code) for a in attempts] == [(1, 500), (2, 202)]


def test_a_slow_receiver_holds_only_what_can_start_within_the_lease(config, dispatcher):
    from webhook_service.dispatcher import FAST_PREFETCH, PREFETCH

    config.WEBHOOK_ENDPOINT_CONCURRENCY = 4
    claimer = dispatcher()
    slack = claimer.lease_seconds - claimer.lease_needed
    with claimer._lock:
        assert claimer._hold_limit_locked("wh_new") == 4 * PREFETCH  # speed unknown: the small prefetch
        claimer._durations.update({"wh_fast": 0.002, "wh_slow": slack / 3, "wh_hanging": 30.0})
        assert claimer._hold_limit_locked("wh_fast") == 4 * FAST_PREFETCH
        assert claimer._hold_limit_locked("wh_slow") == 12
        assert claimer._hold_limit_locked("wh_hanging") == 4
