"""The catalog's Flask application."""

from sqlalchemy.exc import IntegrityError

from marketplace_shared.api import create_service_app
from marketplace_shared.db import Database
from marketplace_shared.errors import CONFLICT, error_response

from .bluemind import blp as addons_blp
from .config import Config
from .views import blp


def create_app(config: Config | None = None):
    config = config or Config()
    database = Database(config.DATABASE_URL)
    app, _api = create_service_app(config, database, "Plugin Marketplace catalog", [blp, addons_blp])
    app.register_error_handler(IntegrityError, _conflict)
    return app


def _conflict(_error: IntegrityError):
    # Two requests raced for the same unique name or version; the loser gets the spec's 409.
    return error_response(409, CONFLICT, "The change conflicts with another one")
