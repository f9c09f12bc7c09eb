"""Exceptions: every error envelope of the API becomes one of these, chosen by its error code."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import requests


class MarketplaceError(Exception):
    """Base class of every error the SDK raises for the API.

    Attributes mirror the spec's error envelope: ``code`` (e.g. ``PLUGIN_NOT_FOUND``), ``message``,
    ``details`` (a dict, ``{}`` when absent), plus the HTTP ``status`` and the ``request_id`` to quote
    when asking for support. ``response`` is the :class:`requests.Response` when there was one.
    """

    default_code = "ERROR"

    def __init__(self, message: str, *, code: str | None = None, details: dict[str, Any] | None = None,
                 status: int | None = None, request_id: str | None = None,
                 response: requests.Response | None = None):
        super().__init__(message)
        self.message = message
        self.code = code or self.default_code
        self.details: dict[str, Any] = details or {}
        self.status = status
        self.request_id = request_id
        self.response = response

    def __str__(self) -> str:
        parts = [f"{self.code}: {self.message}"]
        if self.status is not None:
            parts.append(f"(HTTP {self.status}")
            parts[-1] += f", request {self.request_id})" if self.request_id else ")"
        return " ".join(parts)

    def __repr__(self) -> str:
        return (f"{type(self).__name__}(code={self.code!r}, message={self.message!r}, status={self.status!r}, "
                f"request_id={self.request_id!r})")


class ValidationError(MarketplaceError):
    """400/422 ``VALIDATION_ERROR``: ``details`` says what was wrong (``fields`` maps each field to messages)."""

    default_code = "VALIDATION_ERROR"

    @property
    def fields(self) -> dict[str, Any]:
        """The invalid fields and their messages (empty when the server did not name any)."""
        fields = self.details.get("fields")
        return fields if isinstance(fields, dict) else {}


class Unauthorized(MarketplaceError):
    """401 ``UNAUTHORIZED``: no credentials, or a key that is unknown, revoked or expired."""

    default_code = "UNAUTHORIZED"


class Forbidden(MarketplaceError):
    """403 ``FORBIDDEN``: authenticated, but the role or ownership does not allow it."""

    default_code = "FORBIDDEN"


class NotFound(MarketplaceError):
    """404: the resource (or route) does not exist."""

    default_code = "NOT_FOUND"


class PluginNotFound(NotFound):
    """404 ``PLUGIN_NOT_FOUND``."""

    default_code = "PLUGIN_NOT_FOUND"


class Conflict(MarketplaceError):
    """409 ``CONFLICT``: duplicate, already installed, already finished, and similar."""

    default_code = "CONFLICT"


class PayloadTooLarge(MarketplaceError):
    """413 ``PAYLOAD_TOO_LARGE``."""

    default_code = "PAYLOAD_TOO_LARGE"


class RateLimited(MarketplaceError):
    """429 ``RATE_LIMITED`` (raised once the client's retries are used up or the wait is too long).

    ``retry_after`` is the number of seconds the server asked to wait (``Retry-After``), ``reset`` the
    moment the window resets (``X-RateLimit-Reset``), ``limit``/``remaining`` the current quota.
    """

    default_code = "RATE_LIMITED"

    def __init__(self, message: str, *, retry_after: float | None = None, reset: datetime | None = None,
                 limit: int | None = None, remaining: int | None = None, **kwargs: Any):
        super().__init__(message, **kwargs)
        self.retry_after = retry_after
        self.reset = reset
        self.limit = limit
        self.remaining = remaining


class ServerError(MarketplaceError):
    """5xx ``INTERNAL_ERROR`` and other server-side failures."""

    default_code = "INTERNAL_ERROR"


class ServiceUnavailable(ServerError):
    """503 ``SERVICE_UNAVAILABLE`` / 502 / 504 ``GATEWAY_TIMEOUT``: try again later."""

    default_code = "SERVICE_UNAVAILABLE"


class MarketplaceConnectionError(MarketplaceError):
    """The server could not be reached, or did not answer in time (no HTTP status)."""

    default_code = "CONNECTION_ERROR"


class InstallationFailed(MarketplaceError):
    """An installation ended ``failed`` or ``cancelled`` (raised by ``installations.wait(raise_on_failure=True)``).

    ``installation`` is the final installation resource.
    """

    default_code = "INSTALLATION_FAILED"

    def __init__(self, message: str, *, installation: dict[str, Any], **kwargs: Any):
        super().__init__(message, **kwargs)
        self.installation = installation


class InstallationTimeout(MarketplaceError, TimeoutError):
    """``installations.wait`` gave up before the installation finished; ``installation`` is the last state seen."""

    default_code = "INSTALLATION_TIMEOUT"

    def __init__(self, message: str, *, installation: dict[str, Any], **kwargs: Any):
        super().__init__(message, **kwargs)
        self.installation = installation


class WebhookVerificationError(MarketplaceError):
    """A webhook request whose signature, timestamp or headers do not check out: answer it with 400/401."""

    default_code = "WEBHOOK_VERIFICATION_FAILED"


#: Error code -> exception class. Codes not listed fall back on the HTTP status (see :data:`STATUS_ERRORS`).
CODE_ERRORS: dict[str, type[MarketplaceError]] = {
    "PLUGIN_NOT_FOUND": PluginNotFound,
    "NOT_FOUND": NotFound,
    "UNAUTHORIZED": Unauthorized,
    "FORBIDDEN": Forbidden,
    "RATE_LIMITED": RateLimited,
    "VALIDATION_ERROR": ValidationError,
    "CONFLICT": Conflict,
    "PAYLOAD_TOO_LARGE": PayloadTooLarge,
    "INTERNAL_ERROR": ServerError,
    "SERVICE_UNAVAILABLE": ServiceUnavailable,
    "GATEWAY_TIMEOUT": ServiceUnavailable,
}

STATUS_ERRORS: dict[int, type[MarketplaceError]] = {
    400: ValidationError,
    401: Unauthorized,
    403: Forbidden,
    404: NotFound,
    409: Conflict,
    413: PayloadTooLarge,
    422: ValidationError,
    429: RateLimited,
    500: ServerError,
    502: ServiceUnavailable,
    503: ServiceUnavailable,
    504: ServiceUnavailable,
}


def error_class(code: str | None, status: int | None) -> type[MarketplaceError]:
    """The exception class for an error code, else for the HTTP status, else the base class."""
    if code and code in CODE_ERRORS:
        return CODE_ERRORS[code]
    if code and code.endswith("_NOT_FOUND"):
        return NotFound
    if status is not None:
        if status in STATUS_ERRORS:
            return STATUS_ERRORS[status]
        if status >= 500:
            return ServerError
    return MarketplaceError
