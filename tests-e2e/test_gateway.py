"""The gateway as clients meet it: authentication and roles, API keys, identity headers, rate limits,
the merged OpenAPI document, CORS, body limits and a stopped upstream, all through the real services.

The stack allows 100000 requests/hour so other tests are never throttled; exact limiting is shown with an
enterprise account of its own. The upstream-outage test is last: it stops and restarts a service.
"""

import json
import re
import signal
import socket
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlparse

import pytest
import requests
from openapi_spec_validator import validate

from api_client import PREFIX, ApiClient, expect, expect_error
from factories import ANCIENT_ENVIRONMENT, new_account, publish_plugin, wait_until_known, wait_until_reviewable
from marketplace_shared.identity import HEADER as IDENTITY_HEADER
from marketplace_shared.identity import Identity, issue_token
from marketplace_shared.testing import unique_name, wait_for
from stack import SERVICES

ISO_UTC = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$")
RATE_HEADERS = ("X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset", "RateLimit-Policy", "RateLimit")
ROLES = ("anonymous", "user", "publisher", "admin")


def fresh_get(url: str, **kwargs) -> requests.Response:
    """A request on a connection of its own (no keep-alive), so successive calls spread over the gunicorn workers."""
    kwargs.setdefault("timeout", 30)
    headers = {"Connection": "close", **kwargs.pop("headers", {})}
    with requests.Session() as session:
        session.trust_env = False
        return session.get(url, headers=headers, **kwargs)


def assert_rate_headers(response: requests.Response, policy: str | None = None) -> None:
    """Every rate-limit field is present and well formed."""
    headers = response.headers
    missing = [name for name in RATE_HEADERS if name not in headers]
    assert not missing, f"{response.status_code} {response.url} lacks {missing}: {dict(headers)}"
    limit, remaining = int(headers["X-RateLimit-Limit"]), int(headers["X-RateLimit-Remaining"])
    assert 0 <= remaining <= limit, dict(headers)
    reset = headers["X-RateLimit-Reset"]
    assert ISO_UTC.match(reset), reset
    reset_at = datetime.strptime(reset[:19], "%Y-%m-%dT%H:%M:%S").replace(tzinfo=UTC)
    now = datetime.now(UTC)
    assert now - timedelta(seconds=5) <= reset_at <= now + timedelta(hours=1, seconds=5), reset
    match = re.fullmatch(r'"(\w+)";q=(\d+);w=(\d+)', headers["RateLimit-Policy"])
    assert match and int(match[2]) == limit and int(match[3]) == 3600, headers["RateLimit-Policy"]
    current = re.fullmatch(r'"(\w+)";r=(\d+);t=(\d+)', headers["RateLimit"])
    assert current and current[1] == match[1] and int(current[2]) == remaining, headers["RateLimit"]
    assert int(current[3]) <= 3600, headers["RateLimit"]
    if policy is not None:
        assert match[1] == policy, headers["RateLimit-Policy"]


def anonymous_client(stack) -> ApiClient:
    return ApiClient(stack.gateway_url)


# -- the auth matrix -------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def world(stack, admin):
    """A published plugin (owned by `owner`) known to the review and install services, and one client per role."""
    owner = new_account(admin, "publisher")
    clients = {"anonymous": ApiClient(stack.gateway_url), "user": new_account(admin, "user"),
               "publisher": new_account(admin, "publisher"), "admin": admin, "owner": owner}
    plugin = publish_plugin(owner)
    # The owner's own review proves the review service knows the plugin; the matrix's roles review it afresh.
    wait_until_reviewable(owner, plugin["id"])
    wait_until_known(admin, owner, plugin["id"], "1.0.0")
    return {"plugin": plugin, "clients": clients}


def _create_plugin(client, _plugin):
    name = unique_name("gw").replace("_", "-")
    return client.post("/plugins", json={"name": name, "displayName": "Gateway Matrix", "description": "e2e",
                                         "category": "monitoring", "tags": ["e2e"], "license": "Apache-2.0"})


def _patch_plugin(client, plugin):
    return client.patch(f"/plugins/{plugin['id']}", json={"description": f"changed by {unique_name('x')}"})


