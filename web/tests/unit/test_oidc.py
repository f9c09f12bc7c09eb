"""Signing in with the identity provider (OIDC code flow with PKCE) against a fake provider in-process.

Every way the callback can be wrong (state, nonce, signature, expiry, audience, a refused code) ends on the
sign-in page with a readable message, never a 500; a good sign-in keeps the tokens server-side, and the API
calls carry the ID token as their bearer.
"""

import base64
import hashlib
import time
from urllib.parse import parse_qs, urlparse

import jwt
import pytest
import requests
from cryptography.hazmat.primitives.asymmetric import rsa
from flask import Flask, jsonify, request
from marketplace_web.app import create_app
from marketplace_web.config import Config
from marketplace_web.sessions import MemoryStore

from .. import fake_gateway
from ..conftest import csrf_from
from ..fake_gateway import FakeGatewayAdapter

ISSUER = "http://idp.test"
CLIENT_ID = "marketplace-portal"
ACCOUNT = {"id": "acct_oidc", "name": "Olga Oidc", "email": "olga@example.com", "role": "user"}


class FakeProvider:
    """Discovery, JWKS and a token endpoint; what the next token answer holds can be changed by a test."""

    def __init__(self, keys: dict):
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.other_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.keys = keys  # the fake gateway's key -> account table: an issued ID token is added to it
        self.codes: dict[str, dict] = {}
        self.token_requests: list[dict] = []
        self.token_authorizations: list[str | None] = []
        self.overrides: dict = {}
        self.sign_with = self.key
        self.refresh_gives_id_token = True
        self.app = self._build()

    def id_token(self, nonce: str | None, **claims) -> str:
        now = int(time.time())
        body = {"iss": ISSUER, "aud": CLIENT_ID, "sub": "olga", "email": ACCOUNT["email"], "name": ACCOUNT["name"],
                "iat": now, "exp": now + 3600, **({"nonce": nonce} if nonce else {})}
        body.update(self.overrides)
        body.update(claims)
        token = jwt.encode(body, self.sign_with, algorithm="RS256", headers={"kid": "k1"})
        self.keys[token] = ACCOUNT
        return token

    def _build(self) -> Flask:
        app = Flask("fake-idp")

        @app.get("/.well-known/openid-configuration")
        def discovery():
            return jsonify({"issuer": ISSUER, "authorization_endpoint": f"{ISSUER}/authorize",
                            "token_endpoint": f"{ISSUER}/token", "jwks_uri": f"{ISSUER}/jwks",
                            "end_session_endpoint": f"{ISSUER}/logout"})

        @app.get("/jwks")
        def jwks():
            public = jwt.algorithms.RSAAlgorithm.to_jwk(self.key.public_key(), as_dict=True)
            return jsonify({"keys": [{**public, "kid": "k1", "use": "sig", "alg": "RS256"}]})

        @app.post("/token")
        def token():
            form = request.form.to_dict()
            self.token_requests.append(form)
            self.token_authorizations.append(request.headers.get("Authorization"))
            if form.get("grant_type") == "refresh_token":
                answer = {"access_token": "opaque-2", "token_type": "Bearer", "expires_in": 3600}
                if self.refresh_gives_id_token:
                    answer["id_token"] = self.id_token(None)
                return jsonify(answer)
            grant = self.codes.pop(form.get("code", ""), None)
            if grant is None:
                return jsonify({"error": "invalid_grant", "error_description": "unknown code"}), 400
            challenge = base64.urlsafe_b64encode(hashlib.sha256(form["code_verifier"].encode()).digest())
            if challenge.rstrip(b"=").decode() != grant["code_challenge"]:
                return jsonify({"error": "invalid_grant", "error_description": "PKCE verifier mismatch"}), 400
            return jsonify({"access_token": "opaque-1", "token_type": "Bearer", "expires_in": 3600,
                            "refresh_token": "refresh-1", "id_token": self.id_token(grant["nonce"])})

        return app

    def authorize(self, url: str, code: str = "code-1") -> dict:
        """What the provider's login page would do: remember the request, answer with a code."""
        query = {key: values[0] for key, values in parse_qs(urlparse(url).query).items()}
        self.codes[code] = query
        return query


@pytest.fixture
def provider(monkeypatch):
    keys = dict(fake_gateway.KEYS)
    monkeypatch.setattr(fake_gateway, "KEYS", keys)
    return FakeProvider(keys)


