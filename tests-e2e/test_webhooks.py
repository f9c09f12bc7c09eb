"""Webhooks end to end, through the gateway (issue 8), with real HTTP receivers on loopback (the stack allows
127.0.0.0/8 through WEBHOOK_ALLOWED_NETWORKS and retries on a short schedule, 0.2,0.4,0.8 s).

Proved here: an install produces a signed `plugin.installed` delivery (the three signatures are checked by this
file's own HMAC code, straight from the issue's definitions, for a generated `whsec_` secret and for a given one);
retries until a 2xx with every attempt in the delivery log; a spent schedule, recover, redeliver and ping; `410 Gone`
disabling the subscription; rotation signing with both secrets during the grace period; a worker killed with
SIGKILL while deliveries are pending delivers them after its restart; a hanging receiver does not delay another;
SSRF refusals at registration; subscription CRUD and validation; who receives what, and the pluginIds filter.

Negative checks ("this subscription did not get that event") rely on the consumer writing one event's deliveries,
for every subscription, in one transaction: once a positive receiver got the event, the other subscriptions'
delivery logs are final for it.
"""

import base64
import hashlib
import hmac
import json
import signal
import threading
import time
from datetime import UTC, datetime, timedelta

import pytest

from api_client import expect, expect_error
from factories import (
    Answer,
    WebhookReceiver,
    new_account,
    publish_plugin,
    publish_version,
    wait_for_installation,
    wait_until_installable,
)
from marketplace_shared.testing import unique_name, wait_for
from stack import SERVICES

WEBHOOK_WORKER = "webhook-service-worker"
ALL_EVENTS = ["plugin.installed", "plugin.updated", "plugin.uninstalled", "plugin.error", "plugin.health_changed",
              "plugin.published", "plugin.version_published"]
BODY_LIMIT = 1024  # WEBHOOK_RESPONSE_BODY_LIMIT's default
ENDPOINT_CONCURRENCY = 8  # WEBHOOK_ENDPOINT_CONCURRENCY's default


# -- signatures, written from the definitions (not the SDK's verify_webhook) -------------------

def hmac_key(secret: str) -> bytes:
    """The base64-decoded part after `whsec_` for such secrets, otherwise the secret's UTF-8 bytes."""
    if secret.startswith("whsec_"):
        return base64.b64decode(secret[len("whsec_"):], validate=True)
    return secret.encode("utf-8")


def hex_hmac(secret: str, message: bytes) -> str:
    return hmac.new(hmac_key(secret), message, hashlib.sha256).hexdigest()


def header_signature(secret: str, body: bytes) -> str:
    """X-Marketplace-Signature-256: sha256=<hex HMAC-SHA256 of the raw body>."""
    return "sha256=" + hex_hmac(secret, body)