def _install(client, plugin):
    # A known plugin into an environment nothing suits: the install service refuses with 409 once the
    # caller got through authentication, without starting a job.
    return client.post(f"/plugins/{plugin['id']}/install", json={"environment": ANCIENT_ENVIRONMENT,
                                                                 "version": "1.0.0"})


def _review(client, plugin):
    return client.post(f"/plugins/{plugin['id']}/reviews", json={"rating": 4, "title": "Fine", "review": "Works"})


def _webhook(client, _plugin):
    return client.post("/webhooks", json={"url": "http://127.0.0.1:9/hook", "events": ["plugin.installed"]})


def _environment(client, _plugin):
    return client.post("/environments", json={"name": unique_name("env").replace("_", "-"),
                                              "backstageVersion": "1.30.0", "nodeVersion": "20.0.0"})


# route -> (call, {role: expected status}); 401/403 must come in the error envelope.
MATRIX = {
    "GET /plugins (read)": (lambda c, p: c.get("/plugins?limit=1"),
                            {"anonymous": 200, "user": 200, "publisher": 200, "admin": 200}),
    "GET /plugins/{id}/reviews (read)": (lambda c, p: c.get(f"/plugins/{p['id']}/reviews"),
                                         {"anonymous": 200, "user": 200, "publisher": 200, "admin": 200}),
    "POST /plugins (catalog, publisher)": (_create_plugin,
                                           {"anonymous": 401, "user": 403, "publisher": 201, "admin": 201}),
    "PATCH /plugins/{id} (catalog, owner)": (_patch_plugin, {"anonymous": 401, "user": 403, "publisher": 403,
                                                             "owner": 200, "admin": 200}),
    "POST /plugins/{id}/install (install, user)": (_install,
                                                   {"anonymous": 401, "user": 409, "publisher": 409, "admin": 409}),
    "POST /plugins/{id}/reviews (review, user)": (_review,
                                                  {"anonymous": 401, "user": 201, "publisher": 201, "admin": 201}),
    "POST /webhooks (webhook, user)": (_webhook, {"anonymous": 401, "user": 201, "publisher": 201, "admin": 201}),
    "GET /me (gateway, signed in)": (lambda c, p: c.get("/me"),
                                     {"anonymous": 401, "user": 200, "publisher": 200, "admin": 200}),
    "GET /admin/accounts (gateway, admin)": (lambda c, p: c.get("/admin/accounts"),
                                             {"anonymous": 401, "user": 403, "publisher": 403, "admin": 200}),
    "POST /environments (install, admin)": (_environment,
                                            {"anonymous": 401, "user": 403, "publisher": 403, "admin": 201}),
}


@pytest.mark.parametrize("route", list(MATRIX))
def test_auth_matrix(world, route):
    call, expected = MATRIX[route]
    outcomes = {}
    for role, status in expected.items():
        response = call(world["clients"][role], world["plugin"])
        outcomes[role] = response.status_code
        if response.status_code != status:
            continue
        assert_rate_headers(response, "anonymous" if role == "anonymous" else "authenticated")
        if status == 401:
            expect_error(response, 401, "UNAUTHORIZED")
        elif status == 403:
            expect_error(response, 403, "FORBIDDEN")
        elif status == 409:
            expect_error(response, 409, "INCOMPATIBLE_ENVIRONMENT")
    assert outcomes == expected, f"{route}: got {outcomes}, expected {expected}"


# -- credentials -----------------------------------------------------------------------------------

def test_the_three_key_headers_authenticate(stack, admin):
    account = new_account(admin, "user")
    bare = ApiClient(stack.gateway_url)
    for headers in ({"Authorization": f"Bearer {account.key}"}, {"X-API-Key": account.key},
                    {"api-key": account.key}):
        me = expect(bare.get("/me", headers=headers), 200)["data"]
        assert me["id"] == account.account["id"] and me["role"] == "user", headers
        expect(bare.post("/webhooks", headers=headers,
                         json={"url": "http://127.0.0.1:9/hook", "events": ["plugin.error"]}), 201)
    # A well-formed key nobody issued, a key with a broken checksum and an unsupported scheme: 401, reads included.
    forged = "mkp_" + "A" * 32 + "000000"
    broken = account.key[:-1] + ("a" if account.key[-1] != "a" else "b")
    for headers in ({"Authorization": f"Bearer {forged}"}, {"X-API-Key": broken}, {"api-key": forged},
                    {"Authorization": f"Basic {account.key}"}):
        expect_error(bare.get("/me", headers=headers), 401, "UNAUTHORIZED")
        read = bare.get("/plugins", headers=headers)
        expect_error(read, 401, "UNAUTHORIZED")
        assert_rate_headers(read, "failed_auth")  # a budget of its own, not the anonymous one