@pytest.fixture
def app(fake, provider):
    config = Config(SESSION_STORE=MemoryStore(3600), GATEWAY_URL="http://gateway.test", OIDC_ISSUER=ISSUER,
                    OIDC_CLIENT_ID=CLIENT_ID, OIDC_PROVIDER_NAME="Example SSO")
    app = create_app(config)
    app.extensions["web_clients"].adapter = FakeGatewayAdapter(fake)
    app.extensions["web_oidc"].http.mount(ISSUER, FakeGatewayAdapter(provider))
    return app


def start(client, provider, next_page="/installations") -> dict:
    response = client.get(f"/sign-in/oidc?next={next_page}")
    assert response.status_code == 303
    assert response.location.startswith(f"{ISSUER}/authorize?")
    return provider.authorize(response.location)


def callback(client, query: dict, code: str = "code-1", **changes):
    params = {"code": code, "state": query["state"], **changes}
    return client.get("/sign-in/oidc/callback", query_string=params)


def page(response) -> str:
    return response.get_data(as_text=True)


def test_sign_in_page_offers_the_provider(client):
    response = client.get("/sign-in")
    assert response.status_code == 200
    assert "Sign in with Example SSO" in page(response) and 'href="/sign-in/oidc?next=/"' in page(response)


def test_authorization_request_uses_pkce_state_and_nonce(client, provider):
    query = start(client, provider)
    assert query["response_type"] == "code" and query["client_id"] == CLIENT_ID
    assert query["scope"] == "openid profile email" and query["code_challenge_method"] == "S256"
    assert len(query["state"]) >= 20 and len(query["nonce"]) >= 20 and len(query["code_challenge"]) == 43
    assert query["redirect_uri"] == "http://localhost/sign-in/oidc/callback"


def test_redirect_uri_follows_the_gateways_forwarded_host(client, provider):
    response = client.get("/sign-in/oidc", headers={"X-Forwarded-Proto": "https", "X-Forwarded-Host": "portal.example"})
    query = provider.authorize(response.location)
    assert query["redirect_uri"] == "https://portal.example/sign-in/oidc/callback"


def test_good_sign_in_keeps_tokens_server_side_and_calls_the_api_with_the_id_token(client, provider, fake, app):
    query = start(client, provider)
    response = callback(client, query)
    assert response.status_code == 303 and response.location == "/installations"
    assert provider.token_requests[0]["code_verifier"] and provider.token_requests[0]["client_id"] == CLIENT_ID
    cookie = client.get_cookie("mkp_session")
    assert cookie is not None and cookie.http_only and "eyJ" not in cookie.value
    listing = client.get("/installations")
    assert listing.status_code == 200 and "Olga Oidc" in page(listing)
    bearer = next(r for r in reversed(fake.requests) if r["path"].startswith("/api/"))
    assert bearer["headers"]["Authorization"].startswith("Bearer eyJ")
    stored = app.extensions["web_sessions"].load(cookie.value)
    assert stored["oidc"]["refresh_token"] == "refresh-1" and stored["api_key"] == stored["oidc"]["id_token"]


def test_public_client_sends_no_secret_and_a_confidential_one_uses_basic_auth(client, provider, app):
    callback(client, start(client, provider))
    assert provider.token_authorizations == [None] and "client_secret" not in provider.token_requests[0]
    app.extensions["web_oidc"].client_secret = "s3cret"
    other = app.test_client()
    callback(other, start(other, provider, "/"))
    expected = "Basic " + base64.b64encode(f"{CLIENT_ID}:s3cret".encode()).decode()
    assert provider.token_authorizations[-1] == expected


def test_state_mismatch_is_refused(client, provider):
    query = start(client, provider)
    response = callback(client, query, state="forged")
    assert response.status_code == 400 and "state mismatch" in page(response)
    assert provider.token_requests == []


def test_callback_without_a_started_sign_in_is_refused(client, provider):
    response = client.get("/sign-in/oidc/callback?code=x&state=y")
    assert response.status_code == 400 and "state mismatch" in page(response)


def test_nonce_mismatch_is_refused(client, provider):
    query = start(client, provider)
    provider.overrides = {"nonce": "another-sign-in"}
    response = callback(client, query)
    assert response.status_code == 400 and "nonce mismatch" in page(response)
    assert client.get("/installations").status_code in (302, 303)  # still signed out


