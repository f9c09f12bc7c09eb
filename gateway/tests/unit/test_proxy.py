import io
import json
import re

import pytest

from gateway.app import create_app
from gateway.routing import ClientAddresses, route_for

from ..conftest import FakeUpstream, make_account

API = "/api/marketplace/v1"


@pytest.mark.parametrize(("path", "target"), [
    (f"{API}/plugins", "catalog"),
    (f"{API}/plugins/p1", "catalog"),
    (f"{API}/plugins/search", "catalog"),
    (f"{API}/plugins/p1/stats", "catalog"),
    (f"{API}/plugins/p1/versions", "catalog"),
    (f"{API}/categories", "catalog"),
    (f"{API}/tags", "catalog"),
    ("/addons/api/plugins/", "catalog"),
    ("/addons/api/plugin_version/", "catalog"),
    (f"{API}/plugins/p1/install", "install"),
    (f"{API}/installations/i1", "install"),
    (f"{API}/installations", "install"),
    (f"{API}/environments/prod", "install"),
    (f"{API}/plugins/p1/reviews", "review"),
    (f"{API}/plugins/p1/reviews/r1", "review"),
    (f"{API}/reviews/r1/helpful", "review"),
    (f"{API}/webhooks", "webhook"),
    (f"{API}/webhooks/w1/deliveries", "webhook"),
    (f"{API}/admin/accounts", "gateway"),
    (f"{API}/me/api-keys", "gateway"),
    (f"{API}/api-keys/k1", "gateway"),
    (f"{API}/openapi.json", "gateway"),
    (f"{API}/nothing-here", None),
    ("/elsewhere", None),
    ("/api/marketplace/v2/plugins", None),
])
def test_routing_table(path, target):
    assert route_for(path) == target


def test_paths_and_queries_are_forwarded_unchanged(client, upstreams):
    response = client.get(f"{API}/plugins/a%20b/reviews?sort=rating&tags=x%2Cy&tags=z")
    assert response.status_code == 200
    seen = response.get_json()
    assert seen["service"] == "review"
    assert seen["target"] == f"{API}/plugins/a%20b/reviews?sort=rating&tags=x%2Cy&tags=z"
    assert response.headers["X-Upstream"] == "review"


def test_forwarded_and_hop_by_hop_headers(client, upstreams):
    response = client.get(f"{API}/tags", headers={
        "Connection": "keep-alive, X-Secret-Hop", "X-Secret-Hop": "1", "Keep-Alive": "timeout=5", "TE": "trailers",
        "X-Forwarded-For": "6.6.6.6", "X-Forwarded-Host": "evil.example", "X-Request-Id": "req_given_123",
        "Accept-Language": "fr"}, environ_overrides={"REMOTE_ADDR": "10.1.2.3"})
    seen = upstreams["catalog"].requests[-1]["headers"]
    lowered = {key.lower(): value for key, value in seen.items()}
    assert "x-secret-hop" not in lowered and "te" not in lowered and "keep-alive" not in lowered
    assert lowered["x-forwarded-for"] == "10.1.2.3"  # the client's own claim is not trusted
    assert lowered["x-forwarded-host"] == "localhost" and lowered["x-forwarded-proto"] == "http"
    assert lowered["x-request-id"] == "req_given_123" and lowered["accept-language"] == "fr"
    assert response.headers["X-Request-Id"] == "req_given_123"
    assert "Keep-Alive" not in response.headers  # the service's hop-by-hop headers stay on its hop
    assert response.headers["X-RateLimit-Limit"] == "1000"  # ours, not the service's


