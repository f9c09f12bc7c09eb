"""The client's HTTP behaviour: URLs, authentication, error mapping, retries and backoff."""

import time
from datetime import datetime, timedelta, timezone

import pytest
from sdk_fake_api import Reply, error_body

from backstage_marketplace import (
    Conflict,
    Forbidden,
    MarketplaceClient,
    MarketplaceConnectionError,
    MarketplaceError,
    NotFound,
    PluginNotFound,
    RateLimited,
    ServerError,
    ServiceUnavailable,
    Unauthorized,
    ValidationError,
)

LIST = {"data": [], "pagination": {"page": 1, "limit": 20, "total": 0, "totalPages": 0, "hasNextPage": False,
                                   "hasPrevPage": False}, "links": {}, "metadata": {}}


@pytest.mark.parametrize("given", ["https://portal.example.com", "https://portal.example.com/",
                                   "https://portal.example.com/api/marketplace/v1",
                                   "https://portal.example.com/api/marketplace/v1/"])
def test_base_url_is_the_portal_root_with_or_without_the_prefix(given):
    client = MarketplaceClient(base_url=given)
    assert client.base_url == "https://portal.example.com/api/marketplace/v1"
    assert client.url("/plugins") == "https://portal.example.com/api/marketplace/v1/plugins"
    assert client.url("/api/marketplace/v1/plugins?page=2") == "https://portal.example.com/api/marketplace/v1/plugins?page=2"


def test_base_url_must_be_http():
    with pytest.raises(ValueError):
        MarketplaceClient(base_url="portal.example.com")


def test_api_key_and_token_are_sent_as_bearer(api):
    api.route("GET", "/plugins", Reply(200, LIST))
    MarketplaceClient(api_key="mkp_k", base_url=api.url, trust_env=False).plugins.list()
    MarketplaceClient(token="jwt.token", base_url=api.url, trust_env=False).plugins.list()
    MarketplaceClient(base_url=api.url, trust_env=False).plugins.list()
    sent = [r.headers.get("Authorization") for r in api.requests_to("GET", "/plugins")]
    assert sent == ["Bearer mkp_k", "Bearer jwt.token", None]
    with pytest.raises(ValueError):
        MarketplaceClient(api_key="a", token="b")


def test_query_parameters_use_the_spec_names_and_values(api, client):
    api.route("GET", "/plugins", Reply(200, LIST))
    client.plugins.list(category="monitoring", verified=True, min_rating=4, tags=["a", "b"], featured=False)
    query = api.received[-1].query
    assert query == {"category": "monitoring", "verified": "true", "minRating": "4", "tags": "a,b",
                     "featured": "false"}


@pytest.mark.parametrize("status,code,cls", [
    (404, "PLUGIN_NOT_FOUND", PluginNotFound),
    (404, "NOT_FOUND", NotFound),
    (404, "INSTALLATION_NOT_FOUND", NotFound),
    (401, "UNAUTHORIZED", Unauthorized),
    (403, "FORBIDDEN", Forbidden),
    (409, "CONFLICT", Conflict),
    (400, "VALIDATION_ERROR", ValidationError),
    (500, "INTERNAL_ERROR", ServerError),
    (503, "SERVICE_UNAVAILABLE", ServiceUnavailable),
    (504, "GATEWAY_TIMEOUT", ServiceUnavailable),
    (429, "RATE_LIMITED", RateLimited),
    (418, "TEAPOT", MarketplaceError),
])
def test_errors_become_exceptions_by_code(api, client, status, code, cls):
    details = {"fields": {"limit": ["Must be between 1 and 100."]}} if code == "VALIDATION_ERROR" else {"x": 1}
    api.route("GET", "/plugins/xyz", Reply(status, error_body(code, f"{code} happened", details, "req_abc123"),
                                           {"X-Request-Id": "req_abc123", "Retry-After": "3600"}))
    with pytest.raises(MarketplaceError) as caught:
        client.plugins.get("xyz")
    error = caught.value
    assert type(error) is cls
    assert (error.code, error.message, error.status, error.request_id) == (code, f"{code} happened", status,
                                                                          "req_abc123")
    assert error.details == details
    assert "req_abc123" in str(error)
    if cls is ValidationError:
        assert error.fields == {"limit": ["Must be between 1 and 100."]}


def test_an_error_that_is_not_the_envelope_maps_by_status(api, client):
    client.max_retries = 0
    api.route("GET", "/plugins", Reply(502, b"<html>Bad gateway</html>", {"Content-Type": "text/html"}))
    with pytest.raises(ServiceUnavailable) as caught:
        client.plugins.list()
    assert caught.value.status == 502 and "Bad gateway" in caught.value.message


def test_429_is_retried_after_the_retry_after_delay(api):
    client = MarketplaceClient(base_url=api.url, max_retries=2, trust_env=False)
    limited = Reply(429, error_body("RATE_LIMITED", "Too many requests"), {"Retry-After": "0.2"})
    api.route("GET", "/plugins", [limited, Reply(200, LIST)])
    started = time.monotonic()
    page = client.plugins.list()
    assert time.monotonic() - started >= 0.2
    assert page.total == 0
    assert len(api.requests_to("GET", "/plugins")) == 2


