"""verify_webhook: both signature schemes, the replay window, rotated secrets, tampering.

The requests are signed here independently of the SDK, following issue 8's wording.
"""

import base64
import hashlib
import hmac
import json
import os

import pytest

from backstage_marketplace import WebhookVerificationError, payload_signature, verify_payload_signature, verify_webhook

NOW = 1_723_024_800  # 2024-08-07T10:00:00Z
OLD_SECRET = "whsec_" + base64.b64encode(os.urandom(32)).decode()
NEW_SECRET = "whsec_" + base64.b64encode(os.urandom(32)).decode()


def key(secret: str) -> bytes:
    return base64.b64decode(secret[6:]) if secret.startswith("whsec_") else secret.encode()


def signed(secrets, body: bytes = None, delivery="dlv_1", sent_at=NOW, event="plugin.installed"):
    """Body and headers as the webhook service sends them; the first secret is the current one."""
    if body is None:
        data = {"pluginId": "plugin_123", "version": "1.2.3", "installationId": "install_abc123"}
        canonical = json.dumps({"event": event, "timestamp": "2024-08-07T10:00:00Z", "data": data},
                               sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
        signature = "sha256=" + hmac.new(key(secrets[0]), canonical, hashlib.sha256).hexdigest()
        body = json.dumps({"event": event, "timestamp": "2024-08-07T10:00:00Z", "data": data,
                           "signature": signature}, separators=(",", ":")).encode()
    standard = " ".join("v1," + base64.b64encode(hmac.new(key(s), f"{delivery}.{sent_at}.".encode() + body,
                                                          hashlib.sha256).digest()).decode() for s in secrets)
    headers = {
        "Content-Type": "application/json",
        "X-Marketplace-Event": event,
        "X-Marketplace-Delivery": delivery,
        "X-Marketplace-Signature-256": "sha256=" + hmac.new(key(secrets[0]), body, hashlib.sha256).hexdigest(),
        "webhook-id": delivery,
        "webhook-timestamp": str(sent_at),
        "webhook-signature": standard,
    }
    if len(secrets) > 1:
        headers["X-Marketplace-Signature-256-Previous"] = \
            "sha256=" + hmac.new(key(secrets[1]), body, hashlib.sha256).hexdigest()
    return body, headers


def test_a_genuine_delivery_verifies_and_returns_the_payload():
    body, headers = signed([NEW_SECRET])
    payload = verify_webhook(NEW_SECRET, headers, body, now=NOW + 10)
    assert payload["event"] == "plugin.installed" and payload["data"]["installationId"] == "install_abc123"
    verify_payload_signature(NEW_SECRET, payload)
    assert payload["signature"] == payload_signature(NEW_SECRET, payload)


def test_header_names_are_case_insensitive_and_the_body_may_be_text():
    body, headers = signed([NEW_SECRET])
    lowered = {name.lower(): value for name, value in headers.items()}
    upper = {name.upper(): value for name, value in headers.items()}
    assert verify_webhook(NEW_SECRET, lowered, body.decode(), now=NOW)["event"] == "plugin.installed"
    assert verify_webhook(NEW_SECRET, upper, body, now=NOW)["event"] == "plugin.installed"


def test_a_plain_string_secret_is_used_as_utf8_bytes():
    body, headers = signed(["webhook_secret_key"])
    assert verify_webhook("webhook_secret_key", headers, body, now=NOW)
    with pytest.raises(WebhookVerificationError):
        verify_webhook("another_secret", headers, body, now=NOW)


@pytest.mark.parametrize("drop", [["X-Marketplace-Signature-256"],
                                  ["webhook-id", "webhook-timestamp", "webhook-signature"]])
def test_each_scheme_alone_is_enough(drop):
    body, headers = signed([NEW_SECRET])
    for name in drop:
        del headers[name]
    assert verify_webhook(NEW_SECRET, headers, body, now=NOW)


def test_replays_outside_the_window_are_refused():
    body, headers = signed([NEW_SECRET], sent_at=NOW)
    assert verify_webhook(NEW_SECRET, headers, body, now=NOW + 299)
    for moment in (NOW + 301, NOW - 301):
        with pytest.raises(WebhookVerificationError) as caught:
            verify_webhook(NEW_SECRET, headers, body, now=moment)
        assert caught.value.code == "TIMESTAMP_OUT_OF_WINDOW"
    assert verify_webhook(NEW_SECRET, headers, body, tolerance=3600, now=NOW + 3000)


def test_a_replayed_body_with_a_fresh_timestamp_does_not_match():
    body, headers = signed([NEW_SECRET], sent_at=NOW)
    headers["webhook-timestamp"] = str(NOW + 1000)
    with pytest.raises(WebhookVerificationError) as caught:
        verify_webhook(NEW_SECRET, headers, body, now=NOW + 1000)
    assert caught.value.code == "INVALID_SIGNATURE"


@pytest.mark.parametrize("tamper", ["body", "standard", "legacy", "id"])
def test_tampering_is_detected(tamper):
    body, headers = signed([NEW_SECRET])
    if tamper == "body":
        body = body.replace(b"1.2.3", b"6.6.6")
    elif tamper == "standard":
        headers["webhook-signature"] = "v1," + base64.b64encode(b"x" * 32).decode()
    elif tamper == "legacy":
        headers["X-Marketplace-Signature-256"] = "sha256=" + "0" * 64
    else:
        headers["webhook-id"] = "dlv_other"
    with pytest.raises(WebhookVerificationError):
        verify_webhook(NEW_SECRET, headers, body, now=NOW)


def test_missing_or_partial_headers_are_refused():
    body, headers = signed([NEW_SECRET])
    with pytest.raises(WebhookVerificationError) as caught:
        verify_webhook(NEW_SECRET, {"Content-Type": "application/json"}, body, now=NOW)
    assert caught.value.code == "MISSING_SIGNATURE"
    del headers["webhook-timestamp"]
    with pytest.raises(WebhookVerificationError):
        verify_webhook(NEW_SECRET, headers, body, now=NOW)
    body, headers = signed([NEW_SECRET])
    headers["webhook-timestamp"] = "yesterday"
    with pytest.raises(WebhookVerificationError) as caught:
        verify_webhook(NEW_SECRET, headers, body, now=NOW)
    assert caught.value.code == "INVALID_TIMESTAMP"


def test_during_a_rotation_both_the_new_and_the_old_secret_verify():
    body, headers = signed([NEW_SECRET, OLD_SECRET])
    assert len(headers["webhook-signature"].split()) == 2
    assert verify_webhook(NEW_SECRET, headers, body, now=NOW)
    assert verify_webhook(OLD_SECRET, headers, body, now=NOW)  # via the 2nd v1 and the -Previous header
    assert verify_webhook([OLD_SECRET, NEW_SECRET], headers, body, now=NOW)
    third = "whsec_" + base64.b64encode(os.urandom(32)).decode()
    with pytest.raises(WebhookVerificationError):
        verify_webhook(third, headers, body, now=NOW)


def test_after_the_grace_period_the_old_secret_no_longer_verifies():
    body, headers = signed([NEW_SECRET])
    with pytest.raises(WebhookVerificationError):
        verify_webhook(OLD_SECRET, headers, body, now=NOW)
    assert verify_webhook([OLD_SECRET, NEW_SECRET], headers, body, now=NOW)  # a receiver holding both


def test_unknown_signature_versions_are_ignored():
    body, headers = signed([NEW_SECRET])
    headers["webhook-signature"] = "v1a,bogus " + headers["webhook-signature"]
    assert verify_webhook(NEW_SECRET, headers, body, now=NOW)
    headers["webhook-signature"] = "v2," + headers["webhook-signature"].split(",", 2)[-1]
    del headers["X-Marketplace-Signature-256"]
    with pytest.raises(WebhookVerificationError):
        verify_webhook(NEW_SECRET, headers, body, now=NOW)


def test_a_payload_signature_field_that_was_changed_is_refused():
    body, _headers = signed([NEW_SECRET])
    payload = json.loads(body)
    payload["data"]["version"] = "9.9.9"
    with pytest.raises(WebhookVerificationError):
        verify_payload_signature(NEW_SECRET, payload)