def test_forwarded_for_is_trusted_only_from_configured_proxies(config, upstreams):
    from gateway.migrate import migrate

    config.TRUSTED_PROXIES = ["10.0.0.0/8"]
    config.RATE_LIMIT_ANONYMOUS = "2/hour"
    migrate(config)
    client = create_app(config).test_client()
    via_proxy = {"environ_overrides": {"REMOTE_ADDR": "10.0.0.5"}}
    for _ in range(2):
        assert client.get(f"{API}/tags", headers={"X-Forwarded-For": "203.0.113.7, 10.0.0.9"}, **via_proxy) \
            .status_code == 200
    assert upstreams["catalog"].requests[-1]["headers"]["X-Forwarded-For"] == "203.0.113.7, 10.0.0.9, 10.0.0.5"
    # Limits follow the real client behind the proxy ...
    assert client.get(f"{API}/tags", headers={"X-Forwarded-For": "203.0.113.7"}, **via_proxy).status_code == 429
    assert client.get(f"{API}/tags", headers={"X-Forwarded-For": "203.0.113.8"}, **via_proxy).status_code == 200
    # ... while a client that is not a proxy cannot pick a fresh address for itself.
    direct = {"environ_overrides": {"REMOTE_ADDR": "198.51.100.1"}}
    for forwarded in ("1.1.1.1", "2.2.2.2"):
        client.get(f"{API}/tags", headers={"X-Forwarded-For": forwarded}, **direct)
    assert client.get(f"{API}/tags", headers={"X-Forwarded-For": "3.3.3.3"}, **direct).status_code == 429


def test_client_address_walks_past_trusted_hops():
    addresses = ClientAddresses(["10.0.0.0/8", "::1/128"])
    assert addresses.client_address("10.0.0.1", "1.2.3.4, 10.9.9.9") == "1.2.3.4"
    assert addresses.client_address("10.0.0.1", "garbage, 10.9.9.9") == "garbage"
    assert addresses.client_address("8.8.8.8", "1.2.3.4") == "8.8.8.8"
    assert ClientAddresses([]).client_address("10.0.0.1", "1.2.3.4") == "10.0.0.1"


def test_small_bodies_are_forwarded_whole_with_their_length(client, upstreams):
    _account, headers = make_account(client)
    search = {"query": "kube", "filters": {"tags": ["k8s"]}}
    response = client.post(f"{API}/plugins/search", json=search)  # anonymous: a search is a read
    assert response.status_code == 201  # the stand-in answers 201 to every POST
    seen = upstreams["catalog"].requests[-1]
    assert json.loads(seen["body"]) == search
    lowered = {key.lower(): value for key, value in seen["headers"].items()}
    assert lowered["content-length"] == str(len(seen["body"])) and lowered["content-type"] == "application/json"
    assert response.headers["X-RateLimit-Remaining"] and response.headers["X-Request-Id"]

    review = client.post(f"{API}/plugins/p1/reviews", json={"rating": 5}, headers=headers)
    assert review.status_code == 201 and json.loads(upstreams["review"].requests[-1]["body"]) == {"rating": 5}
    anonymous = client.post(f"{API}/plugins/p1/reviews", json={"rating": 5})
    assert anonymous.status_code == 401 and anonymous.get_json()["error"]["code"] == "UNAUTHORIZED"


def test_a_body_shorter_than_its_content_length_is_400(client, upstreams):
    before = len(upstreams["catalog"].requests)
    # As gunicorn would hand it over when the client stops sending early.
    response = client.post(f"{API}/plugins/search", input_stream=io.BytesIO(b'{"query": "k'),
                           environ_overrides={"CONTENT_LENGTH": "100"}, content_type="application/json")
    assert response.status_code == 400
    assert response.get_json()["error"]["code"] == "VALIDATION_ERROR"
    assert response.headers["X-RateLimit-Remaining"]
    assert len(upstreams["catalog"].requests) == before


def test_large_bodies_stream_both_ways(client, upstreams):
    _account, headers = make_account(client, "publisher")
    body = b"0123456789" * 150_000  # 1.5 MB, under the 2 MB limit
    response = client.post(f"{API}/plugins/p1/versions", data=body, headers={**headers,
                                                                               "Content-Type": "application/zip"})
    assert response.status_code == 201
    assert upstreams["catalog"].requests[-1]["body"] == body
    big = client.get(f"{API}/plugins/p1/big")
    assert big.status_code == 200 and big.data == b"x" * (1024 * 1024)
    assert big.headers["Content-Length"] == str(1024 * 1024)


