"""The Flask app every service is built on: request ids, logs, errors, health, metrics, OpenAPI."""

import copy
import logging
import os
import re
import time
import uuid
from functools import lru_cache

import flask_smorest
import marshmallow as ma
import pika
from apispec.ext.marshmallow import MarshmallowPlugin, OpenAPIConverter
from flask import Flask, g, jsonify, request
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest, multiprocess
from webargs.flaskparser import FlaskParser

from . import errors
from .broker import connect
from .clock import utc_now_iso
from .db import Database
from .identity import gateway_identity
from .logs import configure_logging, current_request_id

log = logging.getLogger("access")
API_PREFIX = "/api/marketplace/v1"
API_VERSION = "v1"
REQUEST_ID_HEADER = "X-Request-Id"
_SAFE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
UNGUARDED_PATHS = frozenset({"/healthz", "/readyz", "/metrics", "/openapi.json"})

REQUESTS = Counter("http_requests_total", "HTTP requests", ["service", "method", "route", "status"])
LATENCY = Histogram("http_request_duration_seconds", "HTTP request latency", ["service", "method", "route", "status"],
                    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10))


@lru_cache(maxsize=1024)
def metric_child(metric, *labels):
    """A metric's child for these labels, looked up once: labels() takes a lock and builds a key every time."""
    return metric.labels(*labels)


class ArgumentsParser(FlaskParser):
    # The spec answers bad input with 400 VALIDATION_ERROR, not webargs' 422.
    DEFAULT_VALIDATION_STATUS = 400

    def _load_location_data(self, *, schema, req, location):
        data = super()._load_location_data(schema=schema, req=req, location=location)
        if _holds_nul(data):
            # PostgreSQL text cannot hold U+0000: refused here rather than failing in the database.
            raise errors.validation_error("Text may not contain NUL characters (U+0000)",
                                          {"fields": {"_schema": ["Text may not contain U+0000."]}})
        return data

    def load_querystring(self, req, schema):
        """A parameter given twice is a list: refused unless the field is one (webargs would take the first)."""
        by_key = {field.data_key or name: field for name, field in schema.fields.items()}
        data = {}
        for key in req.args:
            values = req.args.getlist(key)
            many = isinstance(by_key.get(key), ma.fields.List)
            data[key] = values if many or len(values) > 1 else values[0]
        return data


def _holds_nul(value) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict) or hasattr(value, "keys"):
        return any(_holds_nul(key) or _holds_nul(value[key]) for key in value)
    if isinstance(value, (list, tuple)):
        return any(_holds_nul(item) for item in value)
    return False


class JsonBoolean(ma.fields.Boolean):
    """A JSON body's boolean: true or false only (marshmallow also takes 1, "yes", "on"...)."""

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, bool):
            raise self.make_error("invalid")
        return value


class JsonInteger(ma.fields.Integer):
    """A JSON body's integer, written as one: not a string, a boolean or a float (4.0 neither)."""

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.make_error("invalid")
        return super()._deserialize(value, attr, data, **kwargs)


class JsonFloat(ma.fields.Float):
    """A JSON body's number (not a string, not a boolean)."""

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise self.make_error("invalid")
        return super()._deserialize(value, attr, data, **kwargs)


class Blueprint(flask_smorest.Blueprint):
    ARGUMENTS_PARSER = ArgumentsParser()


class _Converter(OpenAPIConverter):
    """Adds a schema's `Meta.json_schema` (e.g. {"minProperties": 1}) to its OpenAPI schema: rules that
    marshmallow checks at the schema level (`validates_schema`) and apispec cannot see."""

    def schema2jsonschema(self, schema):
        jsonschema = super().schema2jsonschema(schema)
        extra = getattr(getattr(schema, "Meta", None), "json_schema", None)
        if extra:
            jsonschema.update(copy.deepcopy(extra))
        return jsonschema


class _MarshmallowPlugin(MarshmallowPlugin):
    Converter = _Converter


class Api(flask_smorest.Api):
    def handle_http_exception(self, error):
        return errors.handle_http_exception(error)


def new_request_id() -> str:
    return f"req_{uuid.uuid4().hex[:20]}"


def response_metadata() -> dict:
    """The spec's `metadata` block for list responses."""
    started = g.get("request_started", time.perf_counter())
    return {
        "version": API_VERSION,
        "timestamp": utc_now_iso(),
        "requestId": g.get("request_id"),
        "responseTime": round((time.perf_counter() - started) * 1000),
    }