def test_429_without_retry_after_waits_until_the_reset_time(api, client):
    reset = (datetime.now(timezone.utc) + timedelta(seconds=5)).strftime("%Y-%m-%dT%H:%M:%SZ")
    api.route("GET", "/plugins", [Reply(429, error_body("RATE_LIMITED", "slow down"),
                                        {"X-RateLimit-Reset": reset, "X-RateLimit-Limit": "10",
                                         "X-RateLimit-Remaining": "0"}),
                                  Reply(200, LIST, {"X-RateLimit-Limit": "10", "X-RateLimit-Remaining": "9",
                                                    "X-RateLimit-Reset": reset})])
    client.plugins.list()
    assert len(client.slept) == 1 and 3.5 <= client.slept[0] <= 5.0
    assert client.rate_limit.limit == 10 and client.rate_limit.remaining == 9
    assert client.rate_limit.reset == datetime.fromisoformat(reset.replace("Z", "+00:00"))


def test_retries_give_up_with_rate_limited_and_its_reset_time(api, client):
    reset = "2030-01-01T00:00:00Z"
    api.route("GET", "/plugins", Reply(429, error_body("RATE_LIMITED", "Too many requests", request_id="req_rl"),
                                       {"Retry-After": "1", "X-RateLimit-Reset": reset, "X-RateLimit-Limit": "5",
                                        "X-RateLimit-Remaining": "0", "X-Request-Id": "req_rl"}))
    with pytest.raises(RateLimited) as caught:
        client.plugins.list()
    assert client.slept == [1.0, 1.0, 1.0]
    assert len(api.requests_to("GET", "/plugins")) == 4
    error = caught.value
    assert error.retry_after == 1.0 and error.limit == 5 and error.remaining == 0
    assert error.reset == datetime(2030, 1, 1, tzinfo=timezone.utc)
    assert error.request_id == "req_rl"


def test_a_wait_longer_than_the_bound_is_not_slept(api, client):
    api.route("GET", "/plugins", Reply(429, error_body("RATE_LIMITED", "Too many requests"), {"Retry-After": "3600"}))
    with pytest.raises(RateLimited) as caught:
        client.plugins.list()
    assert client.slept == [] and caught.value.retry_after == 3600


def test_5xx_backoff_is_exponential(api, client):
    api.route("GET", "/plugins", Reply(503, error_body("SERVICE_UNAVAILABLE", "down")))
    with pytest.raises(ServiceUnavailable):
        client.plugins.list()
    assert len(client.slept) == 3
    for attempt, delay in enumerate(client.slept):
        assert 0.5 * 2 ** attempt <= delay <= 0.5 * 2 ** attempt * 1.25


def test_post_is_retried_on_503_and_429_but_not_on_502_504(api, client):
    body = {"data": {"installationId": "install_1", "status": "pending"}}
    api.route("POST", "/plugins/p/install", [Reply(503, error_body("SERVICE_UNAVAILABLE", "down")),
                                             Reply(429, error_body("RATE_LIMITED", "later"), {"Retry-After": "0"}),
                                             Reply(202, body)])
    assert client.plugins.install("p", {"version": "1.0.0"})["installationId"] == "install_1"
    assert len(api.requests_to("POST", "/plugins/p/install")) == 3

    api.route("POST", "/plugins/q/install", [Reply(504, error_body("GATEWAY_TIMEOUT", "slow")), Reply(202, body)])
    with pytest.raises(ServiceUnavailable):
        client.plugins.install("q", {"version": "1.0.0"})
    assert len(api.requests_to("POST", "/plugins/q/install")) == 1

    # With an Idempotency-Key the server dedupes, so a 504 may be retried.
    api.route("POST", "/plugins/q/install", [Reply(504, error_body("GATEWAY_TIMEOUT", "slow")), Reply(202, body)])
    client.plugins.install("q", {"version": "1.0.0"}, idempotency_key="key-1")
    sent = api.requests_to("POST", "/plugins/q/install")
    assert len(sent) == 3 and sent[-1].headers["Idempotency-Key"] == "key-1"


def test_get_is_retried_on_504(api, client):
    api.route("GET", "/plugins/p", [Reply(504, error_body("GATEWAY_TIMEOUT", "slow")),
                                    Reply(200, {"data": {"id": "p"}})])
    assert client.plugins.get("p") == {"id": "p"}


def test_unreachable_server_raises_a_connection_error(client):
    client.base_url = "http://127.0.0.1:9/api/marketplace/v1"
    with pytest.raises(MarketplaceConnectionError):
        client.plugins.list()
    assert len(client.slept) == 3


def test_the_spec_python_example_runs_as_written(api):
    """The SDK section of the spec, with only the URL pointed at the fake API."""
    api.route("GET", "/plugins", Reply(200, LIST))
    api.route("POST", "/plugins/plugin_123/install",
              Reply(202, {"data": {"installationId": "install_abc123", "pluginId": "plugin_123",
                                   "status": "in_progress"}}))
    from backstage_marketplace import MarketplaceClient

    client = MarketplaceClient(
        api_key='YOUR_API_KEY',
        base_url=api.url,
    )

    # List plugins
    plugins = client.plugins.list(
        category='monitoring',
        verified=True
    )

    # Install a plugin
    installation = client.plugins.install('plugin_123', {
        'version': '1.2.3',
        'environment': 'production'
    })
    assert plugins["data"] == [] and plugins.total == 0
    assert installation["installationId"] == "install_abc123"
    assert api.received[-1].json() == {"version": "1.2.3", "environment": "production"}
    assert api.received[0].query == {"category": "monitoring", "verified": "true"}
