"""Secrets and the three signatures of a delivery (body field, GitHub-style header, Standard Webhooks)."""

import base64
import binascii
import hashlib
import hmac
import json
import secrets

SECRET_PREFIX = "whsec_"


def generate_secret() -> str:
    """`whsec_` + base64 of 32 random bytes."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


def secret_key(secret: str) -> bytes:
    """The HMAC key: the decoded bytes after `whsec_`, otherwise the secret's UTF-8 bytes."""
    if secret.startswith(SECRET_PREFIX):
        return base64.b64decode(secret[len(SECRET_PREFIX):], validate=True)
    return secret.encode()


def secret_problem(secret: str) -> str | None:
    """Why a secret a caller chose cannot be used, or None."""
    if secret.startswith(SECRET_PREFIX):
        try:
            key = secret_key(secret)
        except (binascii.Error, ValueError):
            return "a secret starting with 'whsec_' must continue with valid base64"
        if len(key) < 16:
            return "a 'whsec_' secret must encode at least 16 bytes"
    return None


def canonical_json(value) -> bytes:
    """Compact, key-sorted JSON (UTF-8, non-ASCII characters unescaped)."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def _hmac(secret: str, message: bytes) -> bytes:
    return hmac.new(secret_key(secret), message, hashlib.sha256).digest()


def payload_signature(secret: str, event: str, timestamp: str, data) -> str:
    """The body's `signature`: sha256=<hex HMAC of the canonical JSON of event, timestamp and data>."""
    message = canonical_json({"event": event, "timestamp": timestamp, "data": data})
    return "sha256=" + _hmac(secret, message).hex()


def build_body(secret: str, event: str, timestamp: str, data) -> bytes:
    """The spec's payload {event, timestamp, data, signature} as the bytes that are sent."""
    body = {"event": event, "timestamp": timestamp, "data": data,
            "signature": payload_signature(secret, event, timestamp, data)}
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()


def body_signature(secret: str, body: bytes) -> str:
    """X-Marketplace-Signature-256: sha256=<hex HMAC of the raw body>."""
    return "sha256=" + _hmac(secret, body).hex()


def standard_signature(secret: str, message_id: str, timestamp: int, body: bytes) -> str:
    """One Standard Webhooks signature: v1,<base64 HMAC of "{id}.{timestamp}.{body}">."""
    message = f"{message_id}.{timestamp}.".encode() + body
    return "v1," + base64.b64encode(_hmac(secret, message)).decode()


def signed_request(secrets_in_use: list[str], delivery_id: str, event: str, timestamp: str, data,
                   sent_at: int) -> tuple[bytes, dict]:
    """Body and headers of one attempt; the first secret is the current one, the others still sign too."""
    current = secrets_in_use[0]
    body = build_body(current, event, timestamp, data)
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "Plugin-Marketplace-Webhooks/1",
        "X-Marketplace-Event": event,
        "X-Marketplace-Delivery": delivery_id,
        "X-Marketplace-Signature-256": body_signature(current, body),
        "webhook-id": delivery_id,
        "webhook-timestamp": str(sent_at),
        "webhook-signature": " ".join(standard_signature(secret, delivery_id, sent_at, body)
                                      for secret in secrets_in_use),
    }
    if len(secrets_in_use) > 1:
        # During a rotation's grace period receivers still holding the old secret can check this one.
        headers["X-Marketplace-Signature-256-Previous"] = body_signature(secrets_in_use[1], body)
    return body, headers
