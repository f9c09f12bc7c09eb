"""The webhook service's Flask application."""

from marketplace_shared.api import create_service_app
from marketplace_shared.db import Database

from .config import Config
from .views import blp


def create_app(config: Config | None = None, resolver=None):
    """`resolver(host, port) -> [addresses]` replaces DNS when checking webhook URLs (tests)."""
    config = config or Config()
    database = Database(config.DATABASE_URL)
    app, _api = create_service_app(config, database, "Plugin Marketplace webhooks", [blp])
    if resolver is not None:
        app.extensions["webhook_resolver"] = resolver
    return app