def test_keys_are_shown_once_and_a_revoked_key_is_refused(stack, admin):
    owner = new_account(admin, "user")
    stranger = new_account(admin, "user")
    created = expect(owner.post("/me/api-keys", json={"name": "second"}), 201)["data"]
    assert re.fullmatch(r"mkp_[0-9A-Za-z]{38}", created["key"]), created
    second = ApiClient(stack.gateway_url, created["key"])
    expect(second.get("/me"), 200)
    listed = expect(owner.get("/me/api-keys"), 200)["data"]
    assert {key["id"] for key in listed} >= {created["id"]}
    assert all("key" not in key for key in listed), listed
    assert all(created["key"] not in str(value) for key in listed for value in key.values())

    expect_error(stranger.delete(f"/api-keys/{created['id']}"), 403, "FORBIDDEN")
    expect(second.get("/me"), 200)
    assert expect(owner.delete(f"/api-keys/{created['id']}"), 204) == {}

    # Each gunicorn worker caches a credential for at most AUTH_CACHE_SECONDS. `second` keeps its connection,
    # and so its worker, which may not be the one fresh connections reach: both must have let the key go.
    me_url = stack.gateway_url + PREFIX + "/me"
    headers = {"Authorization": f"Bearer {created['key']}"}
    wait_for(lambda: second.get("/me").status_code == 401
             and all(fresh_get(me_url, headers=headers).status_code == 401 for _ in range(4)), timeout=5,
             message="the revoked key to be refused by every worker")
    for _ in range(6):
        expect_error(fresh_get(me_url, headers=headers), 401, "UNAUTHORIZED")
    expect_error(second.post("/webhooks", json={"url": "http://127.0.0.1:9/hook", "events": ["plugin.error"]}),
                 401, "UNAUTHORIZED")
    expect_error(second.get("/plugins"), 401, "UNAUTHORIZED")
    statuses = {key["id"]: key["status"] for key in expect(owner.get("/me/api-keys"), 200)["data"]}
    assert statuses[created["id"]] == "revoked"
    # The owner's other key is untouched; an admin may revoke anyone's key.
    expect(owner.get("/me"), 200)
    other = expect(admin.post(f"/admin/accounts/{stranger.account['id']}/api-keys", json={}), 201)["data"]
    expect(admin.delete(f"/api-keys/{other['id']}"), 204)
    wait_for(lambda: fresh_get(me_url, headers={"X-API-Key": other["key"]}).status_code == 401, timeout=5,
             message="the key an admin revoked to be refused")


def test_an_expired_key_is_refused(stack, admin):
    account = new_account(admin, "user")
    past = (datetime.now(UTC) - timedelta(minutes=1)).isoformat()
    expect_error(account.post("/me/api-keys", json={"expiresAt": past}), 400, "VALIDATION_ERROR")
    expires_at = datetime.now(UTC) + timedelta(seconds=2)
    created = expect(account.post("/me/api-keys", json={"name": "short", "expiresAt": expires_at.isoformat()}),
                     201)["data"]
    assert created["expiresAt"].startswith(expires_at.strftime("%Y-%m-%dT%H:%M:%S")), created
    short = ApiClient(stack.gateway_url, created["key"])
    expect(short.get("/me"), 200)
    wait_for(lambda: short.get("/me").status_code == 401, timeout=10, interval=0.2,
             message="the key to expire")
    assert datetime.now(UTC) >= expires_at
    me_url = stack.gateway_url + PREFIX + "/me"
    for _ in range(4):
        expect_error(fresh_get(me_url, headers={"X-API-Key": created["key"]}), 401, "UNAUTHORIZED")
    expect_error(short.post("/webhooks", json={"url": "http://127.0.0.1:9/hook", "events": ["plugin.error"]}),
                 401, "UNAUTHORIZED")
    statuses = {key["id"]: key["status"] for key in expect(account.get("/me/api-keys"), 200)["data"]}
    assert statuses[created["id"]] == "expired"


