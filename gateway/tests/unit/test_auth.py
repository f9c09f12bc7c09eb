import json
import time

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from gateway.app import create_app
from marketplace_shared.identity import HEADER, Identity, decode_token, issue_token
from marketplace_shared.testing import serve_bytes

from ..conftest import ADMIN, ADMIN_KEY, SECRET, make_account

API = "/api/marketplace/v1"


def identity_seen(upstream) -> Identity:
    return decode_token(SECRET, upstream.requests[-1]["headers"][HEADER])


@pytest.mark.parametrize("role", ["user", "publisher", "admin"])
def test_auth_matrix(client, upstreams, role):
    account, headers = make_account(client, role) if role != "admin" else ({"id": "acct_admin"}, ADMIN)
    # Reads are public; writes need credentials; admin routes need an admin; services see who called.
    assert client.get(f"{API}/plugins").status_code == 200
    assert identity_seen(upstreams["catalog"]).role == "anonymous"
    assert client.post(f"{API}/plugins/p1/install", json={}).status_code == 401
    assert client.post(f"{API}/plugins/p1/reviews", json={}).status_code == 401
    assert client.delete(f"{API}/webhooks/w1").status_code == 401
    install = client.post(f"{API}/plugins/p1/install", json={"version": "1.0.0"}, headers=headers)
    assert install.status_code == 201 and install.get_json()["service"] == "install"
    seen = identity_seen(upstreams["install"])
    assert (seen.id, seen.role) == (account["id"], role)
    admin_route = client.get(f"{API}/admin/accounts", headers=headers)
    assert admin_route.status_code == (200 if role == "admin" else 403)


def test_every_credential_header_works(client, upstreams):
    account, headers = make_account(client)
    key = headers["X-API-Key"]
    for sent in ({"Authorization": f"Bearer {key}"}, {"X-API-Key": key}, {"api-key": key}):
        assert client.post(f"{API}/webhooks", json={}, headers=sent).status_code == 201, sent
        assert identity_seen(upstreams["webhook"]).id == account["id"]


@pytest.mark.parametrize("headers", [
    {"Authorization": "Bearer mkp_not-a-real-key"},
    {"Authorization": "Basic dXNlcjpwYXNz"},
    {"X-API-Key": "mkp_" + "a" * 38},
    {"api-key": "whatever"},
])
def test_bad_credentials_are_401_even_for_reads(client, headers):
    response = client.get(f"{API}/plugins", headers=headers)
    assert response.status_code == 401
    assert response.get_json()["error"]["code"] == "UNAUTHORIZED"
    assert response.headers["X-RateLimit-Limit"]


def test_search_is_a_public_post(client, upstreams):
    response = client.post(f"{API}/plugins/search", json={"query": "x"})
    assert response.status_code == 201 and response.get_json()["service"] == "catalog"
    assert identity_seen(upstreams["catalog"]).role == "anonymous"


def test_forged_identity_and_credentials_never_reach_a_service(client, upstreams):
    forged = issue_token(SECRET, Identity(id="acct_admin", role="admin"))
    response = client.get(f"{API}/plugins", headers={HEADER: forged, "X-User-Id": "acct_admin", "X-Role": "admin",
                                                     "X-Forwarded-User": "root", "Remote-User": "root"})
    assert response.status_code == 200
    received = upstreams["catalog"].requests[-1]["headers"]
    assert decode_token(SECRET, received[HEADER]).role == "anonymous"
    lowered = {key.lower() for key in received}
    assert not lowered & {"x-user-id", "x-role", "x-forwarded-user", "remote-user"}
    # A forged token does not make a write possible either.
    assert client.post(f"{API}/plugins", json={}, headers={HEADER: forged}).status_code == 401
    _account, headers = make_account(client)
    client.post(f"{API}/plugins", json={}, headers=headers)
    received = {key.lower() for key in upstreams["catalog"].requests[-1]["headers"]}
    assert not received & {"x-api-key", "authorization", "api-key"}


def test_admin_bootstrap_key_may_have_any_shape(client):
    assert client.get(f"{API}/me", headers={"Authorization": f"Bearer {ADMIN_KEY}"}).get_json()["data"]["role"] \
        == "admin"


