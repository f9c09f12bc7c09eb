"""The gateway's Flask application: authenticate, rate-limit, then answer or forward every request."""

import logging
import time

from flask import Flask, current_app, g, request
from werkzeug.http import HTTP_STATUS_CODES
from werkzeug.sansio.utils import get_host

from marketplace_shared import api as shared_api
from marketplace_shared.api import API_PREFIX, REQUEST_ID_HEADER, SAFE_METHODS, create_service_app, new_request_id
from marketplace_shared.db import Database
from marketplace_shared.errors import RATE_LIMITED, ApiError, unauthorized, validation_error
from marketplace_shared.logs import current_request_id

from . import services
from .auth import ANONYMOUS_IDENTITY, Authenticator, credential_from
from .config import Config
from .openapi import OpenApiMerger, docs_view, openapi_view
from .proxy import (
    GATEWAY,
    JSON_UNREADABLE,
    KEY_ABSENT,
    KEY_FOUND,
    PUBLISHER_PREFIX,
    ClientAddresses,
    Forwarder,
    is_public_write,
    raw_response,
    request_target,
    route_for,
    spool_publisher_body,
)
from .ratelimit import RateLimiter
from .views import blp

log = logging.getLogger(__name__)
# Probes and scrapes are neither limited nor counted.
UNLIMITED_PATHS = frozenset({"/healthz", "/readyz", "/metrics"})
CORS_ALLOWED_HEADERS = "Authorization, Content-Type, X-API-Key, api-key, X-Request-Id"
CORS_EXPOSED_HEADERS = ("X-Request-Id, X-RateLimit-Limit, X-RateLimit-Remaining, X-RateLimit-Reset, "
                        "RateLimit, RateLimit-Policy, Retry-After, Location")
NO_STORE_HEADS = ("/admin/", "/me", "/api-keys")
SECURITY_HEADERS = {"X-Content-Type-Options": "nosniff", "X-Frame-Options": "DENY", "Referrer-Policy": "no-referrer"}
CONTENT_SECURITY_POLICY = "default-src 'none'; frame-ancestors 'none'"
CORS_ALLOWED_METHODS = "GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS"
# Set by the fast path on a request it hands to Flask: (rate decision or None, the ApiError to answer with).
HANDED_OVER = "gateway.handed_over"
# Bodies up to this size (a search, a review, an install request) are read whole by the fast path; larger
# or chunked ones are streamed by the Flask path.
FAST_BODY_LIMIT = 64 * 1024


class Gateway:
    """The per-process parts of the gateway, kept on app.extensions['gateway']."""

    def __init__(self, config: Config, database: Database, api):
        self.config = config
        self.database = database
        self.addresses = ClientAddresses(config.TRUSTED_PROXIES)
        self.authenticator = Authenticator(config, database)
        self.limiter = RateLimiter(config) if config.RATE_LIMIT_ENABLED else None
        self.forwarder = Forwarder(config, self.addresses)
        self.openapi = OpenApiMerger(config, self.forwarder, lambda: api.spec.to_dict())
        self.cors_any = "*" in config.CORS_ORIGINS
        self.cors_origins = frozenset(config.CORS_ORIGINS)


def _rate_limit_store_ready() -> None:
    limiter = current_app.extensions["gateway"].limiter
    if limiter is not None and not limiter.storage.check():
        raise ConnectionError("the rate-limit store does not answer")


def create_app(config: Config | None = None) -> Flask:
    config = config or Config()
    database = Database(config.DATABASE_URL)
    app, api = create_service_app(config, database, "Plugin Marketplace gateway", [blp],
                                  uses_broker=False, guard_writes=False,
                                  readiness_checks={"rateLimitStore": _rate_limit_store_ready})
    gateway = Gateway(config, database, api)
    app.extensions["gateway"] = gateway
    app.add_url_rule(f"{API_PREFIX}/openapi.json", "merged_openapi", openapi_view)
    app.add_url_rule(f"{API_PREFIX}/docs", "docs", docs_view)
    if config.MARKETPLACE_ADMIN_API_KEY:
        services.bootstrap_admin(database, config.MARKETPLACE_ADMIN_API_KEY, config.ADMIN_EMAIL)
    _install_hooks(app, gateway)
    app.wsgi_app = FastProxy(app.wsgi_app, gateway)
    return app