def test_identity_headers_sent_by_a_client_are_ignored(stack, admin, world):
    user = world["clients"]["user"]
    real_secret = stack.env["INTERNAL_TOKEN_SECRET"]
    boss = Identity(id="acct_admin", role="admin", name="Forged", email="forged@example.com")
    for token in (issue_token("not-the-secret-" + real_secret, boss), issue_token(real_secret, boss)):
        forged = {IDENTITY_HEADER: token, "X-User-Id": "acct_admin", "X-Role": "admin"}
        anonymous = ApiClient(stack.gateway_url)
        # Anonymous: still anonymous, whatever the header claims (an admin-only read, a write, /me).
        expect_error(anonymous.get("/environments", headers=forged), 401, "UNAUTHORIZED")
        expect_error(anonymous.get("/me", headers=forged), 401, "UNAUTHORIZED")
        expect_error(anonymous.post("/webhooks", headers=forged,
                                    json={"url": "http://127.0.0.1:9/hook", "events": ["plugin.error"]}),
                     401, "UNAUTHORIZED")
        # Signed in as a user: treated as that user, not as the admin the header names.
        expect_error(user.get("/environments", headers=forged), 403, "FORBIDDEN")
        expect_error(_environment_with(user, forged), 403, "FORBIDDEN")
        me = expect(user.get("/me", headers=forged), 200)["data"]
        assert me["id"] == user.account["id"] and me["role"] == "user"
        expect(user.get(f"/plugins/{world['plugin']['id']}/reviews", headers=forged), 200)
    # A webhook a user registers with a forged header belongs to the user, not to the named account.
    hook = expect(user.post("/webhooks", headers={IDENTITY_HEADER: issue_token(real_secret, boss)},
                            json={"url": "http://127.0.0.1:9/hook", "events": ["plugin.error"]}), 201)["data"]
    assert hook["ownerId"] == user.account["id"], hook
    assert hook["id"] in {w["id"] for w in expect(user.get("/webhooks?limit=100"), 200)["data"]}


def _environment_with(client, headers):
    return client.post("/environments", headers=headers, json={
        "name": unique_name("env").replace("_", "-"), "backstageVersion": "1.30.0", "nodeVersion": "20.0.0"})


def test_a_service_port_refuses_writes_without_the_gateways_token(stack):
    catalog = stack.url("catalog-service") + PREFIX
    review = stack.url("review-service") + PREFIX
    name = unique_name("direct").replace("_", "-")
    body = {"name": name, "displayName": "Direct", "description": "direct", "category": "monitoring",
            "tags": ["e2e"], "license": "Apache-2.0"}
    publisher = Identity(id="acct_direct", role="publisher", name="Direct", email="direct@example.com")
    wrong = issue_token("wrong-" + stack.env["INTERNAL_TOKEN_SECRET"], publisher)
    for headers in ({}, {IDENTITY_HEADER: wrong}, {"Authorization": "Bearer mkp_whatever"},
                    {"X-User-Id": "acct_direct", "X-Role": "admin"}):
        response = requests.post(f"{catalog}/plugins", json=body, headers=headers, timeout=10)
        assert response.status_code == 401, (headers, response.text)
        assert response.json()["error"]["code"] == "UNAUTHORIZED"
        response = requests.post(f"{review}/plugins/plugin_x/reviews", json={"rating": 5}, headers=headers,
                                 timeout=10)
        assert response.status_code == 401, (headers, response.text)
    # The same request with a token signed by the gateway's secret is accepted: the 401s were about the token.
    good = issue_token(stack.env["INTERNAL_TOKEN_SECRET"], publisher)
    expect(requests.post(f"{catalog}/plugins", json=body, headers={IDENTITY_HEADER: good}, timeout=10), 201)


# -- rate limits -----------------------------------------------------------------------------------

