import shutil
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from catalog_testkit import headers_for  # noqa: E402

from catalog_service.app import create_app  # noqa: E402
from catalog_service.config import Config  # noqa: E402
from catalog_service.migrate import migrate  # noqa: E402
from catalog_service.models import OutboxEvent  # noqa: E402
from marketplace_shared.testing import checked_events_fixture  # noqa: E402

checked_events = checked_events_fixture(OutboxEvent)


@pytest.fixture
def config(tmp_path):
    return Config(DATABASE_URL=f"sqlite:///{tmp_path}/catalog.db", ARTIFACT_ROOT=str(tmp_path / "artifacts"),
                  MAX_PACKAGE_BYTES=64 * 1024, MAX_IMAGE_BYTES=16 * 1024)


@pytest.fixture(scope="session")
def migrated_template(tmp_path_factory):
    """Migrate one SQLite file per test session; each test starts from a copy of it."""
    path = tmp_path_factory.mktemp("template") / "catalog.db"
    migrate(Config(DATABASE_URL=f"sqlite:///{path}"))
    return path


@pytest.fixture
def app(config, migrated_template, tmp_path):
    for suffix in ("", "-wal", "-shm"):
        source = Path(str(migrated_template) + suffix)
        if source.exists():
            shutil.copyfile(source, tmp_path / f"catalog.db{suffix}")
    app = create_app(config)
    yield app
    app.extensions["database"].dispose()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def publisher(config):
    return headers_for(config)


@pytest.fixture
def other_publisher(config):
    return headers_for(config, account="acct_other", name="Olga Other", email="olga@example.com")


@pytest.fixture
def admin(config):
    return headers_for(config, account="acct_admin", role="admin", name="Ada Admin", email="ada@example.com")


@pytest.fixture
def user(config):
    return headers_for(config, account="acct_user", role="user", name="Uma User", email="uma@example.com")