def _install_hooks(app: Flask, gateway: Gateway) -> None:
    config = gateway.config

    @app.before_request
    def _gateway():
        req = request._get_current_object()
        path, method = req.path, req.method
        if path in UNLIMITED_PATHS:
            return None
        handed_over = req.environ.get(HANDED_OVER)
        if handed_over is not None:
            # The fast path counted this request already and found an error: Flask answers it.
            g.rate_decision, error = handed_over
            raise error
        if method == "OPTIONS":
            return app.response_class(status=204)
        target = route_for(path)
        headers = req.headers
        g.client_address = gateway.addresses.client_address(req.remote_addr, headers.get("X-Forwarded-For"))
        principal, pending, spooled = None, None, None
        try:
            credential = credential_from(headers)
            if credential is None and target == "catalog" and method == "POST" and path.startswith(PUBLISHER_PREFIX):
                spooled = g.spooled = spool_publisher_body(req.stream, req.content_length,
                                                           config.MAX_CONTENT_LENGTH, req.content_type)
                if spooled.outcome == KEY_FOUND:
                    credential = spooled.api_key
                elif spooled.outcome == KEY_ABSENT:
                    raise unauthorized("An api_key is required in the 'json' part")
            if credential:
                principal = gateway.authenticator.authenticate(credential)
        except ApiError as error:
            pending = error
        g.principal = principal
        if gateway.limiter is not None:
            decision = g.rate_decision = gateway.limiter.hit(principal, g.client_address)
            if not decision.allowed:
                raise _rate_limited(decision)
        if pending is not None:
            raise pending
        if target is None or target == GATEWAY:
            return None
        # A publisher upload whose json part cannot be read goes on: the catalog explains what is wrong.
        if principal is None and method not in SAFE_METHODS and not is_public_write(method, path) \
                and (spooled is None or spooled.outcome != JSON_UNREADABLE):
            raise unauthorized("Authentication required: send an API key or a bearer token")
        identity = principal.identity if principal is not None else ANONYMOUS_IDENTITY
        token = gateway.authenticator.internal_token(identity)
        body = (spooled.file, spooled.size) if spooled is not None else None
        return gateway.forwarder.forward(target, token, spooled=body)

    @app.after_request
    def _headers(response):
        req = request._get_current_object()
        headers = response.headers
        decision = g.get("rate_decision")
        if decision is not None:
            headers.update(decision.headers())
        headers.update(SECURITY_HEADERS)
        headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        if _is_https(gateway, req):
            headers["Strict-Transport-Security"] = "max-age=31536000; includeSubDomains"
        path = req.path
        if path.startswith(API_PREFIX) and path[len(API_PREFIX):].startswith(NO_STORE_HEADS):
            headers["Cache-Control"] = "no-store"
        origin = req.headers.get("Origin")
        if origin and (gateway.cors_any or origin in gateway.cors_origins):
            headers["Access-Control-Allow-Origin"] = "*" if gateway.cors_any else origin
            if not gateway.cors_any:
                headers.add("Vary", "Origin")
            headers["Access-Control-Expose-Headers"] = CORS_EXPOSED_HEADERS
            if req.method == "OPTIONS":
                headers["Access-Control-Allow-Methods"] = CORS_ALLOWED_METHODS
                headers["Access-Control-Allow-Headers"] = (req.headers.get("Access-Control-Request-Headers")
                                                           or CORS_ALLOWED_HEADERS)
                headers["Access-Control-Max-Age"] = "600"
        return response

    @app.teardown_request
    def _close_spool(_exc):
        spooled = g.pop("spooled", None)
        if spooled is not None:
            spooled.close()


def _rate_limited(decision) -> ApiError:
    return ApiError(429, RATE_LIMITED, "Rate limit exceeded, try again later",
                    {"limit": decision.limit, "policy": decision.policy,
                     "retryAfter": int(decision.headers()["Retry-After"])})


def _is_https(gateway: Gateway, req) -> bool:
    if req.is_secure:
        return True
    return gateway.addresses.is_trusted(req.remote_addr) and req.headers.get("X-Forwarded-Proto", "").lower() == "https"


class _EnvironHeaders:
    """Just enough of werkzeug's header mapping for credential_from(), straight over the WSGI environ."""

    __slots__ = ("environ",)

    def __init__(self, environ):
        self.environ = environ

    def get(self, name: str, default=None):
        return self.environ.get("HTTP_" + name.upper().replace("-", "_"), default)


