"""The catalog's Flask application."""

import logging

from marketplace_shared.api import create_service_app
from marketplace_shared.db import Database
from marketplace_shared.errors import SERVICE_UNAVAILABLE, VALIDATION_ERROR, error_response

from .blobs import BlobError, BlobStore, InvalidBlobKey, blob_store_from_config
from .bluemind import blp as addons_blp
from .config import Config
from .jsonprovider import OrjsonProvider, read_json_column
from .textsearch import text_search_for
from .views import blp

log = logging.getLogger(__name__)


def create_app(config: Config | None = None, blob_store: BlobStore | None = None):
    """The catalog app; `blob_store` defaults to the one the config names (a local folder or S3)."""
    config = config or Config()
    # Every listed plugin carries two JSON columns (tags, platforms): read with orjson, 5 us less each.
    database = Database(config.DATABASE_URL, json_deserializer=read_json_column)
    app, _api = create_service_app(config, database, "Plugin Marketplace catalog", [blp, addons_blp])
    app.extensions["blob_store"] = blob_store or blob_store_from_config(config)
    app.extensions["text_search"] = text_search_for(database.engine)  # FTS5 or PostgreSQL, chosen once
    app.json = OrjsonProvider(app)  # the list and search pages are the largest bodies served
    app.register_error_handler(BlobError, _blob_error)
    app.register_error_handler(InvalidBlobKey, _invalid_blob_key)
    return app


def _blob_error(error: BlobError):
    # The artifact store failed or lost a file the database names: the client may try again later.
    log.warning("artifact store: %s", error)
    return error_response(503, SERVICE_UNAVAILABLE, "The artifact store is unavailable, try again later")


def _invalid_blob_key(_error: InvalidBlobKey):
    return error_response(400, VALIDATION_ERROR, "Invalid storage key")
