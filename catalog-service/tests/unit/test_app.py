def test_list_plugins_has_the_spec_shape(client):
    response = client.get("/api/marketplace/v1/plugins")
    assert response.status_code == 200
    body = response.get_json()
    assert set(body) == {"data", "pagination", "links", "metadata"}
    assert body["pagination"]["page"] == 1 and body["pagination"]["limit"] == 20
    assert body["metadata"]["requestId"].startswith("req_")
    assert response.headers["X-Request-Id"] == body["metadata"]["requestId"]


def test_unknown_route_gives_the_error_envelope(client):
    response = client.get("/nope", headers={"X-Request-Id": "req_given"})
    assert response.status_code == 404
    body = response.get_json()
    assert body["error"]["code"] == "NOT_FOUND"
    assert body["requestId"] == "req_given"


def test_bad_query_parameter_is_a_validation_error(client):
    response = client.get("/api/marketplace/v1/plugins?limit=500")
    assert response.status_code == 400
    body = response.get_json()
    assert body["error"]["code"] == "VALIDATION_ERROR"
    assert "limit" in body["error"]["details"]["fields"]


def test_method_not_allowed_uses_the_envelope(client):
    response = client.delete("/api/marketplace/v1/plugins")
    assert response.status_code in (401, 405)
    assert response.get_json()["error"]["code"] in ("UNAUTHORIZED", "METHOD_NOT_ALLOWED")


def test_healthz_and_metrics(client):
    assert client.get("/healthz").get_json() == {"status": "ok"}
    client.get("/api/marketplace/v1/plugins")
    metrics = client.get("/metrics").get_data(as_text=True)
    assert "http_requests_total" in metrics