def test_rate_limit_headers_on_success_and_error_responses(stack, world):
    anonymous, user, admin = (world["clients"][role] for role in ("anonymous", "user", "admin"))
    responses = [
        (anonymous.get("/plugins"), 200, "anonymous"),
        (user.get("/me"), 200, "authenticated"),
        (anonymous.get("/plugins/plugin_does_not_exist"), 404, "anonymous"),
        (anonymous.get("/no-such-route"), 404, "anonymous"),
        (user.post("/plugins/search", json={"unknownField": 1}), 400, "authenticated"),
        (anonymous.post("/webhooks", json={}), 401, "anonymous"),
        (user.get("/admin/accounts"), 403, "authenticated"),
        (admin.get("/admin/accounts/acct_nobody"), 404, "authenticated"),
    ]
    for response, status, policy in responses:
        assert response.status_code == status, (response.url, response.status_code, response.text[:300])
        assert_rate_headers(response, policy)
        assert "Retry-After" not in response.headers
    # Each signed-in request spends one of the account's own budget.
    first, second = user.get("/me"), user.get("/plugins?limit=1")
    assert int(second.headers["X-RateLimit-Remaining"]) == int(first.headers["X-RateLimit-Remaining"]) - 1


def test_an_enterprise_limit_of_5_allows_exactly_5_of_8_across_workers(stack, admin):
    account = new_account(admin, "user", tier="enterprise", rateLimitPerHour=5)
    url = stack.gateway_url + PREFIX + "/plugins?limit=1"
    headers = {"X-API-Key": account.key}
    with ThreadPoolExecutor(max_workers=8) as pool:
        responses = list(pool.map(lambda _: fresh_get(url, headers=headers), range(8)))
    statuses = sorted(response.status_code for response in responses)
    assert statuses == [200] * 5 + [429] * 3, [(r.status_code, r.text[:200]) for r in responses]
    allowed = [r for r in responses if r.status_code == 200]
    refused = [r for r in responses if r.status_code == 429]
    assert sorted(int(r.headers["X-RateLimit-Remaining"]) for r in allowed) == [0, 1, 2, 3, 4]
    for response in responses:
        assert_rate_headers(response, "enterprise")
        assert response.headers["X-RateLimit-Limit"] == "5"
    for response in refused:
        body = expect_error(response, 429, "RATE_LIMITED")
        assert response.headers["X-RateLimit-Remaining"] == "0"
        retry_after = int(response.headers["Retry-After"])
        assert 1 <= retry_after <= 3600, retry_after
        assert body["error"]["details"]["limit"] == 5
    # The budget is the account's, whatever header carries its key, and other accounts are unaffected.
    expect_error(ApiClient(stack.gateway_url, account.key).get("/me"), 429, "RATE_LIMITED")
    expect_error(ApiClient(stack.gateway_url).get("/me", headers={"api-key": account.key}), 429, "RATE_LIMITED")
    expect(new_account(admin, "user").get("/me"), 200)


def test_x_forwarded_for_from_an_untrusted_peer_does_not_change_the_anonymous_bucket(stack):
    url = stack.gateway_url + PREFIX + "/plugins?limit=1"
    seen = []
    for forwarded in ("203.0.113.7", "198.51.100.9, 203.0.113.8", None, "10.0.0.1"):
        headers = {"X-Forwarded-For": forwarded} if forwarded else {}
        response = fresh_get(url, headers=headers)
        expect(response, 200)
        assert_rate_headers(response, "anonymous")
        seen.append(int(response.headers["X-RateLimit-Remaining"]))
    # One bucket (the peer's address): each request takes exactly one from it.
    assert seen == [seen[0] - step for step in range(len(seen))], seen


# -- documents, CORS, body limit -------------------------------------------------------------------

SPEC_ROUTES = [
    ("get", "/plugins"), ("get", "/plugins/{}"), ("post", "/plugins/{}/install"), ("get", "/installations/{}"),
    ("post", "/plugins/search"), ("get", "/plugins/{}/stats"), ("post", "/webhooks"),
]
GATEWAY_ROUTES = [
    ("get", "/admin/accounts"), ("post", "/admin/accounts"), ("get", "/admin/accounts/{}"),
    ("patch", "/admin/accounts/{}"), ("post", "/admin/accounts/{}/api-keys"), ("get", "/me"),
    ("get", "/me/api-keys"), ("post", "/me/api-keys"), ("delete", "/api-keys/{}"),
]