def test_bad_signature_is_refused(client, provider):
    query = start(client, provider)
    provider.sign_with = provider.other_key
    response = callback(client, query)
    assert response.status_code == 400 and "signature is not valid" in page(response)


@pytest.mark.parametrize("claims, message", [
    (lambda: {"exp": int(time.time()) - 120, "iat": int(time.time()) - 3720}, "has expired"),
    (lambda: {"aud": "some-other-app"}, "another application"),
], ids=["expired", "another-audience"])
def test_a_token_with_wrong_claims_is_refused(client, provider, claims, message):
    query = start(client, provider)
    provider.overrides = claims()
    response = callback(client, query)
    assert response.status_code == 400 and message in page(response)


def test_refused_code_and_provider_error_are_readable(client, provider):
    query = start(client, provider)
    response = callback(client, query, code="not-issued")
    assert response.status_code == 400 and "refused the sign-in: unknown code" in page(response)
    start(client, provider)
    response = client.get("/sign-in/oidc/callback?error=access_denied&error_description=User+said+no")
    assert response.status_code == 400 and "did not sign you in: User said no" in page(response)


def test_a_person_without_an_account_gets_told(client, provider, monkeypatch):
    query = start(client, provider)
    monkeypatch.setattr(provider, "keys", {})  # the gateway knows nobody for this token
    response = callback(client, query)
    assert response.status_code == 403 and "has no account for olga@example.com" in page(response)


def expire_id_token(client, app):
    """Make the signed-in session's ID token look expired; the session store and id, to look at afterwards."""
    sid = client.get_cookie("mkp_session").value
    store = app.extensions["web_sessions"]
    data = store.load(sid)
    data["oidc"]["expires_at"] = time.time() - 1
    store.save(sid, data)
    return store, sid


def test_expired_id_token_is_refreshed(client, provider, app):
    callback(client, start(client, provider))
    store, sid = expire_id_token(client, app)
    response = client.get("/installations")
    assert response.status_code == 200 and "Olga Oidc" in page(response)
    assert provider.token_requests[-1] == {"grant_type": "refresh_token", "refresh_token": "refresh-1",
                                           "client_id": CLIENT_ID}
    assert store.load(sid)["oidc"]["expires_at"] > time.time()


def test_expired_id_token_without_refresh_signs_out(client, provider, app):
    callback(client, start(client, provider))
    provider.refresh_gives_id_token = False
    store, sid = expire_id_token(client, app)
    response = client.get("/")
    assert response.status_code == 200
    assert "sign-in with the identity provider has expired" in page(response) and "Olga Oidc" not in page(response)
    assert store.load(sid) is None


def test_sign_out_ends_the_session_at_the_provider_too(client, provider, app):
    callback(client, start(client, provider))
    sid = client.get_cookie("mkp_session").value
    home = page(client.get("/"))
    response = client.post("/sign-out", data={"csrf_token": csrf_from(home)})
    assert response.status_code == 303 and response.location.startswith(f"{ISSUER}/logout?")
    query = parse_qs(urlparse(response.location).query)
    assert query["post_logout_redirect_uri"] == ["http://localhost/"] and query["id_token_hint"][0].startswith("eyJ")
    assert app.extensions["web_sessions"].load(sid) is None
    # The pages' CSP lets that form's redirect reach the provider, and nothing else.
    assert f"form-action 'self' {ISSUER};" in client.get("/").headers["Content-Security-Policy"]


class _Unreachable(requests.adapters.BaseAdapter):
    def send(self, request, **kwargs):
        raise requests.ConnectionError("connection refused")

    def close(self):
        pass


def test_unreachable_provider_is_a_readable_error(client, app):
    app.extensions["web_oidc"].http.mount(ISSUER, _Unreachable())
    response = client.get("/sign-in/oidc")
    assert response.status_code == 502 and "identity provider cannot be reached right now" in page(response)


def test_unconfigured_portal_offers_no_provider():
    app = create_app(Config(SESSION_STORE=MemoryStore(60), GATEWAY_URL="http://gateway.test"))
    client = app.test_client()
    assert 'id="sign-in-oidc"' not in page(client.get("/sign-in"))
    assert client.get("/sign-in/oidc").status_code == 404
    assert client.get("/sign-in/oidc/callback?code=a&state=b").status_code == 404
