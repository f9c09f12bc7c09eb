"""The portal's Flask application: server-rendered pages over the public API, no database of its own."""

import logging
import os

from flask import Flask, g, jsonify, render_template, request
from werkzeug.exceptions import HTTPException

from marketplace_shared.api import finish_request, forget_request_id, metrics_response, start_request
from marketplace_shared.logs import configure_logging

from . import oidc, rendering, security
from .api import Clients, MarketplaceError
from .assets import Assets
from .config import Config
from .sessions import Session, store_from
from .views import BLUEPRINTS
from .views.common import flash, pop_notices

PROBES = frozenset({"/healthz", "/readyz", "/metrics"})
# What an API error code means for the page that met it.
_STATUS_TITLES = {400: "Bad request", 401: "Sign in required", 403: "Not allowed", 404: "Not found",
                  409: "Conflict", 429: "Too many requests", 502: "Service unavailable", 503: "Service unavailable",
                  504: "Timed out"}


def create_app(config: Config | None = None) -> Flask:
    config = config or Config()
    app = Flask("marketplace_web", root_path=os.path.dirname(__file__), static_folder=None)
    app.config.update(MAX_CONTENT_LENGTH=config.MAX_CONTENT_LENGTH)
    app.extensions["web_config"] = config
    app.extensions["web_clients"] = Clients(config)
    app.extensions["web_sessions"] = store_from(config)
    app.extensions["web_oidc"] = oidc.provider_from(config)
    assets = app.extensions["web_assets"] = Assets()
    configure_logging(config.SERVICE_NAME, config.LOG_LEVEL)
    app.jinja_env.autoescape = True
    app.jinja_env.globals.update(asset=assets.url, csrf_token=security.csrf_token, csrf_field=security.CSRF_FIELD,
                                 bar_chart=rendering.bar_chart, line_chart=rendering.line_chart,
                                 notices=pop_notices)
    app.jinja_env.filters.update(markdown=rendering.markdown, safe_url=rendering.safe_url,
                                 compact=rendering.compact, date=rendering.date, datetime=rendering.datetime_text)
    for blueprint in BLUEPRINTS:
        app.register_blueprint(blueprint)
    app.add_url_rule("/static/<path:name>", "static", assets.serve)
    _install_hooks(app, config)
    _install_errors(app)
    _install_probes(app)
    return app


def _is_https() -> bool:
    return request.is_secure or request.headers.get("X-Forwarded-Proto", "").lower() == "https"


def _install_hooks(app: Flask, config: Config) -> None:
    store = app.extensions["web_sessions"]
    provider = app.extensions["web_oidc"]

    @app.before_request
    def _start():
        start_request()
        if request.path in PROBES:
            return
        g.web_session = Session(store, request.cookies.get(config.SESSION_COOKIE_NAME))
        if not request.path.startswith("/static/") and not oidc.keep_fresh(g.web_session, app.extensions["web_oidc"]):
            flash("Your sign-in with the identity provider has expired: sign in again.", "error")
        g.account = g.web_session.get("account")
        security.check_csrf()

    @app.after_request
    def _finish(response):
        session = g.get("web_session")
        if session is not None:
            had_cookie = config.SESSION_COOKIE_NAME in request.cookies
            session.commit()
            secure = _is_https() if config.SESSION_COOKIE_SECURE is None else config.SESSION_COOKIE_SECURE
            if session.id and (session.id != request.cookies.get(config.SESSION_COOKIE_NAME)):
                response.set_cookie(config.SESSION_COOKIE_NAME, session.id, max_age=config.SESSION_TTL_SECONDS,
                                    httponly=True, samesite="Lax", secure=secure, path="/")
            elif session.ended and had_cookie:
                response.delete_cookie(config.SESSION_COOKIE_NAME, path="/", httponly=True, samesite="Lax",
                                       secure=secure)
            if session.id or session.ended:
                response.headers.add("Vary", "Cookie")
                response.headers.setdefault("Cache-Control", "private, no-store")
        if request.path not in PROBES:
            response.headers.setdefault("Content-Security-Policy", security.CONTENT_SECURITY_POLICY)
            if provider is not None:
                # Signing out posts a form that ends at the identity provider's end-session endpoint.
                response.headers["Content-Security-Policy"] = response.headers["Content-Security-Policy"].replace(
                    "form-action 'self'", f"form-action 'self' {provider.origin}", 1)
            for key, value in security.HEADERS.items():
                response.headers.setdefault(key, value)
        return finish_request(response, "web", PROBES)

    @app.teardown_request
    def _forget(_exc):
        api_client = g.pop("api_client", None)
        if api_client is not None:
            api_client.session.close()
        forget_request_id()


def error_page(status: int, message: str, request_id: str | None = None, code: str | None = None):
    title = _STATUS_TITLES.get(status, "Something went wrong")
    return render_template("errors/error.html", status=status, title=title, message=message, code=code,
                           api_request_id=request_id), status


def _install_errors(app: Flask) -> None:
    @app.errorhandler(MarketplaceError)
    def _api_error(error: MarketplaceError):
        status = error.status if error.status and 400 <= error.status < 600 else 502
        if status == 401:
            # The key was revoked or expired while the session lived: forget it.
            g.web_session.pop("api_key")
            g.web_session.pop("account")
            g.web_session.pop("oidc")
            g.account = None
        message = error.message if error.status else "The marketplace API cannot be reached right now."
        return error_page(status, message, error.request_id, error.code)

    @app.errorhandler(HTTPException)
    def _http_error(error: HTTPException):
        if request.path in PROBES:
            return jsonify({"error": {"code": error.name, "message": error.description}}), error.code
        return error_page(error.code or 500, error.description or error.name)

    @app.errorhandler(Exception)
    def _unexpected(error: Exception):
        logging.getLogger(__name__).exception("unhandled error")
        return error_page(500, "The portal met an unexpected error.")


def _install_probes(app: Flask) -> None:
    @app.get("/healthz")
    def healthz():
        return jsonify({"status": "ok"})

    @app.get("/readyz")
    def readyz():
        store = app.extensions["web_sessions"]
        try:
            store.load("readiness-probe")
        except Exception as exc:  # noqa: BLE001 - any failure means not ready
            return jsonify({"status": "not ready", "checks": {"sessionStore": f"error: {type(exc).__name__}"}}), 503
        return jsonify({"status": "ready", "checks": {"sessionStore": "ok"}})

    @app.get("/metrics")
    def metrics():
        return metrics_response()