def _shape(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "{}", path)


def test_the_merged_openapi_document_validates_and_has_every_route(stack, anonymous):
    response = anonymous.get(f"{PREFIX}/openapi.json")
    document = expect(response, 200)
    assert_rate_headers(response, "anonymous")
    validate(document)
    assert document["openapi"].startswith("3.")
    assert "x-unavailable-services" not in document["info"], document["info"]
    operations = {(method, _shape(path)) for path, item in document["paths"].items() for method in item
                  if method in ("get", "post", "put", "patch", "delete")}
    for method, path in SPEC_ROUTES + GATEWAY_ROUTES + [("post", "/plugins/{}/reviews"), ("post", "/environments")]:
        assert (method, _shape(PREFIX + path)) in operations, f"{method.upper()} {path} is not in the document"
    # Every public route each service documents is in the merged one.
    for service in SERVICES:
        own = requests.get(f"{stack.url(service.name)}/openapi.json", timeout=10).json()
        for path, item in own["paths"].items():
            if path.startswith(PREFIX + "/"):
                for method in item:
                    if method in ("get", "post", "put", "patch", "delete"):
                        assert (method, _shape(path)) in operations, f"{service.name}: {method} {path}"
    assert "bearerAuth" in document["components"]["securitySchemes"]


def test_the_served_document_is_the_committed_one(anonymous):
    """docs/openapi.json (what the SDKs generate their types from) is what the running gateway serves."""
    committed = json.loads((Path(__file__).resolve().parents[1] / "docs" / "openapi.json").read_text())
    served = expect(anonymous.get(f"{PREFIX}/openapi.json"), 200)
    assert served == committed, "docs/openapi.json is out of date: run `make openapi`"


def test_docs_page_is_html_pointing_at_the_document(anonymous):
    """The portal serves the reference (a page: it spends no API budget) with its own pinned assets."""
    response = anonymous.get(f"{PREFIX}/docs")
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/html")
    assert "<html" in response.text.lower() and f"{PREFIX}/openapi.json" in response.text
    assert "X-RateLimit-Limit" not in response.headers
    scripts = re.findall(r'<script[^>]*src="([^"]+)"', response.text)
    assert scripts and all(src.startswith("/static/") for src in scripts), scripts


def test_cors_preflight_and_exposed_headers(stack, anonymous, world):
    origin = "https://portal.example.com"
    preflight = requests.options(stack.gateway_url + PREFIX + f"/plugins/{world['plugin']['id']}/install",
                                 headers={"Origin": origin, "Access-Control-Request-Method": "POST",
                                          "Access-Control-Request-Headers": "authorization, content-type"},
                                 timeout=10)
    assert preflight.status_code in (200, 204), preflight.text
    assert preflight.headers["Access-Control-Allow-Origin"] in ("*", origin)
    assert "POST" in preflight.headers["Access-Control-Allow-Methods"]
    assert "authorization" in preflight.headers["Access-Control-Allow-Headers"].lower()
    response = anonymous.get("/plugins?limit=1", headers={"Origin": origin})
    expect(response, 200)
    assert response.headers["Access-Control-Allow-Origin"] in ("*", origin)
    exposed = {name.strip().lower() for name in response.headers["Access-Control-Expose-Headers"].split(",")}
    assert exposed >= {"x-request-id", "x-ratelimit-limit", "x-ratelimit-remaining", "x-ratelimit-reset"}
    assert response.headers["X-Content-Type-Options"] == "nosniff"


