def test_unknown_route_gives_the_error_envelope(client):
    response = client.get("/nope")
    assert response.status_code == 404
    body = response.get_json()
    assert body["error"]["code"] == "NOT_FOUND"
    assert body["requestId"].startswith("req_")


def test_healthz(client):
    assert client.get("/healthz").get_json() == {"status": "ok"}
