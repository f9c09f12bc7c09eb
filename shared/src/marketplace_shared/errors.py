"""The spec's error envelope, its codes, and the handlers that make every error use it."""

import logging

from flask import Flask, g, jsonify
from sqlalchemy.exc import IntegrityError
from werkzeug.exceptions import HTTPException

from .clock import utc_now_iso

log = logging.getLogger(__name__)

# Codes from the spec plus the ones its silence required; one place to look them up.
PLUGIN_NOT_FOUND = "PLUGIN_NOT_FOUND"
NOT_FOUND = "NOT_FOUND"
UNAUTHORIZED = "UNAUTHORIZED"
FORBIDDEN = "FORBIDDEN"
RATE_LIMITED = "RATE_LIMITED"
VALIDATION_ERROR = "VALIDATION_ERROR"
CONFLICT = "CONFLICT"
METHOD_NOT_ALLOWED = "METHOD_NOT_ALLOWED"
PAYLOAD_TOO_LARGE = "PAYLOAD_TOO_LARGE"
UNSUPPORTED_MEDIA_TYPE = "UNSUPPORTED_MEDIA_TYPE"
INTERNAL_ERROR = "INTERNAL_ERROR"
SERVICE_UNAVAILABLE = "SERVICE_UNAVAILABLE"
GATEWAY_TIMEOUT = "GATEWAY_TIMEOUT"

STATUS_CODES = {
    400: VALIDATION_ERROR,
    401: UNAUTHORIZED,
    403: FORBIDDEN,
    404: NOT_FOUND,
    405: METHOD_NOT_ALLOWED,
    409: CONFLICT,
    413: PAYLOAD_TOO_LARGE,
    415: UNSUPPORTED_MEDIA_TYPE,
    422: VALIDATION_ERROR,
    429: RATE_LIMITED,
    500: INTERNAL_ERROR,
    503: SERVICE_UNAVAILABLE,
    504: GATEWAY_TIMEOUT,
}


class ApiError(Exception):
    """An error a use case raises; the handler renders it in the envelope."""

    def __init__(self, status: int, code: str, message: str, details: dict | None = None,
                 headers: dict | None = None):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.details = details or {}
        self.headers = headers or {}


def not_found(code: str, message: str, **details) -> ApiError:
    return ApiError(404, code, message, details)


def validation_error(message: str, details: dict | None = None) -> ApiError:
    return ApiError(400, VALIDATION_ERROR, message, details)


def conflict(message: str, **details) -> ApiError:
    return ApiError(409, CONFLICT, message, details)


def forbidden(message: str = "Insufficient permissions") -> ApiError:
    return ApiError(403, FORBIDDEN, message)


def unauthorized(message: str = "Authentication required") -> ApiError:
    return ApiError(401, UNAUTHORIZED, message)


def envelope(code: str, message: str, details: dict | None = None, request_id: str | None = None) -> dict:
    return {
        "error": {"code": code, "message": message, "details": details or {}},
        "timestamp": utc_now_iso(),
        "requestId": request_id if request_id is not None else getattr(g, "request_id", None),
    }


def error_response(status: int, code: str, message: str, details: dict | None = None,
                   headers: dict | None = None):
    response = jsonify(envelope(code, message, details))
    response.status_code = status
    for key, value in (headers or {}).items():
        response.headers[key] = value
    return response


def _validation_details(messages) -> dict:
    """Flatten webargs' {location: {field: [msgs]}} into {field: [msgs]}."""
    locations = {"json", "query", "form", "files", "headers", "view_args", "path"}
    if isinstance(messages, dict) and set(messages) <= locations:
        flat = {}
        for per_location in messages.values():
            if isinstance(per_location, dict):
                flat.update(per_location)
            else:
                flat["_schema"] = per_location
        return {"fields": flat}
    return {"fields": messages if isinstance(messages, dict) else {"_schema": messages}}


def handle_http_exception(error: HTTPException):
    data = getattr(error, "data", None) or {}
    status = error.code or 500
    code = STATUS_CODES.get(status, INTERNAL_ERROR if status >= 500 else VALIDATION_ERROR)
    message = data.get("message") or error.description or error.name
    details = {}
    messages = data.get("errors") or data.get("messages")
    if messages:
        details = _validation_details(messages)
        names = ", ".join(sorted(details["fields"]))
        message = f"Invalid request parameters: {names}" if names else "Invalid request parameters"
    if status == 404 and not data:
        message = "The requested URL was not found"
    headers = dict(data.get("headers") or {})
    if status == 405:
        message = "Method not allowed on this resource"
        allowed = sorted(getattr(error, "valid_methods", None) or [])
        details = {"allowed": allowed}
        headers["Allow"] = ", ".join(allowed)  # RFC 9110: a 405 names the methods the resource supports
    if status == 413:
        message = "Request body is too large"
    return error_response(status, code, message, details, headers)


def handle_api_error(error: ApiError):
    return error_response(error.status, error.code, error.message, error.details, error.headers)


def handle_integrity_error(error: IntegrityError):
    """A unique-constraint race (two requests creating the same thing at once): the loser gets 409, in every
    service. The request's session is rolled back when it closes at the end of the request."""
    log.info("a change lost a race for a constraint: %s", error.orig.__class__.__name__ if error.orig else error)
    return error_response(409, CONFLICT, "The change conflicts with another one; try again")


def handle_unexpected(error: Exception):
    if isinstance(error, HTTPException):
        return handle_http_exception(error)
    log.exception("unhandled error")
    return error_response(500, INTERNAL_ERROR, "An internal error occurred")


def register_error_handlers(app: Flask) -> None:
    app.register_error_handler(ApiError, handle_api_error)
    app.register_error_handler(IntegrityError, handle_integrity_error)
    app.register_error_handler(HTTPException, handle_http_exception)
    app.register_error_handler(Exception, handle_unexpected)