def test_chunked_uploads_are_forwarded(client, upstreams):
    _account, headers = make_account(client, "publisher")

    body = b"abc" * 30_000 + b"def" * 30_000
    chunked = {"wsgi.input_terminated": True}  # what gunicorn sets for a chunked request
    response = client.post(f"{API}/plugins/p1/versions", input_stream=io.BytesIO(body), environ_overrides=chunked,
                           headers={**headers, "Transfer-Encoding": "chunked"})
    assert response.status_code == 201
    seen = upstreams["catalog"].requests[-1]
    assert seen["body"] == body and seen["headers"]["Transfer-Encoding"] == "chunked"
    too_big = client.post(f"{API}/plugins/p1/versions", input_stream=io.BytesIO(b"x" * (3 * 1024 * 1024)),
                          environ_overrides=chunked, headers={**headers, "Transfer-Encoding": "chunked"})
    assert too_big.status_code == 413 and too_big.get_json()["error"]["code"] == "PAYLOAD_TOO_LARGE"


def test_too_large_bodies_are_413(client, upstreams):
    _account, headers = make_account(client, "publisher")
    before = len(upstreams["catalog"].requests)
    response = client.post(f"{API}/plugins", data=b"x" * (2 * 1024 * 1024 + 1), headers=headers)
    assert response.status_code == 413
    assert response.get_json()["error"]["code"] == "PAYLOAD_TOO_LARGE"
    assert response.headers["X-RateLimit-Remaining"]
    assert len(upstreams["catalog"].requests) == before


def test_a_stopped_service_is_503_and_a_slow_one_504(config, upstreams):
    from gateway.migrate import migrate

    stopped = FakeUpstream("stopped")
    stopped.stop()
    config.REVIEW_URL = stopped.url
    config.UPSTREAM_READ_TIMEOUT = 0.3
    migrate(config)
    client = create_app(config).test_client()
    down = client.get(f"{API}/reviews/r1", headers={"X-Request-Id": "req_down_1"})
    assert down.status_code == 503
    body = down.get_json()
    assert body["error"]["code"] == "SERVICE_UNAVAILABLE" and body["requestId"] == "req_down_1"
    assert "Traceback" not in down.get_data(as_text=True)
    assert down.headers["X-RateLimit-Limit"] and down.headers["X-Request-Id"] == "req_down_1"
    slow = client.get(f"{API}/plugins/p1/slow")
    assert slow.status_code == 504
    assert slow.get_json()["error"]["code"] == "GATEWAY_TIMEOUT" and slow.headers["X-RateLimit-Reset"]
    assert client.get(f"{API}/plugins/p1").status_code == 200  # the pool recovers from a timed-out connection


def _multipart(parts: dict) -> tuple[bytes, str]:
    boundary = "b0undary4242"
    lines = []
    for name, (filename, content) in parts.items():
        disposition = f'form-data; name="{name}"' + (f'; filename="{filename}"' if filename else "")
        lines += [f"--{boundary}".encode(), f"Content-Disposition: {disposition}".encode(), b"", content]
    lines.append(f"--{boundary}--".encode())
    return b"\r\n".join(lines) + b"\r\n", f"multipart/form-data; boundary={boundary}"


