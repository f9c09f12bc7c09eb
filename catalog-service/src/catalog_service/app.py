"""The catalog's Flask application."""

from marketplace_shared.api import create_service_app
from marketplace_shared.db import Database

from .bluemind import blp as addons_blp
from .config import Config
from .views import blp


def create_app(config: Config | None = None):
    config = config or Config()
    database = Database(config.DATABASE_URL)
    app, _api = create_service_app(config, database, "Plugin Marketplace catalog", [blp, addons_blp])
    return app
