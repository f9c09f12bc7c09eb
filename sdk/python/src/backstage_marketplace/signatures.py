"""Checking the webhook requests the marketplace sends: both signature schemes and a replay window."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import time
from collections.abc import Iterable, Mapping
from typing import Any

from .errors import WebhookVerificationError

SECRET_PREFIX = "whsec_"
DEFAULT_TOLERANCE = 300


def secret_key(secret: str | bytes) -> bytes:
    """The HMAC key of a secret: the base64-decoded part after ``whsec_``, otherwise its UTF-8 bytes."""
    if isinstance(secret, bytes):
        return secret
    if secret.startswith(SECRET_PREFIX):
        try:
            return base64.b64decode(secret[len(SECRET_PREFIX):], validate=True)
        except (binascii.Error, ValueError) as error:
            raise ValueError("a 'whsec_' secret must continue with valid base64") from error
    return secret.encode("utf-8")


def _digest(key: bytes, message: bytes) -> bytes:
    return hmac.new(key, message, hashlib.sha256).digest()


def _header(headers: Mapping[str, str], name: str) -> str | None:
    value = headers.get(name)
    if value is not None:
        return value
    lowered = name.lower()
    for key, value in headers.items():
        if key.lower() == lowered:
            return value
    return None


def _keys(secret: str | bytes | Iterable[str | bytes]) -> list[bytes]:
    secrets = [secret] if isinstance(secret, (str, bytes)) else list(secret)
    if not secrets:
        raise ValueError("no webhook secret given")
    return [secret_key(item) for item in secrets]


def _hex_signatures(value: str) -> list[bytes]:
    found = []
    for token in value.replace(",", " ").split():
        token = token.strip()
        if token.lower().startswith("sha256="):
            token = token[7:]
        try:
            found.append(bytes.fromhex(token))
        except ValueError:
            continue
    return found


def _v1_signatures(value: str) -> list[bytes]:
    found = []
    for token in value.split():
        version, _, signature = token.partition(",")
        if version != "v1" or not signature:
            continue
        try:
            found.append(base64.b64decode(signature, validate=True))
        except (binascii.Error, ValueError):
            continue
    return found


def _any_match(expected: Iterable[bytes], given: list[bytes]) -> bool:
    matched = False
    for candidate in expected:
        for signature in given:
            # Compare every pair so that timing does not reveal which one matched.
            matched |= hmac.compare_digest(candidate, signature)
    return matched


def verify_webhook(secret: str | bytes | Iterable[str | bytes], headers: Mapping[str, str], body: bytes | str,
                   tolerance: float = DEFAULT_TOLERANCE, *, now: float | None = None) -> dict[str, Any]:
    """Check a webhook request from the marketplace and return its parsed payload.

    :param secret: the subscription's secret (``whsec_…`` or any string), or several during a
        rotation (any one of them may match).
    :param headers: the request headers (any mapping; names are matched case-insensitively).
    :param body: the raw request body, exactly as received (do not re-serialise parsed JSON).
    :param tolerance: the replay window in seconds: ``webhook-timestamp`` must be this close to now.
    :param now: the current time (epoch seconds), for tests.

    Both schemes the marketplace sends are checked when present:

    - Standard Webhooks: ``webhook-id``, ``webhook-timestamp``, ``webhook-signature``
      (``v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{body}">``, several separated by spaces);
    - ``X-Marketplace-Signature-256: sha256=<hex HMAC-SHA256 of the body>`` (and
      ``X-Marketplace-Signature-256-Previous``, signed with the previous secret during a rotation).

    At least one scheme must be present, each one present must verify, and a request with Standard
    Webhooks headers must be within the replay window. Raises :class:`WebhookVerificationError`
    otherwise. Remember ``webhook-id`` (the delivery id) to ignore a delivery you already processed.
    """
    raw = body.encode("utf-8") if isinstance(body, str) else bytes(body)
    keys = _keys(secret)
    message_id = _header(headers, "webhook-id")
    timestamp = _header(headers, "webhook-timestamp")
    standard = _header(headers, "webhook-signature")
    legacy = [value for value in (_header(headers, "X-Marketplace-Signature-256"),
                                  _header(headers, "X-Marketplace-Signature-256-Previous")) if value]
    if not standard and not legacy:
        raise WebhookVerificationError("no webhook signature headers", code="MISSING_SIGNATURE")

    if standard or message_id or timestamp:
        if not (standard and message_id and timestamp):
            raise WebhookVerificationError("webhook-id, webhook-timestamp and webhook-signature must all be present",
                                           code="MISSING_SIGNATURE")
        try:
            sent_at = int(timestamp.strip())
        except ValueError as error:
            raise WebhookVerificationError("webhook-timestamp is not a number of seconds",
                                           code="INVALID_TIMESTAMP") from error
        current = time.time() if now is None else now
        if abs(current - sent_at) > tolerance:
            raise WebhookVerificationError(f"webhook-timestamp is {int(current - sent_at)}s away from now "
                                           f"(tolerance {tolerance}s): a replay or a wrong clock",
                                           code="TIMESTAMP_OUT_OF_WINDOW")
        signed = f"{message_id}.{timestamp.strip()}.".encode() + raw
        if not _any_match((_digest(key, signed) for key in keys), _v1_signatures(standard)):
            raise WebhookVerificationError("webhook-signature does not match", code="INVALID_SIGNATURE")

    if legacy:
        given = [signature for value in legacy for signature in _hex_signatures(value)]
        if not _any_match((_digest(key, raw) for key in keys), given):
            raise WebhookVerificationError("X-Marketplace-Signature-256 does not match", code="INVALID_SIGNATURE")

    try:
        payload = json.loads(raw)
    except ValueError as error:
        raise WebhookVerificationError("the body is not JSON", code="INVALID_BODY") from error
    if not isinstance(payload, dict):
        raise WebhookVerificationError("the body is not a JSON object", code="INVALID_BODY")
    return payload


def payload_signature(secret: str | bytes, payload: Mapping[str, Any]) -> str:
    """The body's own ``signature`` field.

    ``sha256=<hex HMAC of the compact, key-sorted JSON of event, timestamp and data>``.
    """
    message = json.dumps({"event": payload.get("event"), "timestamp": payload.get("timestamp"),
                          "data": payload.get("data")}, sort_keys=True, separators=(",", ":"),
                         ensure_ascii=False).encode("utf-8")
    return "sha256=" + _digest(secret_key(secret), message).hex()


def verify_payload_signature(secret: str | bytes | Iterable[str | bytes], payload: Mapping[str, Any]) -> None:
    """Check the ``signature`` field inside a parsed payload (useful when only the JSON was kept)."""
    given = _hex_signatures(str(payload.get("signature") or ""))
    secrets = [secret] if isinstance(secret, (str, bytes)) else list(secret)
    expected = [bytes.fromhex(payload_signature(item, payload)[7:]) for item in secrets]
    if not given or not _any_match(expected, given):
        raise WebhookVerificationError("the payload's signature field does not match", code="INVALID_SIGNATURE")