def test_publisher_api_reads_the_key_from_the_json_part(client, upstreams):
    from marketplace_shared.identity import HEADER, decode_token

    from ..conftest import SECRET

    account, headers = make_account(client, "publisher")
    document = json.dumps({"api_key": headers["X-API-Key"], "name": "Super plugin"}).encode()
    body, content_type = _multipart({"json": (None, document), "thumbnail": ("t.png", b"\x89PNG" + b"\0" * 5000)})
    response = client.post("/addons/api/plugins/", data=body, content_type=content_type)
    assert response.status_code == 201
    seen = upstreams["catalog"].requests[-1]
    assert seen["body"] == body and seen["path"] == "/addons/api/plugins/"
    assert decode_token(SECRET, seen["headers"][HEADER]).id == account["id"]

    no_key, content_type = _multipart({"json": (None, b'{"name": "x"}')})
    assert client.post("/addons/api/plugins/", data=no_key, content_type=content_type).status_code == 401
    bad_key, content_type = _multipart({"json": (None, b'{"api_key": "mkp_wrong"}')})
    assert client.post("/addons/api/plugins/", data=bad_key, content_type=content_type).status_code == 401
    # An unreadable json part is the catalog's to explain (it answers 400); the gateway passes it on anonymously.
    garbled, content_type = _multipart({"json": (None, b"{not json")})
    passed = client.post("/addons/api/plugins/", data=garbled, content_type=content_type)
    assert passed.status_code == 201 and decode_token(SECRET, upstreams["catalog"].requests[-1]["headers"][HEADER]) \
        .role == "anonymous"
    missing, content_type = _multipart({"package": ("p.jar", b"PK")})
    assert client.post("/addons/api/plugin_version/", data=missing, content_type=content_type).status_code == 201
    # The api-key header works as well, and GETs carry it that way.
    assert client.get("/addons/api/plugins/", headers={"api-key": headers["X-API-Key"]}).status_code == 200
    assert decode_token(SECRET, upstreams["catalog"].requests[-1]["headers"][HEADER]).id == account["id"]


def test_publisher_upload_over_the_limit_is_413(client):
    body, content_type = _multipart({"json": (None, b'{"api_key": "k"}'), "package": ("p", b"x" * (2 * 1024 * 1024))})
    response = client.post("/addons/api/plugin_version/", data=body, content_type=content_type)
    assert response.status_code == 413


def test_security_and_cors_headers(client):
    response = client.get(f"{API}/plugins", headers={"Origin": "https://portal.example.com"})
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert "X-RateLimit-Remaining" in response.headers["Access-Control-Expose-Headers"]
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["X-Frame-Options"] == "DENY"
    assert "default-src 'none'" in response.headers["Content-Security-Policy"]
    preflight = client.options(f"{API}/plugins/p1/install", headers={
        "Origin": "https://portal.example.com", "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization, content-type"})
    assert preflight.status_code == 204
    assert "POST" in preflight.headers["Access-Control-Allow-Methods"]
    assert preflight.headers["Access-Control-Allow-Headers"] == "authorization, content-type"


def test_cors_only_for_listed_origins(config):
    from gateway.migrate import migrate

    config.CORS_ORIGINS = ["https://portal.example.com"]
    migrate(config)
    client = create_app(config).test_client()
    allowed = client.get(f"{API}/me", headers={"Origin": "https://portal.example.com"})
    assert allowed.headers["Access-Control-Allow-Origin"] == "https://portal.example.com"
    assert "Origin" in allowed.headers["Vary"]
    assert "Access-Control-Allow-Origin" not in client.get(f"{API}/me", headers={"Origin": "https://evil"}).headers


def test_unknown_paths_are_404_in_the_envelope(client):
    response = client.get(f"{API}/nothing-here")
    assert response.status_code == 404 and response.get_json()["error"]["code"] == "NOT_FOUND"
    assert re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$", response.headers["X-RateLimit-Reset"])


def test_publisher_api_reads_the_key_from_a_urlencoded_form(client, upstreams):
    """`requests.post(URL, data={'json': ...})` with no file sends a urlencoded form, not multipart."""
    from urllib.parse import urlencode

    from marketplace_shared.identity import HEADER, decode_token

    from ..conftest import SECRET

    account, headers = make_account(client, "publisher")
    body = urlencode({"json": json.dumps({"api_key": headers["X-API-Key"], "name": "Süper plugin"})})
    response = client.post("/addons/api/plugins/", data=body, content_type="application/x-www-form-urlencoded")
    assert response.status_code == 201
    seen = upstreams["catalog"].requests[-1]
    assert seen["body"] == body.encode()
    assert decode_token(SECRET, seen["headers"][HEADER]).id == account["id"]
    no_key = urlencode({"json": json.dumps({"name": "x"})})
    assert client.post("/addons/api/plugins/", data=no_key,
                       content_type="application/x-www-form-urlencoded").status_code == 401
