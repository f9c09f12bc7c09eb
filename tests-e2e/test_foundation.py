"""The foundation: every process answers, errors use the envelope, the catalog list has the spec's shape."""

import requests

from api_client import expect, expect_error
from stack import ALL


def test_every_service_is_alive_ready_and_measured(stack):
    for service in ALL:
        base = stack.url(service.name)
        assert requests.get(f"{base}/healthz", timeout=5).json()["status"] == "ok"
        ready = expect(requests.get(f"{base}/readyz", timeout=5), 200)
        assert ready["status"] == "ready"
        metrics = requests.get(f"{base}/metrics", timeout=5)
        assert metrics.status_code == 200 and "http_requests_total" in metrics.text


def test_plugin_list_has_the_spec_shape(anonymous):
    response = anonymous.get("/plugins")
    body = expect(response, 200)
    assert set(body) >= {"data", "pagination", "links", "metadata"}
    assert body["pagination"]["page"] == 1 and body["pagination"]["limit"] == 20
    assert body["metadata"]["requestId"] == response.headers["X-Request-Id"]
    assert body["links"]["self"].startswith("/api/marketplace/v1/plugins?page=1&limit=20")


def test_unknown_routes_answer_with_the_envelope(anonymous, stack):
    expect_error(anonymous.get("/no-such-thing"), 404, "NOT_FOUND")
    for service in ALL:
        # Under /api/: outside it the gateway hands paths to the web portal, whose 404 is a page.
        response = requests.get(f"{stack.url(service.name)}/api/no-such-thing", timeout=5)
        assert response.headers["Content-Type"].startswith("application/json")
        assert response.json()["error"]["code"] == "NOT_FOUND"
        assert response.json()["requestId"].startswith("req_")


def test_request_id_is_propagated(anonymous):
    response = anonymous.get("/plugins", headers={"X-Request-Id": "req_e2e_given"})
    assert response.headers["X-Request-Id"] == "req_e2e_given"
    assert response.json()["metadata"]["requestId"] == "req_e2e_given"