# -- external identity provider tokens -----------------------------------------------
def _token(key, algorithm, **claims):
    now = int(time.time())
    return jwt.encode({"iat": now, "exp": now + 300, **claims}, key, algorithm=algorithm,
                      headers={"kid": "k1"} if algorithm == "RS256" else None)


def test_shared_secret_jwt_maps_to_an_account_by_email(config, upstreams):
    from gateway.migrate import migrate

    config.JWT_SHARED_SECRET = "an-idp-shared-secret-of-32-bytes!!"
    config.JWT_ISSUER = "https://idp.example.com"
    migrate(config)
    client = create_app(config).test_client()
    account, _headers = make_account(client)
    good = _token(config.JWT_SHARED_SECRET, "HS256", sub="someone", email=account["email"], iss=config.JWT_ISSUER)
    me = client.get(f"{API}/me", headers={"Authorization": f"Bearer {good}"})
    assert me.status_code == 200 and me.get_json()["data"]["id"] == account["id"]
    stranger = _token(config.JWT_SHARED_SECRET, "HS256", sub="x", email="nobody@example.com", iss=config.JWT_ISSUER)
    expired = jwt.encode({"sub": "x", "email": account["email"], "iss": config.JWT_ISSUER, "exp": 1000},
                         config.JWT_SHARED_SECRET, algorithm="HS256")
    wrong_issuer = _token(config.JWT_SHARED_SECRET, "HS256", email=account["email"], iss="https://evil")
    forged = _token("some-other-secret-of-32-bytes-long!", "HS256", email=account["email"], iss=config.JWT_ISSUER)
    for token in (stranger, expired, wrong_issuer, forged):
        assert client.get(f"{API}/me", headers={"Authorization": f"Bearer {token}"}).status_code == 401


def test_oidc_jwks_tokens_map_to_an_account_by_subject(config):
    from jwt.algorithms import RSAAlgorithm

    from gateway.migrate import migrate

    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    jwk = json.loads(RSAAlgorithm.to_jwk(private.public_key()))
    jwks = json.dumps({"keys": [{**jwk, "kid": "k1", "use": "sig", "alg": "RS256"}]}).encode()

    server = serve_bytes({"/jwks": jwks}, content_type="application/json")
    try:
        config.JWT_JWKS_URL = f"http://127.0.0.1:{server.server_address[1]}/jwks"
        config.JWT_ISSUER = "https://idp.example.com"
        config.JWT_AUDIENCE = "marketplace"
        migrate(config)
        client = create_app(config).test_client()
        created = client.post(f"{API}/admin/accounts", headers=ADMIN, json={
            "name": "Oidc", "email": "oidc@example.com", "role": "publisher", "externalSubject": "idp|42"})
        account = created.get_json()["data"]
        token = _token(private, "RS256", sub="idp|42", iss=config.JWT_ISSUER, aud="marketplace")
        me = client.get(f"{API}/me", headers={"Authorization": f"Bearer {token}"})
        assert me.status_code == 200 and me.get_json()["data"]["id"] == account["id"]
        other_audience = _token(private, "RS256", sub="idp|42", iss=config.JWT_ISSUER, aud="elsewhere")
        assert client.get(f"{API}/me", headers={"Authorization": f"Bearer {other_audience}"}).status_code == 401
        # No `kid` (oidc-provider-mock's ID tokens): the JWKS's only key checks it.
        claims = {"sub": "idp|42", "iss": config.JWT_ISSUER, "aud": "marketplace", "exp": int(time.time()) + 300}
        no_kid = jwt.encode(claims, private, algorithm="RS256")
        assert client.get(f"{API}/me", headers={"Authorization": f"Bearer {no_kid}"}).status_code == 200
        stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        forged = jwt.encode({**claims, "exp": claims["exp"] + 1}, stranger, algorithm="RS256")
        assert client.get(f"{API}/me", headers={"Authorization": f"Bearer {forged}"}).status_code == 401
        hmac_attempt = _token("x" * 32, "HS256", sub="idp|42", iss=config.JWT_ISSUER, aud="marketplace")
        assert client.get(f"{API}/me", headers={"Authorization": f"Bearer {hmac_attempt}"}).status_code == 401
    finally:
        server.shutdown()
        server.server_close()
