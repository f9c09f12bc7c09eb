import shutil
import sys
from pathlib import Path

import pytest

from install_service.app import create_app
from install_service.config import Config
from install_service.deployer import FilesystemDeployer
from install_service.downloader import FakeDownloader
from install_service.handlers import HANDLERS
from install_service.jobs import JobRunner
from install_service.migrate import migrate
from install_service.models import OutboxEvent
from marketplace_shared.contracts import check_event
from marketplace_shared.testing import checked_events_fixture, database_fixture, migrated_template_fixture

sys.path.insert(0, str(Path(__file__).parent))  # install_testkit: the tests' factories
import install_testkit as factories  # noqa: E402

checked_events = checked_events_fixture(OutboxEvent)


@pytest.fixture
def config(tmp_path):
    return Config(DATABASE_URL=f"sqlite:///{tmp_path}/install.db", INSTALL_ROOT=str(tmp_path / "installs"))


migrated_template = migrated_template_fixture(Config, migrate, "install.db")
database = database_fixture()


@pytest.fixture
def app(config, migrated_template):
    shutil.copyfile(migrated_template, config.DATABASE_URL.removeprefix("sqlite:///"))
    return create_app(config)


@pytest.fixture
def client(app):
    return app.test_client()


class Catalog:
    """Feeds the read model through the real handlers, and the fake downloader with the packages."""

    def __init__(self, database, downloader):
        self.database = database
        self.downloader = downloader

    def apply(self, event: dict) -> None:
        check_event(event)  # as the catalog sends it
        with self.database.session() as session, session.begin():
            for handler in HANDLERS[event["type"]]:
                handler(session, event)

    def publish(self, name: str, versions=("1.0.0",), schema=None, plugin_id=None, **kwargs) -> str:
        plugin_id = plugin_id or factories.new_plugin_id()
        self.apply(factories.plugin_published(plugin_id, name, versions[0]))
        for version in versions:
            body = factories.make_tgz(factories.package_files(name, version))
            self.downloader.packages[(plugin_id, version)] = body
            self.apply(factories.version_published(plugin_id, name, version, body, schema, **kwargs))
        return plugin_id


@pytest.fixture
def downloader():
    return FakeDownloader()


@pytest.fixture
def catalog(database, downloader):
    return Catalog(database, downloader)


@pytest.fixture
def deployer(config):
    return FilesystemDeployer(config.INSTALL_ROOT)


@pytest.fixture
def runner(config, database, deployer, downloader):
    return JobRunner(config, database, deployer, downloader)