def standard_signature(secret: str, message_id: str, timestamp: str, body: bytes) -> str:
    """Standard Webhooks: v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{body}">."""
    digest = hmac.new(hmac_key(secret), f"{message_id}.{timestamp}.".encode() + body, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def body_signature(secret: str, payload: dict) -> str:
    """The body's `signature`: sha256=<hex HMAC of the compact, key-sorted JSON of event, timestamp and data>."""
    signed = {"event": payload["event"], "timestamp": payload["timestamp"], "data": payload["data"]}
    return "sha256=" + hex_hmac(secret, json.dumps(signed, sort_keys=True, separators=(",", ":"),
                                                   ensure_ascii=False).encode("utf-8"))


def assert_signed_by(secret: str, request) -> dict:
    """All three signatures of a delivery verify with `secret`; returns the payload."""
    headers, body = request.headers, request.body
    payload = json.loads(body)
    assert headers["x-marketplace-signature-256"] == header_signature(secret, body), headers
    assert standard_signature(secret, headers["webhook-id"], headers["webhook-timestamp"], body) in \
        headers["webhook-signature"].split(" "), headers
    assert payload["signature"] == body_signature(secret, payload), payload
    # The Standard Webhooks timestamp is the send time in Unix seconds: a receiver refuses old ones (replays).
    assert abs(int(headers["webhook-timestamp"]) - time.time()) < 60, headers
    return payload


def signed_by_none_of(secret: str, request) -> None:
    headers, body = request.headers, request.body
    payload = json.loads(body)
    assert headers["x-marketplace-signature-256"] != header_signature(secret, body)
    assert standard_signature(secret, headers["webhook-id"], headers["webhook-timestamp"], body) not in \
        headers["webhook-signature"].split(" ")
    assert payload["signature"] != body_signature(secret, payload)


def test_the_signature_helpers_match_the_standard_webhooks_example():
    """This file's own Standard Webhooks check reproduces the example published at standardwebhooks.com."""
    signature = standard_signature("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "msg_p5jXN8AQM9LWM0D4loKWxJek",
                                   "1614265330", b'{"test": 2432232314}')
    assert signature == "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
    assert hmac_key("not-whsec") == b"not-whsec" and hmac_key("e2e-\u00fc") == "e2e-\u00fc".encode()


# -- helpers ---------------------------------------------------------------------------------------

@pytest.fixture
def receivers():
    """make(respond=None) -> a WebhookReceiver on loopback, closed after the test."""
    made = []

    def make(respond=None) -> WebhookReceiver:
        receiver = WebhookReceiver(respond)
        made.append(receiver)
        return receiver

    yield make
    for receiver in made:
        receiver.close()


@pytest.fixture
def hooks():
    """create(client, url, events, **fields) -> the 201 data; every subscription is deleted after the test."""
    created = []

    def create(client, url: str, events, **fields) -> dict:
        data = expect(client.post("/webhooks", json={"url": url, "events": list(events), **fields}), 201)["data"]
        created.append((client, data["id"]))
        return data

    yield create
    for client, webhook_id in created:
        client.delete(f"/webhooks/{webhook_id}")


def log_of(client, webhook_id: str, **params) -> list[dict]:
    return expect(client.get(f"/webhooks/{webhook_id}/deliveries", params={"limit": 100, **params}), 200)["data"]


def delivery(client, webhook_id: str, delivery_id: str) -> dict:
    return expect(client.get(f"/webhooks/{webhook_id}/deliveries/{delivery_id}"), 200)["data"]


def wait_for_delivery(client, webhook_id: str, delivery_id: str, predicate, message: str, timeout: float = 20):
    return wait_for(lambda: (lambda d: d if predicate(d) else None)(delivery(client, webhook_id, delivery_id)),
                    timeout=timeout, interval=0.05, message=message)


def for_installation(installation_id: str, event: str = "plugin.installed"):
    """A receiver predicate: requests carrying this event of this installation."""
    def match(request) -> bool:
        payload = request.json
        return payload.get("event") == event and payload["data"].get("installationId") == installation_id
    return match


def logged_for(client, webhook_id: str, installation_id: str) -> list[dict]:
    return [row for row in log_of(client, webhook_id) if row["payload"]["data"].get("installationId") ==
            installation_id]


def install(client, plugin_id: str) -> dict:
    """Install (once the install service knows the plugin) and wait until completed."""
    accepted = wait_until_installable(client, plugin_id)
    return wait_for_installation(client, accepted["installationId"], timeout=60)


def parse_time(text: str) -> datetime:
    assert text.endswith("Z"), text
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


# -- an install, signed three ways -------------------------------------------------------------------

def test_an_install_produces_a_plugin_installed_delivery_signed_three_ways(publisher, user, receivers, hooks):
    plugin = publish_plugin(publisher)
    generated_receiver, given_receiver = receivers(), receivers()
    generated = hooks(user, generated_receiver.url, ["plugin.installed"], pluginIds=[plugin["id"]])
    given_secret = "e2e-given-secret-ünïcødé-" + unique_name("s")  # UTF-8 bytes are the key
    given = hooks(user, given_receiver.url, ["plugin.*"], secret=given_secret, pluginIds=[plugin["id"]])
    generated_secret = generated["secret"]
    assert generated_secret.startswith("whsec_") and len(hmac_key(generated_secret)) == 32
    assert given["secret"] == given_secret

    installation = install(user, plugin["id"])
    for receiver, webhook, secret in ((generated_receiver, generated, generated_secret),
                                      (given_receiver, given, given_secret)):
        request = receiver.wait_for(for_installation(installation["installationId"]),
                                    message="the plugin.installed delivery")[0]
        payload = assert_signed_by(secret, request)
        signed_by_none_of(generated_secret if secret == given_secret else given_secret, request)
        headers = request.headers
        assert request.path == "/hook" and headers["content-type"].startswith("application/json")
        assert headers["x-marketplace-event"] == "plugin.installed"
        assert headers["x-marketplace-delivery"] == headers["webhook-id"] and headers["webhook-id"].strip()
        # The spec's payload, in the spec's key order.
        assert list(payload) == ["event", "timestamp", "data", "signature"], payload
        assert payload["event"] == "plugin.installed"
        event_time = parse_time(payload["timestamp"])
        assert abs((event_time - parse_time(installation["completedAt"])).total_seconds()) < 5, payload
        data = payload["data"]
        assert (data["pluginId"], data["version"], data["installationId"]) == (
            plugin["id"], "1.0.0", installation["installationId"]), data
        assert (data["environment"], data["namespace"], data["accountId"]) == (
            installation["environment"], installation["namespace"], user.account["id"]), data

        # The delivery log has it under the same id, sent once, answered 204.
        logged = wait_for_delivery(user, webhook["id"], headers["webhook-id"], lambda d: d["status"] == "succeeded",
                                   "the delivery to be logged as succeeded")
        assert logged["webhookId"] == webhook["id"] and logged["event"] == "plugin.installed"
        assert logged["payload"] == {key: payload[key] for key in ("event", "timestamp", "data")}
        assert logged["attemptCount"] == 1 and len(logged["attempts"]) == 1
        attempt = logged["attempts"][0]
        assert attempt["number"] == 1 and attempt["success"] is True and attempt["statusCode"] == 204
        assert isinstance(attempt["durationMs"], int) and attempt["durationMs"] >= 0
        assert logged["deliveredAt"] and logged["nextAttemptAt"] is None

    # Only this event, once each (the given-secret subscription takes plugin.*, but a user only gets their own
    # installation's events, not the catalog's publication of someone else's plugin).
    assert [r.json["event"] for r in generated_receiver.received()] == ["plugin.installed"]
    assert [r.json["event"] for r in given_receiver.received()] == ["plugin.installed"]


# -- retries, a spent schedule, recover, 410 ----------------------------------------------------------

def test_retries_until_2xx_with_every_attempt_logged_then_recover_and_410(publisher, user, receivers, hooks):
    plugin = publish_plugin(publisher)
    long_answer = "x" * (3 * BODY_LIMIT)

    def flaky(request, number):  # fails twice, then succeeds
        return {1: Answer(500, long_answer.encode()), 2: Answer(502, b"bad gateway")}.get(number, Answer(200, b"ok"))

    down_fixed = threading.Event()

    def down(request, number):  # fails until fixed
        return Answer(204) if down_fixed.is_set() else Answer(500, b"down")

    def gone(request, number):  # 410 once
        return Answer(410, b"gone") if number == 1 else Answer(204)

    flaky_receiver, down_receiver, gone_receiver = receivers(flaky), receivers(down), receivers(gone)
    flaky_hook = hooks(user, flaky_receiver.url, ["plugin.installed"], pluginIds=[plugin["id"]])
    down_hook = hooks(user, down_receiver.url, ["plugin.installed"], pluginIds=[plugin["id"]])
    gone_hook = hooks(user, gone_receiver.url, ["plugin.installed"], pluginIds=[plugin["id"]])
    before = datetime.now(UTC) - timedelta(seconds=1)
    installation = install(user, plugin["id"])
    match = for_installation(installation["installationId"])

    # Fails twice, then succeeds: three requests with one delivery id, each signed afresh.
    requests = flaky_receiver.wait_for(match, count=3, message="three attempts", answered=True)
    delivery_id = requests[0].headers["webhook-id"]
    assert [r.headers["webhook-id"] for r in requests] == [delivery_id] * 3
    assert [r.status for r in requests] == [500, 502, 200]
    for request in requests:
        assert_signed_by(flaky_hook["secret"], request)
    assert [r.json for r in requests] == [requests[0].json] * 3  # the same payload every time
    # The schedule (0.2 s then 0.4 s, with ±20 % jitter) separates them.
    assert requests[1].arrived - requests[0].answered >= 0.2 * 0.8 - 0.02, requests
    assert requests[2].arrived - requests[1].answered >= 0.4 * 0.8 - 0.02, requests
    logged = wait_for_delivery(user, flaky_hook["id"], delivery_id, lambda d: d["status"] == "succeeded",
                               "the flaky delivery to be logged as succeeded")
    assert logged["attemptCount"] == 3 and logged["lastStatusCode"] == 200
    attempts = logged["attempts"]
    assert [a["number"] for a in attempts] == [1, 2, 3]
    assert [a["statusCode"] for a in attempts] == [500, 502, 200]
    assert [a["success"] for a in attempts] == [False, False, True]
    assert [a["responseBody"] for a in attempts] == [long_answer[:BODY_LIMIT], "bad gateway", "ok"]
    assert all(isinstance(a["durationMs"], int) and 0 <= a["durationMs"] < 10_000 for a in attempts), attempts
    times = [parse_time(a["attemptedAt"]) for a in attempts]
    assert times == sorted(times) and (times[2] - times[0]).total_seconds() >= (0.2 + 0.4) * 0.8 - 0.05, attempts

    # Always failing: 1 attempt + 3 retries, then failed for good (nothing more is sent).
    down_id = down_receiver.wait_for(match, message="the first attempt to the failing receiver")[0] \
        .headers["webhook-id"]
    failed = wait_for_delivery(user, down_hook["id"], down_id, lambda d: d["status"] == "failed",
                               "the failing delivery to give up")
    assert failed["attemptCount"] == 4 and [a["statusCode"] for a in failed["attempts"]] == [500] * 4, failed
    assert [a["responseBody"] for a in failed["attempts"]] == ["down"] * 4
    assert failed["nextAttemptAt"] is None and failed["deliveredAt"] is None
    assert len(down_receiver.received(match)) == 4
    assert [d["id"] for d in log_of(user, down_hook["id"], status="failed")] == [down_id]
    assert log_of(user, down_hook["id"], status="succeeded") == []
    assert expect(user.get(f"/webhooks/{down_hook['id']}"), 200)["data"]["active"] is True  # not disabled

    # Recover: every failed delivery since a time is sent again (once the receiver is fixed it succeeds).
    nothing = expect(user.post(f"/webhooks/{down_hook['id']}/recover", json={"since": iso(datetime.now(UTC))}),
                     202)["data"]
    assert nothing["recovered"] == 0
    down_fixed.set()
    recovered = expect(user.post(f"/webhooks/{down_hook['id']}/recover", json={"since": iso(before)}), 202)["data"]
    assert recovered["recovered"] == 1, recovered
    fifth = down_receiver.wait_for(match, count=5, message="the recovered delivery", answered=True)[4]
    assert fifth.headers["webhook-id"] == down_id and fifth.status == 204
    done = wait_for_delivery(user, down_hook["id"], down_id, lambda d: d["status"] == "succeeded",
                             "the recovered delivery to be logged as succeeded")
    assert done["attemptCount"] == 5 and done["attempts"][-1]["statusCode"] == 204
    expect_error(user.post(f"/webhooks/{down_hook['id']}/recover", json={}), 400, "VALIDATION_ERROR")

    # 410 Gone: one attempt, no retry, and the subscription is switched off.
    gone_request = gone_receiver.wait_for(match, message="the delivery answered 410")[0]
    gone_delivery = wait_for_delivery(user, gone_hook["id"], gone_request.headers["webhook-id"],
                                      lambda d: d["status"] == "failed", "the 410 delivery to fail")
    assert gone_delivery["attemptCount"] == 1 and gone_delivery["lastStatusCode"] == 410
    disabled = expect(user.get(f"/webhooks/{gone_hook['id']}"), 200)["data"]
    assert disabled["disabled"] is True and disabled["active"] is False, disabled
    assert "410" in disabled["disabledReason"] and disabled["disabledAt"], disabled
    assert len(gone_receiver.received()) == 1
    # Switching it back on clears the flag; it receives again.
    enabled = expect(user.patch(f"/webhooks/{gone_hook['id']}", json={"active": True}), 200)["data"]
    assert (enabled["active"], enabled["disabled"], enabled["disabledReason"]) == (True, False, None)
    ping = expect(user.post(f"/webhooks/{gone_hook['id']}/ping"), 202)["data"]
    wait_for_delivery(user, gone_hook["id"], ping["id"], lambda d: d["status"] == "succeeded", "the ping")
    assert expect(user.get(f"/webhooks/{gone_hook['id']}"), 200)["data"]["disabled"] is False


# -- ping, redeliver, rotation ---------------------------------------------------------------------

def test_ping_and_redeliver_with_the_same_delivery_id(user, receivers, hooks):
    receiver = receivers(lambda request, number: Answer(500, b"not yet") if number == 1 else Answer(204))
    webhook = hooks(user, receiver.url, ["plugin.error"], description="ping me")

    ping = expect(user.post(f"/webhooks/{webhook['id']}/ping"), 202)["data"]
    assert ping["event"] == "webhook.ping" and ping["status"] == "pending" and ping["webhookId"] == webhook["id"]
    first = receiver.wait_for(message="the ping")[0]
    payload = assert_signed_by(webhook["secret"], first)
    assert first.headers["webhook-id"] == first.headers["x-marketplace-delivery"] == ping["id"]
    assert first.headers["x-marketplace-event"] == "webhook.ping" and payload["event"] == "webhook.ping"
    assert payload["data"] == {"webhookId": webhook["id"], "url": receiver.url, "events": ["plugin.error"]}
    # A ping is tried once: answered 500, it has failed.
    failed = wait_for_delivery(user, webhook["id"], ping["id"], lambda d: d["status"] == "failed", "the ping to fail")
    assert failed["attemptCount"] == 1 and failed["attempts"][0]["statusCode"] == 500
    assert failed["attempts"][0]["responseBody"] == "not yet"

    # Redeliver: the same delivery id again (receivers dedupe on it), this time answered 204.
    redelivered = expect(user.post(f"/webhooks/{webhook['id']}/deliveries/{ping['id']}/redeliver"), 202)["data"]
    assert redelivered["id"] == ping["id"] and redelivered["status"] == "pending"
    second = receiver.wait_for(count=2, message="the redelivery")[1]
    assert second.headers["webhook-id"] == ping["id"] and second.json == first.json
    assert_signed_by(webhook["secret"], second)
    done = wait_for_delivery(user, webhook["id"], ping["id"], lambda d: d["status"] == "succeeded",
                             "the redelivery to succeed")
    assert [a["statusCode"] for a in done["attempts"]] == [500, 204] and done["attemptCount"] == 2
    assert [d["id"] for d in log_of(user, webhook["id"], event="webhook.ping")] == [ping["id"]]

    expect_error(user.post(f"/webhooks/{webhook['id']}/deliveries/dlv_nope/redeliver"), 404, "DELIVERY_NOT_FOUND")
    expect_error(user.get(f"/webhooks/{webhook['id']}/deliveries/dlv_nope"), 404, "DELIVERY_NOT_FOUND")


def test_rotate_secret_signs_with_both_secrets_during_the_grace_period(user, receivers, hooks):
    receiver = receivers()
    old_secret = "e2e-old-secret-" + unique_name("s")
    webhook = hooks(user, receiver.url, ["plugin.installed"], secret=old_secret)

    def ping(number: int):
        expect(user.post(f"/webhooks/{webhook['id']}/ping"), 202)
        return receiver.wait_for(count=number, message=f"ping {number}")[number - 1]

    before = ping(1)
    assert_signed_by(old_secret, before)
    assert len(before.headers["webhook-signature"].split(" ")) == 1
    assert "x-marketplace-signature-256-previous" not in before.headers

    rotated = expect(user.post(f"/webhooks/{webhook['id']}/rotate-secret"), 200)["data"]
    new_secret = rotated["secret"]
    assert new_secret.startswith("whsec_") and len(hmac_key(new_secret)) == 32 and new_secret != old_secret
    grace_ends = parse_time(rotated["previousSecretExpiresAt"])
    assert timedelta(hours=23) < grace_ends - datetime.now(UTC) <= timedelta(hours=24, minutes=1), rotated
    assert "secret" not in expect(user.get(f"/webhooks/{webhook['id']}"), 200)["data"]  # shown once

    # During the grace period: the current secret signs everything, and the old one still signs too.
    during = ping(2)
    assert_signed_by(new_secret, during)
    signatures = during.headers["webhook-signature"].split(" ")
    assert len(signatures) == 2
    assert standard_signature(old_secret, during.headers["webhook-id"], during.headers["webhook-timestamp"],
                              during.body) in signatures
    assert during.headers["x-marketplace-signature-256-previous"] == header_signature(old_secret, during.body)

    # Rotating to a chosen secret without a grace period: only the new one signs.
    expect_error(user.post(f"/webhooks/{webhook['id']}/rotate-secret", json={"secret": new_secret}),
                 400, "VALIDATION_ERROR")
    chosen = "e2e-chosen-secret-" + unique_name("s")
    rotated = expect(user.post(f"/webhooks/{webhook['id']}/rotate-secret",
                               json={"secret": chosen, "gracePeriodSeconds": 0}), 200)["data"]
    assert rotated["secret"] == chosen and rotated["previousSecretExpiresAt"] is None
    after = ping(3)
    assert_signed_by(chosen, after)
    signed_by_none_of(new_secret, after)
    signed_by_none_of(old_secret, after)
    assert len(after.headers["webhook-signature"].split(" ")) == 1
    assert "x-marketplace-signature-256-previous" not in after.headers

    expect_error(user.post(f"/webhooks/{webhook['id']}/rotate-secret", json={"gracePeriodSeconds": -1}),
                 400, "VALIDATION_ERROR")


# -- durability and isolation ---------------------------------------------------------------------

def test_pending_deliveries_survive_a_killed_worker_and_are_sent_after_its_restart(
        stack, publisher, user, receivers, hooks):
    """Killed with SIGKILL while a delivery waits for its retry (the receiver asked for 4 s with Retry-After),
    and while the worker is down a ping is queued and another installation completes (its event waits in the
    broker): after the restart all three arrive, and the retry was not sent sooner than Retry-After."""
    plugin = publish_plugin(publisher)

    def busy_at_first(request, number):
        return Answer(503, b"busy", {"Retry-After": "4"}) if number == 1 else Answer(204)

    receiver = receivers(busy_at_first)
    webhook = hooks(user, receiver.url, ["plugin.installed"], pluginIds=[plugin["id"]])
    first_install = install(user, plugin["id"])
    first = receiver.wait_for(for_installation(first_install["installationId"]), message="the first attempt")[0]
    first_id = first.headers["webhook-id"]
    waiting = wait_for_delivery(user, webhook["id"], first_id, lambda d: d["attemptCount"] == 1,
                                "the 503 to be logged")
    assert waiting["status"] == "pending" and waiting["attempts"][0]["statusCode"] == 503
    retry_at = parse_time(waiting["nextAttemptAt"])
    attempted_at = parse_time(waiting["attempts"][0]["attemptedAt"])
    assert (retry_at - attempted_at).total_seconds() >= 3.9, waiting  # Retry-After beats the 0.2 s schedule

    service = next(service for service in SERVICES if service.name == "webhook-service")
    try:
        stack.stop_process(WEBHOOK_WORKER, signal.SIGKILL)
        assert WEBHOOK_WORKER not in stack.processes
        ping = expect(user.post(f"/webhooks/{webhook['id']}/ping"), 202)["data"]
        second_install = install(user, plugin["id"])
        # The worker is the only sender: nothing went out while it was down.
        assert len(receiver.received()) == 1
        assert delivery(user, webhook["id"], ping["id"])["attemptCount"] == 0
        assert logged_for(user, webhook["id"], second_install["installationId"]) == []  # still in the broker
        assert delivery(user, webhook["id"], first_id)["status"] == "pending"
    finally:
        if WEBHOOK_WORKER not in stack.processes:
            stack.start_worker(service)
        wait_for(lambda: stack.is_ready(WEBHOOK_WORKER), timeout=60, message="the webhook worker to restart")

    retried = receiver.wait_for(lambda r: r.headers["webhook-id"] == first_id, count=2,
                                message="the pending retry after the restart", answered=True)[1]
    assert retried.json == first.json and retried.status == 204
    assert_signed_by(webhook["secret"], retried)
    receiver.wait_for(lambda r: r.headers["webhook-id"] == ping["id"], message="the ping queued while down")
    second = receiver.wait_for(for_installation(second_install["installationId"]),
                               message="the event produced while the worker was down")
    assert len(second) == 1
    assert_signed_by(webhook["secret"], second[0])

    done = wait_for_delivery(user, webhook["id"], first_id, lambda d: d["status"] == "succeeded",
                             "the retried delivery to be logged")
    assert [a["statusCode"] for a in done["attempts"]] == [503, 204]
    assert (parse_time(done["attempts"][1]["attemptedAt"]) - attempted_at).total_seconds() >= 3.9, done
    for delivery_id in (ping["id"], second[0].headers["webhook-id"]):
        wait_for_delivery(user, webhook["id"], delivery_id, lambda d: d["status"] == "succeeded",
                          f"{delivery_id} to be logged")


def test_a_hanging_receiver_does_not_delay_another(publisher, user, receivers, hooks):
    plugin = publish_plugin(publisher)
    install(user, plugin["id"])  # before any subscription: the install service knows the plugin from now on
    release = threading.Event()

    def hang(request, number):
        release.wait(9)  # bounded below WEBHOOK_TIMEOUT_SECONDS (10); released as soon as the test has its proof
        return Answer(204)

    slow, fast = receivers(hang), receivers()
    slow_hook = hooks(user, slow.url, ["plugin.installed"], pluginIds=[plugin["id"]])
    hooks(user, fast.url, ["plugin.installed"], pluginIds=[plugin["id"]])
    try:
        # Fill every slot the slow subscription has with requests that hang.
        for _ in range(ENDPOINT_CONCURRENCY):
            expect(user.post(f"/webhooks/{slow_hook['id']}/ping"), 202)
        slow.wait_for(count=ENDPOINT_CONCURRENCY, timeout=8, message="the slow receiver's slots to fill")
        started = time.monotonic()
        installation = install(user, plugin["id"])
        arrived = fast.wait_for(for_installation(installation["installationId"]), timeout=8,
                                message="the fast receiver's delivery")[0]
        # The fast one got its event while every request to the slow one still hung.
        hanging = slow.received()
        assert len(hanging) == ENDPOINT_CONCURRENCY, hanging  # the slow one's copy waits for a free slot
        assert all(r.answered is None for r in hanging), [(r.arrived, r.answered) for r in hanging]
        assert arrived.arrived - started < 8, arrived.arrived - started
    finally:
        release.set()
    # Once released, the slow one gets its copy too.
    slow.wait_for(for_installation(installation["installationId"]), timeout=30, message="the slow receiver's copy")


# -- refusals and subscriptions ------------------------------------------------------------------------

@pytest.mark.parametrize("url, why", [
    ("http://169.254.169.254/latest/meta-data/", "metadata"),
    ("http://[::ffff:10.0.0.1]/hook", "IPv4-mapped"),
    # Names the system resolver turns into 10.0.0.1 (getaddrinfo takes inet_aton forms): not IP literals to the
    # service, so they go through name resolution like any DNS name, and the resolved address is checked.
    ("http://167772161/hook", "10.0.0.1"),
    ("http://0xa000001:8080/hook", "10.0.0.1"),
    ("http://10.1/hook", "10.0.0.1"),
    ("http://10.0.0.1/hook", "private"),
    ("http://100.64.0.1/hook", "shared"),
    ("http://192.168.1.10/hook", "private"),
    ("http://[fd00:ec2::254]/hook", "metadata"),
    ("http://[::ffff:127.0.0.1]/hook", "IPv4-mapped"),
    ("http://224.0.0.1/hook", "multicast"),
    ("http://0.0.0.0/hook", "unspecified"),
    ("ftp://127.0.0.1/hook", "http"),
    ("http://user:pw@127.0.0.1/hook", "credentials"),
    ("not a url", "http"),
])
def test_unsafe_urls_are_refused_at_registration(user, url, why):
    body = expect_error(user.post("/webhooks", json={"url": url, "events": ["plugin.installed"]}), 400,
                        "VALIDATION_ERROR")
    assert why in body["error"]["message"] and list(body["error"]["details"]["fields"]) == ["url"], body


def test_loopback_names_are_resolved_and_allowed_only_by_the_allow_list(user, hooks, receivers):
    """localhost resolves to 127.0.0.1, inside this stack's WEBHOOK_ALLOWED_NETWORKS: accepted (and delivered)."""
    receiver = receivers()
    url = receiver.url.replace("127.0.0.1", "localhost")
    webhook = hooks(user, url, ["plugin.installed"])
    ping = expect(user.post(f"/webhooks/{webhook['id']}/ping"), 202)["data"]
    request = receiver.wait_for(message="the ping to localhost")[0]
    assert request.headers["webhook-id"] == ping["id"] and request.headers["host"] == url.split("/")[2]
    # Changing the URL is checked the same way.
    body = expect_error(user.patch(f"/webhooks/{webhook['id']}", json={"url": "http://169.254.169.254/"}), 400,
                        "VALIDATION_ERROR")
    assert list(body["error"]["details"]["fields"]) == ["url"]
    assert expect(user.get(f"/webhooks/{webhook['id']}"), 200)["data"]["url"] == url


def test_subscription_crud_validation_and_secret_shown_once(anonymous, admin, user, receivers):
    other = new_account(admin, "user")
    url = receivers().url
    expect_error(anonymous.post("/webhooks", json={"url": url, "events": ["plugin.installed"]}), 401, "UNAUTHORIZED")

    response = user.post("/webhooks", json={"url": url, "events": ["plugin.installed", "plugin.error"],
                                            "description": "CI notifications"})
    created = expect(response, 201)["data"]
    webhook_id = created["id"]
    assert webhook_id.startswith("wh_")
    assert created["secret"].startswith("whsec_") and len(hmac_key(created["secret"])) == 32
    assert (created["url"], created["events"], created["description"], created["pluginIds"]) == (
        url, ["plugin.installed", "plugin.error"], "CI notifications", None)
    assert (created["active"], created["disabled"], created["ownerId"]) == (True, False, user.account["id"])
    assert created["createdAt"].endswith("Z")
    second = expect(user.post("/webhooks", json={"url": url, "events": ["plugin.error"]}), 201)["data"]
    assert second["secret"] != created["secret"]  # generated afresh

    # The secret is shown once: never in GET or lists.
    shown = expect(user.get(f"/webhooks/{webhook_id}"), 200)["data"]
    assert "secret" not in shown and shown == {k: v for k, v in created.items() if k != "secret"}
    listed = expect(user.get("/webhooks", params={"limit": 100}), 200)
    assert {w["id"] for w in listed["data"]} == {webhook_id, second["id"]}
    assert all("secret" not in w for w in listed["data"]) and listed["pagination"]["total"] == 2

    # Another user neither sees nor touches it; an admin sees it.
    expect_error(other.get(f"/webhooks/{webhook_id}"), 404, "WEBHOOK_NOT_FOUND")
    expect_error(other.patch(f"/webhooks/{webhook_id}", json={"active": False}), 404, "WEBHOOK_NOT_FOUND")
    expect_error(other.delete(f"/webhooks/{webhook_id}"), 404, "WEBHOOK_NOT_FOUND")
    expect_error(other.get(f"/webhooks/{webhook_id}/deliveries"), 404, "WEBHOOK_NOT_FOUND")
    expect_error(other.post(f"/webhooks/{webhook_id}/ping"), 404, "WEBHOOK_NOT_FOUND")
    expect_error(other.post(f"/webhooks/{webhook_id}/rotate-secret"), 404, "WEBHOOK_NOT_FOUND")
    assert expect(other.get("/webhooks"), 200)["data"] == []
    assert expect(admin.get(f"/webhooks/{webhook_id}"), 200)["data"]["id"] == webhook_id
    by_owner = expect(admin.get("/webhooks", params={"ownerId": user.account["id"], "limit": 100}), 200)["data"]
    assert {w["id"] for w in by_owner} == {webhook_id, second["id"]}

    # PATCH
    changed = expect(user.patch(f"/webhooks/{webhook_id}", json={
        "events": ["plugin.*"], "description": "all of them", "pluginIds": ["plugin_a", "plugin_b"],
        "active": False}), 200)["data"]
    assert (changed["events"], changed["description"], changed["pluginIds"], changed["active"]) == (
        ["plugin.*"], "all of them", ["plugin_a", "plugin_b"], False)
    assert changed["updatedAt"] >= changed["createdAt"] and "secret" not in changed
    assert expect(user.get(f"/webhooks/{webhook_id}"), 200)["data"] == changed
    cleared = expect(user.patch(f"/webhooks/{webhook_id}", json={"pluginIds": None}), 200)["data"]
    assert cleared["pluginIds"] is None and cleared["events"] == ["plugin.*"]

    # Validation: events against the published list (plugin.* is the one wildcard), fields named.
    def refused(client, method, path, body, field):
        answer = expect_error(getattr(client, method)(path, json=body), 400, "VALIDATION_ERROR")
        assert field in answer["error"]["details"]["fields"], answer
        return answer

    for events in (["plugin.exploded"], ["plugin.installed", "plugin.unpublished"], ["webhook.ping"],
                   ["plugin.#"], ["*"], [], "plugin.installed"):
        refused(user, "post", "/webhooks", {"url": url, "events": events}, "events")
    answer = refused(user, "post", "/webhooks", {"url": url, "events": ["plugin.exploded"]}, "events")
    assert "plugin.exploded" in json.dumps(answer["error"]["details"])
    refused(user, "patch", f"/webhooks/{webhook_id}", {"events": ["plugin.nope"]}, "events")
    refused(user, "post", "/webhooks", {"events": ["plugin.installed"]}, "url")
    refused(user, "post", "/webhooks", {"url": url}, "events")
    refused(user, "post", "/webhooks", {"url": url, "events": ["plugin.installed"], "secret": "short"}, "secret")
    refused(user, "post", "/webhooks", {"url": url, "events": ["plugin.installed"], "secret": "whsec_%%%notbase64"},
            "secret")
    refused(user, "post", "/webhooks", {"url": url, "events": ["plugin.installed"], "colour": "red"}, "colour")
    refused(user, "patch", f"/webhooks/{webhook_id}", {"secret": "e2e-new-secret-123"}, "secret")
    refused(user, "post", "/webhooks", {"url": url, "events": ["plugin.installed"], "active": "maybe"}, "active")
    every = expect(user.post("/webhooks", json={"url": url, "events": ALL_EVENTS}), 201)["data"]
    assert every["events"] == ALL_EVENTS

    # DELETE
    for webhook in (second, every):
        assert user.delete(f"/webhooks/{webhook['id']}").status_code == 204
    assert user.delete(f"/webhooks/{webhook_id}").status_code == 204
    expect_error(user.get(f"/webhooks/{webhook_id}"), 404, "WEBHOOK_NOT_FOUND")
    expect_error(user.get(f"/webhooks/{webhook_id}/deliveries"), 404, "WEBHOOK_NOT_FOUND")
    expect_error(user.delete(f"/webhooks/{webhook_id}"), 404, "WEBHOOK_NOT_FOUND")
    assert expect(user.get("/webhooks"), 200)["data"] == []


# -- who receives what ------------------------------------------------------------------------------

def test_each_subscription_receives_only_what_its_owner_may_see_and_what_its_filter_selects(
        admin, receivers, hooks):
    """Two publishers' plugins A and B, installed by two users. Admins get every event, publishers their own
    plugins' events (installations by anyone, and their own new versions), users their own installations'."""
    publisher_a, publisher_b = new_account(admin, "publisher"), new_account(admin, "publisher")
    user_a, user_b = new_account(admin, "user"), new_account(admin, "user")
    plugin_a, plugin_b = publish_plugin(publisher_a), publish_plugin(publisher_b)
    names = ["user_a", "user_b", "publisher_a", "publisher_b", "admin_all", "admin_only_b"]
    got = {name: receivers() for name in names}
    subscribed = {
        "user_a": hooks(user_a, got["user_a"].url, ["plugin.*"]),
        "user_b": hooks(user_b, got["user_b"].url, ["plugin.*"]),
        "publisher_a": hooks(publisher_a, got["publisher_a"].url, ["plugin.installed", "plugin.version_published"]),
        "publisher_b": hooks(publisher_b, got["publisher_b"].url, ["plugin.installed", "plugin.version_published"]),
        "admin_all": hooks(admin, got["admin_all"].url, ["plugin.installed"]),
        "admin_only_b": hooks(admin, got["admin_only_b"].url, ["plugin.installed"], pluginIds=[plugin_b["id"]]),
    }
    owners = {"user_a": user_a, "user_b": user_b, "publisher_a": publisher_a, "publisher_b": publisher_b,
              "admin_all": admin, "admin_only_b": admin}

    def check(installation_id: str, expected: set[str]) -> None:
        for name in sorted(expected):
            request = got[name].wait_for(for_installation(installation_id), message=f"{name}'s delivery")[0]
            assert_signed_by(subscribed[name]["secret"], request)
        # Every delivery of one event is written in one transaction: the other logs are final now.
        for name in sorted(set(names) - expected):
            assert logged_for(owners[name], subscribed[name]["id"], installation_id) == [], name
            assert got[name].received(for_installation(installation_id)) == [], name

    installed_a = install(user_a, plugin_a["id"])  # user A installs publisher A's plugin
    check(installed_a["installationId"], {"user_a", "publisher_a", "admin_all"})
    installed_b = install(user_b, plugin_b["id"])  # user B installs publisher B's plugin
    check(installed_b["installationId"], {"user_b", "publisher_b", "admin_all", "admin_only_b"})
    installed_ab = install(user_a, plugin_b["id"])  # user A installs publisher B's plugin
    check(installed_ab["installationId"], {"user_a", "publisher_b", "admin_all", "admin_only_b"})

    # A publisher also receives its own plugins' catalog events, not another publisher's.
    publish_version(publisher_a, plugin_a["id"], "1.1.0")

    def version_published(request) -> bool:
        return request.json["event"] == "plugin.version_published" and request.json["data"]["version"] == "1.1.0"

    published = got["publisher_a"].wait_for(version_published, message="publisher A's version_published")[0]
    assert published.json["data"]["pluginId"] == plugin_a["id"]
    assert_signed_by(subscribed["publisher_a"]["secret"], published)
    # Publisher B may hold its own plugin's 1.0.0 (when that event reached the webhook service after B
    # subscribed), never anything of plugin A's.
    assert [row for row in log_of(publisher_b, subscribed["publisher_b"]["id"])
            if row["payload"]["data"]["pluginId"] == plugin_a["id"]] == []
    # Users only ever got installation events (their own), never the catalog's.
    for name in ("user_a", "user_b"):
        assert {r.json["event"] for r in got[name].received()} == {"plugin.installed"}, name
        assert {r.json["data"]["accountId"] for r in got[name].received()} == {owners[name].account["id"]}
