import pytest

from webhook_service.app import create_app
from webhook_service.config import Config
from webhook_service.migrate import migrate


@pytest.fixture
def config(tmp_path):
    return Config(DATABASE_URL=f"sqlite:///{tmp_path}/webhook.db")


@pytest.fixture
def app(config):
    migrate(config)
    return create_app(config)


@pytest.fixture
def client(app):
    return app.test_client()
