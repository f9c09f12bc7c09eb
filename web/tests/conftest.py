import re

import pytest
from marketplace_web.app import create_app
from marketplace_web.config import Config
from marketplace_web.sessions import MemoryStore

from .fake_gateway import FakeGateway, FakeGatewayAdapter


@pytest.fixture
def fake():
    return FakeGateway()


@pytest.fixture
def app(fake):
    app = create_app(Config(SESSION_STORE=MemoryStore(3600), GATEWAY_URL="http://gateway.test"))
    app.extensions["web_clients"].adapter = FakeGatewayAdapter(fake)
    return app


@pytest.fixture
def client(app):
    return app.test_client()


def csrf_from(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, "no CSRF field on the page"
    return match.group(1)


def sign_in(client, key: str = "mkp_user"):
    token = csrf_from(client.get("/sign-in").get_data(as_text=True))
    response = client.post("/sign-in", data={"csrf_token": token, "api_key": key, "next": "/"})
    assert response.status_code == 303, response.get_data(as_text=True)
    return response


@pytest.fixture
def user_client(client):
    sign_in(client, "mkp_user")
    return client


@pytest.fixture
def admin_client(client):
    sign_in(client, "mkp_admin")
    return client