def _raw_request(url: str, head: str, body: bytes = b"") -> tuple[int, dict, bytes]:
    """Send a request by hand (to announce a body larger than the one sent) and read the whole answer."""
    parts = urlparse(url)
    with socket.create_connection((parts.hostname, parts.port), timeout=10) as sock:
        sock.sendall(head.encode() + body)
        chunks = []
        while True:
            try:
                chunk = sock.recv(65536)
            except ConnectionResetError:
                break
            if not chunk:
                break
            chunks.append(chunk)
            data = b"".join(chunks)
            if b"\r\n\r\n" in data:
                header_block, _, rest = data.partition(b"\r\n\r\n")
                length = re.search(rb"(?im)^content-length:\s*(\d+)", header_block)
                if length and len(rest) >= int(length[1]):
                    break
    data = b"".join(chunks)
    header_block, _, rest = data.partition(b"\r\n\r\n")
    lines = header_block.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    pairs = (line.split(":", 1) for line in lines[1:] if ":" in line)
    headers = {name.strip().lower(): value.strip() for name, value in pairs}
    return status, headers, rest


def test_an_oversize_body_is_413_in_the_envelope(stack, world):
    publisher = world["clients"]["publisher"]
    url = stack.gateway_url + PREFIX + "/plugins"
    announced = 60 * 1024 * 1024  # over MAX_CONTENT_LENGTH (50 MiB): refused before the body is read
    head = (f"POST {PREFIX}/plugins HTTP/1.1\r\nHost: {urlparse(url).netloc}\r\n"
            f"Authorization: Bearer {publisher.key}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {announced}\r\nConnection: close\r\n\r\n")
    status, headers, body = _raw_request(url, head, b'{"name": "')
    assert status == 413, body[:500]
    error = json.loads(body)
    assert error["error"]["code"] == "PAYLOAD_TOO_LARGE", error
    assert error["requestId"] == headers["x-request-id"]
    assert "x-ratelimit-remaining" in headers and "ratelimit-policy" in headers, headers
    # The gateway still serves the next caller.
    expect(publisher.get("/plugins?limit=1"), 200)


# -- a stopped upstream (keep last: it stops and restarts the review service) ----------------------

def test_a_stopped_upstream_is_503_in_the_envelope_then_recovers(stack, world):
    plugin_id = world["plugin"]["id"]
    anonymous, user = world["clients"]["anonymous"], world["clients"]["user"]
    service = next(s for s in SERVICES if s.name == "review-service")
    expect(anonymous.get(f"/plugins/{plugin_id}/reviews"), 200)
    # SIGINT is gunicorn's quick shutdown: no graceful wait on the gateway's kept-alive connections.
    stack.stop_process(service.name, signal.SIGINT)
    assert not stack.is_ready(service.name)
    try:
        for response, policy in ((anonymous.get(f"/plugins/{plugin_id}/reviews"), "anonymous"),
                                 (anonymous.get(f"/plugins/{plugin_id}/reviews"), "anonymous"),
                                 (user.post(f"/plugins/{plugin_id}/reviews",
                                            json={"rating": 3, "title": "x", "review": "y"}), "authenticated"),
                                 (user.get("/reviews/review_x"), "authenticated")):
            body = expect_error(response, 503, "SERVICE_UNAVAILABLE")
            assert response.headers["Content-Type"].startswith("application/json")
            assert body["requestId"].startswith("req_") and body["timestamp"], body
            assert "Traceback" not in response.text
            assert_rate_headers(response, policy)
        given = anonymous.get(f"/plugins/{plugin_id}/reviews", headers={"X-Request-Id": "req_e2e_outage"})
        assert expect_error(given, 503, "SERVICE_UNAVAILABLE")["requestId"] == "req_e2e_outage"
        # The other services still answer.
        expect(anonymous.get("/plugins?limit=1"), 200)
        expect(user.get("/me"), 200)
    finally:
        stack.start_web(service)
        stack.wait_until_ready(60)
    wait_for(lambda: anonymous.get(f"/plugins/{plugin_id}/reviews").status_code == 200, timeout=20,
             message="reviews to answer through the gateway again")
    expect(anonymous.get(f"/plugins/{plugin_id}/reviews"), 200)
    # Writes reach it again too, and the whole stack is ready for whatever runs next.
    expect(new_account(world["clients"]["admin"], "user").post(
        f"/plugins/{plugin_id}/reviews", json={"rating": 3, "title": "Back", "review": "Up again"}), 201)
    for other in SERVICES:
        assert stack.is_ready(other.name), other.name
