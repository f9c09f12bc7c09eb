"""The web portal is known by its shared secret (PORTAL_TOKEN), not by its address: a call that carries it is
the portal's (its X-Forwarded-For names the visitor; an anonymous visitor has a portal_visitor budget of their
own); a call without it, or with a wrong one, is an ordinary client's. Both ways in (fast path, Flask) alike."""

import pytest

from gateway.app import create_app
from gateway.migrate import migrate

from .test_admission import Paths

API = "/api/marketplace/v1"
TOKEN = "portal-secret-0123456789"
HEADER = "X-Marketplace-Portal-Token"
ANYWHERE = {"REMOTE_ADDR": "198.51.100.20"}  # the portal's address is nobody's business: not a trusted proxy


@pytest.fixture
def paths(config):
    config.RATE_LIMIT_ANONYMOUS = "3/hour"
    config.RATE_LIMIT_PORTAL_VISITOR = "6/hour"
    config.PORTAL_TOKEN = TOKEN
    migrate(config)
    return Paths(create_app(config))


@pytest.fixture(params=["fast", "flask"])
def entry(request, paths):
    """One way into the gateway: the fast WSGI path or Flask's hooks."""
    return getattr(paths, request.param)


def call(entry, visitor: str, token: str | None = TOKEN):
    headers = {"X-Forwarded-For": visitor}
    if token is not None:
        headers[HEADER] = token
    return entry.get(f"{API}/plugins", headers=headers, environ_base=ANYWHERE)


def test_the_portals_calls_for_anonymous_visitors_have_a_budget_per_visitor(entry):
    """A page costs the portal a few API calls: its visitors get RATE_LIMIT_PORTAL_VISITOR each, not the
    anonymous budget, and one visitor's spent budget is not another's."""
    statuses = [call(entry, "203.0.113.7").status_code for _ in range(7)]
    assert statuses == [200] * 6 + [429]
    assert call(entry, "203.0.113.7").headers["RateLimit-Policy"] == '"portal_visitor";q=6;w=3600'
    assert call(entry, "203.0.113.8").status_code == 200  # another visitor's budget is untouched


@pytest.mark.parametrize("token", [None, "", "portal-secret-0123456788", "é-not-ascii"])
def test_a_call_without_the_right_token_is_an_ordinary_clients(entry, token):
    """No trust without the token: the anonymous budget of the caller's own address, whatever it forwards."""
    first = call(entry, "203.0.113.7", token)
    assert first.status_code == 200 and first.headers["RateLimit-Policy"] == '"anonymous";q=3;w=3600'
    # Another claimed visitor is the same caller: X-Forwarded-For from an untrusted peer is not believed.
    assert [call(entry, f"203.0.113.{n}", token).status_code for n in range(8, 11)] == [200, 200, 429]


def test_without_a_configured_token_no_call_is_the_portals(config):
    config.RATE_LIMIT_PORTAL_VISITOR = "6/hour"
    config.PORTAL_TOKEN = None
    migrate(config)
    response = call(create_app(config).test_client(), "203.0.113.7", TOKEN)
    assert response.headers["RateLimit-Policy"] == '"anonymous";q=1000;w=3600'


def test_trusted_proxies_between_the_visitor_and_the_portal_are_skipped(config):
    """Behind a load balancer, the chain the portal passes on ends with it: the visitor is the hop before."""
    config.RATE_LIMIT_PORTAL_VISITOR = "2/hour"
    config.PORTAL_TOKEN = TOKEN
    config.TRUSTED_PROXIES = ["10.0.0.0/8"]
    migrate(config)
    client = create_app(config).test_client()
    assert [call(client, "203.0.113.7, 10.0.0.5").status_code for _ in range(3)] == [200, 200, 429]
    assert call(client, "203.0.113.8, 10.0.0.5").status_code == 200
    assert call(client, "203.0.113.7, 10.0.0.6").status_code == 429  # the same visitor through another proxy


def test_the_token_never_reaches_a_service(paths, upstreams):
    for entry in (paths.fast, paths.flask):
        assert call(entry, "203.0.113.7").status_code == 200
        seen = {name.lower(): value for name, value in upstreams["catalog"].requests[-1]["headers"].items()}
        assert HEADER.lower() not in seen and TOKEN not in seen.values()
