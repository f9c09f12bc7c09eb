"""The shared app: envelope for every error, request ids, write guard, health and metrics."""

import marshmallow as ma
import pytest
from flask import abort

from marketplace_shared.api import API_PREFIX, Blueprint, create_service_app
from marketplace_shared.config import BaseConfig
from marketplace_shared.db import Database
from marketplace_shared.errors import ApiError
from marketplace_shared.identity import Identity, issue_token
from marketplace_shared.pagination import links_block, pagination_block


class Body(ma.Schema):
    rating = ma.fields.Integer(required=True, strict=True)


@pytest.fixture
def client(tmp_path):
    config = BaseConfig(DATABASE_URL=f"sqlite:///{tmp_path}/t.db", MAX_CONTENT_LENGTH=1024)
    config.SERVICE_NAME = "test-service"
    blp = Blueprint("things", __name__, url_prefix=API_PREFIX)

    @blp.route("/things", methods=["POST"])
    @blp.arguments(Body)
    def create(body):
        return {"data": body}

    @blp.route("/boom")
    def boom():
        raise RuntimeError("secret detail")

    @blp.route("/teapot")
    def teapot():
        raise ApiError(409, "CONFLICT", "Already there", {"hint": "PATCH it"})

    @blp.route("/aborted")
    def aborted():
        abort(403)

    app, _ = create_service_app(config, Database(config.DATABASE_URL), "Test", [blp], uses_broker=False)
    app.config["TOKEN"] = issue_token(config.INTERNAL_TOKEN_SECRET, Identity(id="acct_1", role="user"))
    return app.test_client()


def auth(client):
    return {"X-Marketplace-Identity": client.application.config["TOKEN"]}


def assert_envelope(response, status, code):
    assert response.status_code == status
    assert response.mimetype == "application/json"
    body = response.get_json()
    assert body["error"]["code"] == code
    assert set(body) == {"error", "timestamp", "requestId"}
    assert body["requestId"] == response.headers["X-Request-Id"]
    return body


def test_validation_errors_name_each_field(client):
    body = assert_envelope(client.post(f"{API_PREFIX}/things", json={"rating": "x", "extra": 1},
                                       headers=auth(client)), 400, "VALIDATION_ERROR")
    assert set(body["error"]["details"]["fields"]) == {"rating", "extra"}


def test_writes_without_the_gateway_token_are_refused(client):
    assert_envelope(client.post(f"{API_PREFIX}/things", json={"rating": 1}), 401, "UNAUTHORIZED")
    forged = {"X-Marketplace-Identity": "not-a-token"}
    assert_envelope(client.post(f"{API_PREFIX}/things", json={"rating": 1}, headers=forged), 401, "UNAUTHORIZED")
    assert client.post(f"{API_PREFIX}/things", json={"rating": 1}, headers=auth(client)).status_code == 200


def test_unexpected_errors_hide_the_detail(client):
    body = assert_envelope(client.get(f"{API_PREFIX}/boom"), 500, "INTERNAL_ERROR")
    assert "secret" not in str(body)


def test_flask_errors_use_the_envelope(client):
    assert_envelope(client.get("/nowhere"), 404, "NOT_FOUND")
    refused = client.put(f"{API_PREFIX}/boom", headers=auth(client))
    body = assert_envelope(refused, 405, "METHOD_NOT_ALLOWED")
    assert refused.headers["Allow"] == ", ".join(body["error"]["details"]["allowed"])
    assert "GET" in refused.headers["Allow"]
    assert_envelope(client.get(f"{API_PREFIX}/aborted"), 403, "FORBIDDEN")
    assert_envelope(client.post(f"{API_PREFIX}/things", data="x" * 5000, headers=auth(client),
                                content_type="application/json"), 413, "PAYLOAD_TOO_LARGE")
    body = assert_envelope(client.get(f"{API_PREFIX}/teapot"), 409, "CONFLICT")
    assert body["error"]["details"] == {"hint": "PATCH it"}


def test_request_id_is_kept_or_generated(client):
    assert client.get("/healthz", headers={"X-Request-Id": "req_mine"}).headers["X-Request-Id"] == "req_mine"
    generated = client.get("/healthz", headers={"X-Request-Id": "bad id with spaces"}).headers["X-Request-Id"]
    assert generated.startswith("req_")


def test_readyz_and_metrics(client):
    assert client.get("/readyz").get_json()["checks"] == {"database": "ok"}
    client.get("/healthz")
    assert b"http_request_duration_seconds" in client.get("/metrics").data


def test_pagination_and_links(client):
    with client.application.test_request_context("/api/marketplace/v1/plugins?page=2&limit=20&category=x"):
        assert pagination_block(2, 20, 45) == {"page": 2, "limit": 20, "total": 45, "totalPages": 3,
                                                "hasNextPage": True, "hasPrevPage": True}
        links = links_block(2, 20, 45)
        assert links["self"] == "/api/marketplace/v1/plugins?page=2&limit=20&category=x"
        assert links["next"].startswith("/api/marketplace/v1/plugins?page=3&limit=20")
        assert links["prev"].startswith("/api/marketplace/v1/plugins?page=1")
        assert links["last"].startswith("/api/marketplace/v1/plugins?page=3")
    with client.application.test_request_context("/x"):
        empty = links_block(1, 20, 0)
        assert "next" not in empty and "prev" not in empty and empty["last"] == "/x?page=1&limit=20"
