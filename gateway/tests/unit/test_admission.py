"""The one admission and header policy: the fast WSGI path and the Flask path answer the same request alike."""

import re

import pytest
from werkzeug.test import Client

from gateway.fastpath import FastProxy

from ..conftest import ADMIN, FakeUpstream, make_account

API = "/api/marketplace/v1"
# Values that differ between two requests by nature: the count spent so far, the clock, the upstream's echo.
VOLATILE = {"x-ratelimit-remaining", "ratelimit", "x-ratelimit-reset", "content-length", "date"}


class Paths:
    """The same gateway entered two ways: through the fast path, and straight into Flask's hooks."""

    def __init__(self, app):
        flask_wsgi = app.wsgi_app.flask_wsgi
        self.flask_calls = 0

        def counted(environ, start_response):
            self.flask_calls += 1
            return flask_wsgi(environ, start_response)

        self.fast = Client(FastProxy(counted, app.extensions["gateway"]))
        self.flask = Client(flask_wsgi)

    def both(self, method: str, path: str, fast_expected: bool = True, **kwargs):
        before = self.flask_calls
        fast = self.fast.open(path, method=method, **kwargs)
        fast_body = fast.get_data()
        took_it = self.flask_calls == before
        flask = self.flask.open(path, method=method, **kwargs)
        flask_body = flask.get_data()
        assert took_it == fast_expected, f"the fast path {'did not take' if fast_expected else 'took'} {path}"
        return fast, fast_body, flask, flask_body


def _comparable(response) -> dict:
    headers = {}
    for name, value in response.headers.items():
        lower = name.lower()
        headers.setdefault(lower, []).append(value if lower not in VOLATILE else "")
    return headers


def _assert_same(fast, flask) -> None:
    assert fast.status_code == flask.status_code, (fast.status_code, flask.status_code)
    assert _comparable(fast) == _comparable(flask)
    if "X-RateLimit-Remaining" in fast.headers:
        # The second request spent one more of the same budget.
        assert int(fast.headers["X-RateLimit-Remaining"]) == int(flask.headers["X-RateLimit-Remaining"]) + 1
        assert re.fullmatch(r'"\w+";r=\d+;t=\d+', flask.headers["RateLimit"])


@pytest.fixture
def paths(app):
    return Paths(app)


@pytest.mark.parametrize("origin", [None, "https://portal.example.com"])
def test_a_small_body_alike_on_both_paths(client, paths, upstreams, origin):
    _account, key = make_account(client)
    headers = {**key, "X-Request-Id": "req_same_1", **({"Origin": origin} if origin else {})}
    fast, fast_body, flask, flask_body = paths.both("POST", f"{API}/plugins/p1/reviews", json={"rating": 5},
                                                    headers=headers)
    assert fast.status_code == 201 and fast_body == flask_body
    _assert_same(fast, flask)
    assert fast.headers["X-Request-Id"] == "req_same_1" and fast.headers["X-Content-Type-Options"] == "nosniff"
    assert ("Access-Control-Allow-Origin" in fast.headers) == bool(origin)


def test_a_streamed_response_alike_on_both_paths(paths, upstreams):
    fast, fast_body, flask, flask_body = paths.both("GET", f"{API}/plugins/p1/big",
                                                    headers={"X-Forwarded-Proto": "https", "X-Request-Id": "req_4"})
    assert fast.status_code == 200 and fast_body == flask_body == b"x" * (1024 * 1024)
    _assert_same(fast, flask)
    assert fast.headers["Content-Length"] == flask.headers["Content-Length"] == str(1024 * 1024)


def test_a_streamed_request_body_alike_through_both_entries(client, paths, upstreams):
    """A chunked upload is always Flask's: the fast entry hands it over and the answer is the same."""
    _account, key = make_account(client, "publisher")
    body = b"abc" * 40_000
    kwargs = {"headers": {**key, "Transfer-Encoding": "chunked", "X-Request-Id": "req_same_2"},
              "environ_overrides": {"wsgi.input_terminated": True}}
    fast, _fast_body, flask, _flask_body = paths.both("POST", f"{API}/plugins/p1/versions", fast_expected=False,
                                                      data=body, **kwargs)
    assert fast.status_code == 201
    _assert_same(fast, flask)
    assert upstreams["catalog"].requests[-1]["body"] == upstreams["catalog"].requests[-2]["body"] == body


@pytest.mark.parametrize(("method", "path", "headers", "status"), [
    ("POST", f"{API}/plugins/p1/reviews", {}, 401),  # a write without credentials
    ("GET", f"{API}/plugins", {"Authorization": "Bearer mkp_nope"}, 401),  # a bad key, even for a read
    ("GET", f"{API}/plugins", {"Authorization": "Basic abc"}, 401),
    ("GET", f"{API}/plugins", ADMIN, 200),
    ("POST", f"{API}/plugins/search", {}, 201),  # a public write
])
def test_admission_alike_on_both_paths(paths, method, path, headers, status):
    fast, fast_body, flask, flask_body = paths.both(method, path, fast_expected=status < 400,
                                                    json={"query": "x"} if method == "POST" else None,
                                                    headers={**headers, "X-Request-Id": "req_same_3"})
    assert fast.status_code == status
    _assert_same(fast, flask)
    if status >= 400:
        assert fast.get_json()["error"] == flask.get_json()["error"]


def test_rate_limited_and_unavailable_alike_on_both_paths(config):
    from gateway.app import create_app
    from gateway.migrate import migrate

    stopped = FakeUpstream("stopped")
    stopped.stop()
    config.REVIEW_URL = stopped.url
    config.RATE_LIMIT_ANONYMOUS = "3/hour"
    migrate(config)
    paths = Paths(create_app(config))
    fast, _fb, flask, _b = paths.both("GET", f"{API}/reviews/r1", fast_expected=False,
                                      headers={"X-Request-Id": "req_same_5"})
    assert fast.status_code == 503 and fast.get_json()["error"]["code"] == "SERVICE_UNAVAILABLE"
    _assert_same(fast, flask)
    paths.fast.get(f"{API}/tags")  # the third of three
    fast, _fb, flask, _b = paths.both("GET", f"{API}/tags", fast_expected=False, headers={"X-Request-Id": "req_6"})
    assert fast.status_code == 429 and fast.headers["Retry-After"] == flask.headers["Retry-After"]
    assert fast.headers["X-RateLimit-Remaining"] == flask.headers["X-RateLimit-Remaining"] == "0"
    assert _comparable(fast) == _comparable(flask)