class FastProxy:
    """A thin WSGI layer in front of Flask for the hot path: a request with no body or a small one, forwarded.

    It does what the Flask hooks would (request id, authentication from the in-process cache, one rate-limit
    round trip, the cached identity token, the forward, the same response headers, metrics and access line)
    without Flask's request context, routing and hooks. Anything else, and every error, goes to Flask; an
    error found here is handed over with the rate decision so that the hit is counted once.
    """

    def __init__(self, flask_wsgi, gateway: Gateway):
        self.flask_wsgi = flask_wsgi
        self.gateway = gateway
        self.service = gateway.config.SERVICE_NAME
        self.upstreams = frozenset(gateway.config.upstreams)

    def _takes(self, environ, method: str, path: str) -> str | None:
        if method == "OPTIONS" or path.startswith(PUBLISHER_PREFIX) or "HTTP_TRANSFER_ENCODING" in environ:
            return None
        length = environ.get("CONTENT_LENGTH", "")
        if length and not (length.isdigit() and int(length) <= FAST_BODY_LIMIT):
            return None
        target = route_for(path)
        return target if target in self.upstreams else None

    def __call__(self, environ, start_response):
        method = environ.get("REQUEST_METHOD", "GET")
        path = environ.get("PATH_INFO", "")
        target = self._takes(environ, method, path)
        if target is None:
            return self.flask_wsgi(environ, start_response)
        started = time.perf_counter()
        incoming = environ.get("HTTP_X_REQUEST_ID", "")
        request_id = incoming if shared_api._SAFE_REQUEST_ID.match(incoming) else new_request_id()
        token = current_request_id.set(request_id)
        try:
            answer = self._answer(environ, method, path, target, request_id)
            if answer is None:
                return self.flask_wsgi(environ, start_response)
            status, headers, body = answer
            start_response(f"{status} {HTTP_STATUS_CODES.get(status, 'UNKNOWN')}", headers)
            duration = time.perf_counter() - started
            labels = (self.service, method, "unmatched", str(status))
            shared_api.REQUESTS.labels(*labels).inc()
            shared_api.LATENCY.labels(*labels).observe(duration)
            if shared_api.log.isEnabledFor(logging.INFO):
                shared_api.log.info("%s %s %s", method, path, status,
                                    extra={"method": method, "path": path, "status": status,
                                           "durationMs": round(duration * 1000, 2)})
            return body
        finally:
            current_request_id.reset(token)

    def _answer(self, environ, method: str, path: str, target: str, request_id: str):
        """(status, headers, body) of a forwarded request, or None after handing an error over to Flask."""
        gateway = self.gateway
        remote = environ.get("REMOTE_ADDR")
        decision = None
        try:
            principal, pending = None, None
            try:
                credential = credential_from(_EnvironHeaders(environ))
                if credential:
                    principal = gateway.authenticator.authenticate(credential)
            except ApiError as error:
                pending = error
            if gateway.limiter is not None:
                address = gateway.addresses.client_address(remote, environ.get("HTTP_X_FORWARDED_FOR"))
                decision = gateway.limiter.hit(principal, address)
                if not decision.allowed:
                    raise _rate_limited(decision)
            if pending is not None:
                raise pending
            if principal is None and method not in SAFE_METHODS and not is_public_write(method, path):
                raise unauthorized("Authentication required: send an API key or a bearer token")
            identity = principal.identity if principal is not None else ANONYMOUS_IDENTITY
            scheme = environ.get("wsgi.url_scheme", "http")
            server = environ.get("SERVER_NAME")
            host = get_host(scheme, environ.get("HTTP_HOST"),
                            (server, int(environ["SERVER_PORT"])) if server and environ.get("SERVER_PORT") else None)
            forwarder = gateway.forwarder
            outgoing = forwarder.outgoing_headers(environ, host, request_id,
                                                  gateway.authenticator.internal_token(identity))
            body = _small_body(environ, outgoing)
            upstream = forwarder.send(target, method, request_target(environ), body, outgoing)
            status, headers, body = raw_response(target, method, upstream)
        except ApiError as error:
            environ[HANDED_OVER] = (decision, error)
            return None
        self._add_headers(environ, headers, decision, scheme, remote, request_id)
        return status, headers, body

    def _add_headers(self, environ, headers: list, decision, scheme: str, remote: str | None,
                     request_id: str) -> None:
        """What the Flask hooks add to a response: rate limit, security, HSTS, CORS, request id."""
        gateway = self.gateway
        if decision is not None:
            headers.extend(decision.headers().items())
        headers.extend(SECURITY_HEADERS.items())
        if not any(key.lower() == "content-security-policy" for key, _value in headers):
            headers.append(("Content-Security-Policy", CONTENT_SECURITY_POLICY))
        if scheme in ("https", "wss") or (gateway.addresses.is_trusted(remote) and environ.get(
                "HTTP_X_FORWARDED_PROTO", "").lower() == "https"):
            headers.append(("Strict-Transport-Security", "max-age=31536000; includeSubDomains"))
        origin = environ.get("HTTP_ORIGIN")
        if origin and (gateway.cors_any or origin in gateway.cors_origins):
            headers.append(("Access-Control-Allow-Origin", "*" if gateway.cors_any else origin))
            if not gateway.cors_any:
                headers.append(("Vary", "Origin"))
            headers.append(("Access-Control-Expose-Headers", CORS_EXPOSED_HEADERS))
        headers.append((REQUEST_ID_HEADER, request_id))


def _small_body(environ, outgoing: dict) -> bytes | None:
    """The body of a request the fast path took (at most FAST_BODY_LIMIT bytes), read whole."""
    length = int(environ.get("CONTENT_LENGTH") or 0)
    if not length:
        return None
    body = environ["wsgi.input"].read(length)
    if len(body) != length:
        raise validation_error("The request body is shorter than its Content-Length",
                               {"contentLength": length, "received": len(body)})
    outgoing["Content-Length"] = str(length)
    return body
