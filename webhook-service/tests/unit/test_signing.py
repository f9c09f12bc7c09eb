"""The three signatures, checked against an independent implementation of the issue's definitions."""

import base64
import hashlib
import hmac
import json

from webhook_service import signing


def receiver_key(secret: str) -> bytes:
    if secret.startswith("whsec_"):
        return base64.b64decode(secret.removeprefix("whsec_"))
    return secret.encode("utf-8")


def verify_all(secret: str, body: bytes, headers: dict) -> None:
    """What a receiver does: the three checks, written from the issue text, not from our code."""
    key = receiver_key(secret)
    expected_header = "sha256=" + hmac.new(key, body, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(headers["X-Marketplace-Signature-256"], expected_header)

    signed = f"{headers['webhook-id']}.{headers['webhook-timestamp']}.{body.decode()}".encode()
    expected_standard = "v1," + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    assert expected_standard in headers["webhook-signature"].split(" ")

    payload = json.loads(body)
    unsigned = {key_: payload[key_] for key_ in ("event", "timestamp", "data")}
    canonical = json.dumps(unsigned, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
    assert payload["signature"] == "sha256=" + hmac.new(key, canonical, hashlib.sha256).hexdigest()


DATA = {"pluginId": "plugin_1", "version": "1.2.3", "installationId": "install_9", "accountId": "acct_ann",
        "environment": "production", "namespace": "ns", "note": "zürich"}


def test_generated_secret_is_whsec_and_32_random_bytes():
    secret = signing.generate_secret()
    assert secret.startswith("whsec_")
    assert len(base64.b64decode(secret[6:])) == 32
    assert signing.generate_secret() != secret


def test_signatures_verify_with_a_whsec_secret():
    secret = signing.generate_secret()
    body, headers = signing.signed_request([secret], "dlv_1", "plugin.installed", "2026-11-23T10:00:00.000Z",
                                           DATA, 1_700_000_000)
    verify_all(secret, body, headers)
    assert headers["webhook-id"] == headers["X-Marketplace-Delivery"] == "dlv_1"
    assert headers["webhook-timestamp"] == "1700000000"
    assert headers["X-Marketplace-Event"] == "plugin.installed"
    assert json.loads(body) | {"signature": None} == {"event": "plugin.installed",
                                                       "timestamp": "2026-11-23T10:00:00.000Z",
                                                       "data": DATA, "signature": None}


def test_a_plain_secret_is_used_as_utf8_bytes():
    secret = "webhook_secret_key"
    body, headers = signing.signed_request([secret], "dlv_2", "plugin.error", "t", DATA, 1)
    verify_all(secret, body, headers)
    # Not the base64 interpretation: a different key gives a different signature.
    assert headers["X-Marketplace-Signature-256"] != signing.body_signature("whsec_" + "A" * 44, body)


def test_a_wrong_secret_does_not_verify():
    body, headers = signing.signed_request(["right-secret"], "dlv_3", "plugin.error", "t", DATA, 1)
    try:
        verify_all("wrong-secret", body, headers)
    except AssertionError:
        return
    raise AssertionError("a wrong secret verified")


def test_during_rotation_both_secrets_sign_the_standard_header():
    new, old = signing.generate_secret(), "the-old-secret"
    body, headers = signing.signed_request([new, old], "dlv_4", "plugin.updated", "t", DATA, 5)
    signatures = headers["webhook-signature"].split(" ")
    assert len(signatures) == 2 and all(s.startswith("v1,") for s in signatures)
    verify_all(new, body, headers)
    # A receiver still on the old secret: the Standard Webhooks header and the -Previous header verify.
    key = receiver_key(old)
    signed = f"dlv_4.5.{body.decode()}".encode()
    assert "v1," + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode() in signatures
    previous = "sha256=" + hmac.new(key, body, hashlib.sha256).hexdigest()
    assert headers["X-Marketplace-Signature-256-Previous"] == previous


def test_secret_problems():
    assert signing.secret_problem("whsec_not*base64") is not None
    assert signing.secret_problem("whsec_" + base64.b64encode(b"short").decode()) is not None
    assert signing.secret_problem("plain-secret") is None
    assert signing.secret_problem(signing.generate_secret()) is None
