"""The gateway's Flask application: authenticate, rate-limit, then answer or forward every request."""

import logging

from flask import Flask, current_app, g, request

from marketplace_shared.api import API_PREFIX, SAFE_METHODS, create_service_app
from marketplace_shared.db import Database
from marketplace_shared.errors import RATE_LIMITED, ApiError, unauthorized

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
    return app


def _install_hooks(app: Flask, gateway: Gateway) -> None:
    config = gateway.config

    @app.before_request
    def _gateway():
        req = request._get_current_object()
        path, method = req.path, req.method
        if path in UNLIMITED_PATHS:
            return None
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
                raise ApiError(429, RATE_LIMITED, "Rate limit exceeded, try again later",
                               {"limit": decision.limit, "policy": decision.policy,
                                "retryAfter": int(decision.headers()["Retry-After"])})
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
        headers["X-Content-Type-Options"] = "nosniff"
        headers["X-Frame-Options"] = "DENY"
        headers["Referrer-Policy"] = "no-referrer"
        headers.setdefault("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'")
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
                headers["Access-Control-Allow-Methods"] = "GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS"
                headers["Access-Control-Allow-Headers"] = (req.headers.get("Access-Control-Request-Headers")
                                                           or CORS_ALLOWED_HEADERS)
                headers["Access-Control-Max-Age"] = "600"
        return response

    @app.teardown_request
    def _close_spool(_exc):
        spooled = g.pop("spooled", None)
        if spooled is not None:
            spooled.close()


def _is_https(gateway: Gateway, req) -> bool:
    if req.is_secure:
        return True
    return gateway.addresses.is_trusted(req.remote_addr) and req.headers.get("X-Forwarded-Proto", "").lower() == "https"
