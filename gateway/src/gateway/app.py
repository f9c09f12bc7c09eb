"""The gateway's Flask application: authenticate, rate-limit, then answer or forward every request.

Both ways in (the Flask hooks here and the fast path in fastpath.py) apply admission.py's one policy.
"""

import logging

from flask import Flask, current_app, g, request

from marketplace_shared.api import API_PREFIX, create_service_app
from marketplace_shared.db import Database

from .admission import admit, apply_to_response, response_headers
from .auth import Authenticator
from .config import Config
from .fastpath import HANDED_OVER, FastProxy
from .openapi import OpenApiMerger, docs_view, openapi_view
from .proxy import Forwarder
from .ratelimit import RateLimiter
from .routing import GATEWAY, GATEWAY_OWN_PATHS, PUBLISHER_PREFIX, ClientAddresses, route_for
from .spooling import spool_publisher_body
from .views import blp

log = logging.getLogger(__name__)


class Gateway:
    """The per-process parts of the gateway, kept on app.extensions['gateway']."""

    def __init__(self, config: Config, database: Database, api):
        self.config = config
        self.database = database
        self.addresses = ClientAddresses(config.TRUSTED_PROXIES)
        # The web portal proves itself with this shared secret (admission.is_portal_call), wherever it runs.
        self.portal_token = config.PORTAL_TOKEN.encode() if config.PORTAL_TOKEN else None
        self.authenticator = Authenticator(config, database)
        # The counter store also holds the credentials generation, read even when limiting is off.
        self.counters = RateLimiter(config)
        self.limiter = self.counters if config.RATE_LIMIT_ENABLED else None
        self.authenticator.on_change = self.counters.bump_generation
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
    _install_hooks(app, gateway)
    app.wsgi_app = FastProxy(app.wsgi_app, gateway)
    return app


def _install_hooks(app: Flask, gateway: Gateway) -> None:
    config = gateway.config

    @app.before_request
    def _gateway():
        req = request._get_current_object()
        path, method = req.path, req.method
        if path in GATEWAY_OWN_PATHS:  # probes and scrapes are neither limited nor counted
            return None
        handed_over = req.environ.get(HANDED_OVER)
        if handed_over is not None:
            # The fast path counted this request already and found an error: Flask answers it.
            g.rate_decision, error = handed_over
            raise error
        if method == "OPTIONS":
            return app.response_class(status=204)
        target = route_for(path)
        spool = None
        if target == "catalog" and method == "POST" and path.startswith(PUBLISHER_PREFIX):
            def spool():
                g.spooled = spool_publisher_body(req.stream, req.content_length, config.MAX_CONTENT_LENGTH,
                                                 req.content_type)
                return g.spooled
        admission = admit(gateway, req.environ, method, path, target, spool)
        g.principal, g.rate_decision = admission.principal, admission.decision
        if admission.error is not None:
            raise admission.error
        if target is None or target == GATEWAY:
            return None
        token = gateway.authenticator.internal_token(admission.identity)
        spooled = admission.spooled
        body = (spooled.file, spooled.size) if spooled is not None else None
        return gateway.forwarder.forward(target, token, spooled=body)

    @app.after_request
    def _headers(response):
        apply_to_response(response.headers, response_headers(gateway, request.environ, g.get("rate_decision")))
        return response

    @app.teardown_request
    def _close_spool(_exc):
        spooled = g.pop("spooled", None)
        if spooled is not None:
            spooled.close()