def create_service_app(config, database: Database, title: str, blueprints=(),
                       uses_broker: bool = True, guard_writes: bool = True,
                       readiness_checks: dict | None = None) -> tuple[Flask, Api]:
    """Build a Flask app with the shared plumbing; the service registers its blueprints.

    `readiness_checks` adds {name: callable raising when not ready} to `/readyz`.
    """
    # root_path given: the service name is not an importable module (e.g. under pytest's importlib mode).
    app = Flask(config.SERVICE_NAME, root_path=os.path.dirname(__file__))
    app.config.update(
        SERVICE_NAME=config.SERVICE_NAME,
        INTERNAL_TOKEN_SECRET=config.INTERNAL_TOKEN_SECRET,
        MAX_CONTENT_LENGTH=config.MAX_CONTENT_LENGTH,
        API_TITLE=title,
        API_VERSION=API_VERSION,
        OPENAPI_VERSION="3.0.3",
        OPENAPI_URL_PREFIX="/",
        OPENAPI_JSON_PATH="openapi.json",
    )
    app.extensions["service_config"] = config
    app.json.sort_keys = False
    configure_logging(config.SERVICE_NAME, config.LOG_LEVEL)
    database.init_app(app)
    api = Api(app, spec_kwargs={"marshmallow_plugin": _MarshmallowPlugin()})
    for blueprint in blueprints:
        api.register_blueprint(blueprint)
    errors.register_error_handlers(app)
    _install_request_hooks(app, config.SERVICE_NAME, guard_writes)
    _install_health_routes(app, database, config if uses_broker else None, readiness_checks or {})
    return app, api


def start_request() -> None:
    """Start the request's clock and bind its id: the caller's X-Request-ID when it is safe, else a new one."""
    g.request_started = time.perf_counter()
    incoming = request.headers.get(REQUEST_ID_HEADER, "")
    g.request_id = incoming if _SAFE_REQUEST_ID.match(incoming) else new_request_id()
    g.request_id_token = current_request_id.set(g.request_id)


def finish_request(response, service: str, unlogged_paths: frozenset[str]):
    """Send the request id back, count and time the request (Prometheus), and log it unless its path is a probe."""
    response.headers[REQUEST_ID_HEADER] = g.get("request_id", "")
    duration = time.perf_counter() - g.get("request_started", time.perf_counter())
    route = request.url_rule.rule if request.url_rule else "unmatched"
    labels = (service, request.method, route, str(response.status_code))
    metric_child(REQUESTS, *labels).inc()
    metric_child(LATENCY, *labels).observe(duration)
    if request.path not in unlogged_paths:
        log.info("%s %s %s", request.method, request.path, response.status_code,
                 extra={"method": request.method, "path": request.path, "status": response.status_code,
                        "durationMs": round(duration * 1000, 2)})
    return response


def forget_request_id() -> None:
    """Unbind the request id that start_request bound."""
    token = g.pop("request_id_token", None)
    if token is not None:
        current_request_id.reset(token)


def _install_request_hooks(app: Flask, service: str, guard_writes: bool) -> None:
    @app.before_request
    def _start_request():
        start_request()
        # Writes must come through the gateway, which always sends a signed identity token.
        guarded = guard_writes and request.method not in SAFE_METHODS and request.path not in UNGUARDED_PATHS
        if guarded and gateway_identity() is None:
            raise errors.unauthorized("Requests must come through the API gateway")

    @app.after_request
    def _finish_request(response):
        return finish_request(response, service, UNGUARDED_PATHS)

    @app.teardown_request
    def _forget_request_id(_exc):
        forget_request_id()


def metrics_response():
    """The Prometheus exposition of this process, or of every gunicorn worker when PROMETHEUS_MULTIPROC_DIR is set."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        body = generate_latest(registry)
    else:
        body = generate_latest()
    return body, 200, {"Content-Type": CONTENT_TYPE_LATEST}


def _install_health_routes(app: Flask, database: Database, broker_config, extra_checks: dict) -> None:
    @app.get("/healthz")
    def healthz():
        return jsonify({"status": "ok"})

    @app.get("/readyz")
    def readyz():
        checks = {}
        try:
            database.ping()
            checks["database"] = "ok"
        except Exception as exc:  # noqa: BLE001 - any failure means not ready
            checks["database"] = f"error: {exc.__class__.__name__}"
        if broker_config is not None:
            try:
                connect(broker_config.AMQP_URL).close()
                checks["broker"] = "ok"
            except (pika.exceptions.AMQPError, OSError) as exc:
                checks["broker"] = f"error: {exc.__class__.__name__}"
        for name, check in extra_checks.items():
            try:
                check()
                checks[name] = "ok"
            except Exception as exc:  # noqa: BLE001 - any failure means not ready
                checks[name] = f"error: {exc.__class__.__name__}"
        ready = all(value == "ok" for value in checks.values())
        if not ready:
            return errors.error_response(503, errors.SERVICE_UNAVAILABLE, "Service is not ready", {"checks": checks})
        return jsonify({"status": "ready", "checks": checks})

    @app.get("/metrics")
    def metrics():
        return metrics_response()
