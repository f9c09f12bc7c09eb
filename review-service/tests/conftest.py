import pytest

from review_service.app import create_app
from review_service.config import Config
from review_service.migrate import migrate


@pytest.fixture
def config(tmp_path):
    return Config(DATABASE_URL=f"sqlite:///{tmp_path}/review.db")


@pytest.fixture
def app(config):
    migrate(config)
    return create_app(config)


@pytest.fixture
def client(app):
    return app.test_client()
