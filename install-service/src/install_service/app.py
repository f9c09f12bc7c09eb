"""The install service's Flask application."""

from marketplace_shared.api import create_service_app
from marketplace_shared.db import Database

from .config import Config
from .views import blp, environments_blp


def create_app(config: Config | None = None):
    config = config or Config()
    database = Database(config.DATABASE_URL)
    app, _api = create_service_app(config, database, "Plugin Marketplace installs", [blp, environments_blp])
    return app
