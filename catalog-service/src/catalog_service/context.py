"""What both blueprints (views.py, bluemind.py) take from the running app and the request: the config and blob
store that create_app built, multipart parts, and a change committed together with its blobs."""

import json
from contextlib import contextmanager

import marshmallow as ma
from flask import current_app, request
from sqlalchemy.exc import IntegrityError

from marketplace_shared.errors import CONFLICT, UNSUPPORTED_MEDIA_TYPE, ApiError, validation_error

from . import services


def config():
    return current_app.extensions["service_config"]


def blob_store():
    """The artifact store create_app built."""
    return current_app.extensions["blob_store"]


def require_multipart():
    if not (request.mimetype or "").startswith("multipart/form-data"):
        raise ApiError(415, UNSUPPORTED_MEDIA_TYPE, "Send multipart/form-data")


def load_json_part(name: str, schema: ma.Schema, required_message: str | None = None) -> dict:
    """A JSON document sent as a form field or a file part, validated by the schema."""
    raw = request.form.get(name)
    if raw is None and name in request.files:
        raw = request.files[name].read(1024 * 1024).decode("utf-8", errors="replace")
    if raw is None:
        raise validation_error(required_message or f"The '{name}' part is required",
                               {"fields": {name: ["Missing data for required field."]}})
    try:
        document = json.loads(raw)
    except ValueError as exc:
        raise validation_error(f"The '{name}' part is not valid JSON", {"fields": {name: ["Not valid JSON."]}}) from exc
    if not isinstance(document, dict):
        raise validation_error(f"The '{name}' part must be a JSON object", {"fields": {name: ["Not an object."]}})
    try:
        return schema.load(document)
    except ma.ValidationError as exc:
        messages = exc.messages if isinstance(exc.messages, dict) else {"_schema": exc.messages}
        raise validation_error(f"Invalid request parameters: {', '.join(sorted(messages))}",
                               {"fields": messages}) from exc


@contextmanager
def committed_with_blobs(session, store):
    """Around a change that writes blobs: when it fails, roll back and delete the blobs it wrote; when it
    succeeds, commit (a conflict with a concurrent change is 409) and delete the blobs it replaced."""
    try:
        yield
    except Exception:
        session.rollback()
        services.discard_new_blobs(session, store)
        raise
    try:
        services.commit_with_blobs(session, store)
    except IntegrityError as exc:
        raise ApiError(409, CONFLICT, "The change conflicts with another one; try again") from exc
