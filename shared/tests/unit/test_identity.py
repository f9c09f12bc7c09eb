"""The identity token services trust: a token checked once is remembered, never past its expiry, and never for
another secret."""

import time

import jwt
import pytest

from marketplace_shared import identity as identity_module
from marketplace_shared.identity import Identity, decode_token, issue_token

SECRET = "s" * 32


def test_a_token_is_checked_once_then_remembered(monkeypatch):
    token = issue_token(SECRET, Identity(id="acct_1", role="publisher", name="Ada"), ttl_seconds=60)
    assert decode_token(SECRET, token) == Identity(id="acct_1", role="publisher", name="Ada")
    calls = []
    monkeypatch.setattr(jwt, "decode", lambda *args, **kwargs: calls.append(args))
    assert decode_token(SECRET, token).role == "publisher"
    assert calls == []  # remembered: not verified again


def test_a_remembered_token_still_expires(monkeypatch):
    token = issue_token(SECRET, Identity(id="acct_2", role="user"), ttl_seconds=5)
    assert decode_token(SECRET, token).id == "acct_2"
    later = time.time() + 6
    monkeypatch.setattr(time, "time", lambda: later)

    def expired(*_args, **_kwargs):  # what PyJWT says at that time
        raise jwt.ExpiredSignatureError("Signature has expired")

    monkeypatch.setattr(jwt, "decode", expired)
    with pytest.raises(jwt.ExpiredSignatureError):
        decode_token(SECRET, token)  # past its expiry the memory does not answer: verified again


def test_another_secret_or_a_forged_token_is_refused():
    token = issue_token(SECRET, Identity(id="acct_3", role="admin"), ttl_seconds=60)
    assert decode_token(SECRET, token).is_admin
    with pytest.raises(jwt.InvalidSignatureError):
        decode_token("t" * 32, token)
    header, claims, _signature = token.split(".")
    with pytest.raises(jwt.PyJWTError):
        decode_token(SECRET, f"{header}.{claims}.AAAA")


def test_the_memory_is_bounded(monkeypatch):
    monkeypatch.setattr(identity_module, "_CHECKED_TOKENS_MAX", 3)
    monkeypatch.setattr(identity_module, "_checked_tokens", {})
    for index in range(10):
        decode_token(SECRET, issue_token(SECRET, Identity(id=f"acct_{index}", role="user"), ttl_seconds=60))
    assert len(identity_module._checked_tokens) <= 3
