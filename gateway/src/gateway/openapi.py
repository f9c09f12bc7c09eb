"""One public OpenAPI document: every service's /openapi.json merged with the gateway's own routes."""

import copy
import json
import logging
import re
import threading
import time

from flask import Response, current_app, jsonify

from marketplace_shared.api import API_PREFIX, API_VERSION

from .routing import PUBLISHER_PREFIX

log = logging.getLogger(__name__)
COMPONENT_KINDS = ("schemas", "responses", "parameters", "examples", "requestBodies", "headers")
SERVICE_ORDER = ("catalog", "install", "review", "webhook")

ERROR_ENVELOPE = {
    "type": "object",
    "additionalProperties": False,
    "required": ["error", "timestamp", "requestId"],
    "properties": {
        "error": {"type": "object", "additionalProperties": False, "required": ["code", "message", "details"],
                  "properties": {
                      "code": {"type": "string", "pattern": "^[A-Z][A-Z0-9_]*$", "example": "PLUGIN_NOT_FOUND"},
                      "message": {"type": "string"},
                      "details": {"type": "object", "additionalProperties": True,
                                  "description": "`fields` for validation errors: each bad field's messages; "
                                                 "`allowed` for 405 (also in the `Allow` header)"}}},
        "timestamp": {"type": "string", "format": "date-time"},
        "requestId": {"type": "string", "nullable": True, "example": "req_abc123"},
    },
}
V1 = API_PREFIX
# OpenAPI links, so that a client (and a stateful fuzzer) can follow a created thing to the operations on it:
# (method, path, status, {path parameter: runtime expression}, prefix of the target paths).
LINK_SOURCES = (
    ("post", f"{V1}/plugins", "201", {"plugin_id": "$response.body#/data/id"}, f"{V1}/plugins/{{plugin_id}}"),
    ("post", f"{V1}/plugins/{{plugin_id}}/versions", "201",
     {"plugin_id": "$request.path.plugin_id", "version": "$response.body#/data/version"},
     f"{V1}/plugins/{{plugin_id}}/versions/{{version}}"),
    ("post", f"{V1}/plugins/{{plugin_id}}/install", "202", {"installation_id": "$response.body#/data/installationId"},
     f"{V1}/installations/{{installation_id}}"),
    ("post", f"{V1}/plugins/{{plugin_id}}/reviews", "201", {"review_id": "$response.body#/data/id"},
     f"{V1}/reviews/{{review_id}}"),
    ("post", f"{V1}/webhooks", "201", {"webhook_id": "$response.body#/data/id"}, f"{V1}/webhooks/{{webhook_id}}"),
    ("post", f"{V1}/webhooks/{{webhook_id}}/ping", "202",
     {"webhook_id": "$request.path.webhook_id", "delivery_id": "$response.body#/data/id"},
     f"{V1}/webhooks/{{webhook_id}}/deliveries/{{delivery_id}}"),
    ("post", f"{V1}/admin/accounts", "201", {"account_id": "$response.body#/data/id"},
     f"{V1}/admin/accounts/{{account_id}}"),
    ("post", f"{V1}/admin/accounts/{{account_id}}/api-keys", "201", {"key_id": "$response.body#/data/id"},
     f"{V1}/api-keys/{{key_id}}"),
    ("post", f"{V1}/me/api-keys", "201", {"key_id": "$response.body#/data/id"}, f"{V1}/api-keys/{{key_id}}"),
    ("post", f"{V1}/environments", "201", {"name": "$response.body#/data/name"}, f"{V1}/environments/{{name}}"),
)
HTTP_METHODS = ("get", "put", "post", "patch", "delete")
# A new plugin can be reviewed and installed only once a version is published: not a link from its creation.
NOT_LINKED = (f"{V1}/plugins/{{plugin_id}}/reviews", f"{V1}/plugins/{{plugin_id}}/install")
RATE_LIMIT_HEADERS = {
    "X-RateLimit-Limit": {"description": "Requests allowed in the current window",
                          "schema": {"type": "integer"}},
    "X-RateLimit-Remaining": {"description": "Requests left in the current window", "schema": {"type": "integer"}},
    "X-RateLimit-Reset": {"description": "When the window ends (ISO 8601 UTC)",
                          "schema": {"type": "string", "format": "date-time"}},
}
DESCRIPTION = """The Plugin Marketplace public API. Reads are public; writes need an API key
(`Authorization: Bearer mkp_…`, `X-API-Key` or `api-key`) or a token from the configured identity provider.

Rate limits: anonymous callers 100 requests/hour per address, authenticated 1000/hour per account,
enterprise accounts their own limit. Every response carries `X-RateLimit-Limit`, `X-RateLimit-Remaining`,
`X-RateLimit-Reset` (ISO 8601 UTC) and the IETF draft `RateLimit-Policy`/`RateLimit` fields; a `429 RATE_LIMITED`
answer also has `Retry-After`. Errors use one envelope: `{"error": {"code", "message", "details"},
"timestamp", "requestId"}`. Text may not contain U+0000 (400 VALIDATION_ERROR)."""

# Without the web portal (WEB_URL unset) the gateway answers /docs itself: a page with no script, so it
# works air-gapped; the interactive reference (Swagger UI from a pinned package) is the portal's /docs.
DOCS_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Plugin Marketplace API</title>
<meta name="viewport" content="width=device-width, initial-scale=1"></head>
<body><main><h1>Plugin Marketplace API</h1>
<p>The OpenAPI 3 document of the whole public API is at <a href="{spec}">{spec}</a>.</p>
<p>The interactive reference is part of the web portal: run the portal and set the gateway's
<code>WEB_URL</code>, then open <code>/docs</code>.</p></main></body></html>
"""


def _public(path: str) -> bool:
    return path.startswith(API_PREFIX + "/") or path.startswith(PUBLISHER_PREFIX)


def _rewrite_refs(node, renames: dict[str, str]):
    if isinstance(node, dict):
        return {key: (renames.get(value, value) if key == "$ref" and isinstance(value, str)
                      else _rewrite_refs(value, renames)) for key, value in node.items()}
    if isinstance(node, list):
        return [_rewrite_refs(item, renames) for item in node]
    return node


def _operation_ref(path: str, method: str) -> str:
    return "#/paths/" + path.replace("~", "~0").replace("/", "~1") + "/" + method


def add_links(paths: dict) -> None:
    """Add LINK_SOURCES' links to the documented success responses they start from."""
    for method, path, status, expressions, prefix in LINK_SOURCES:
        response = paths.get(path, {}).get(method, {}).get("responses", {}).get(status)
        if response is None:
            continue
        links = response.setdefault("links", {})
        for target, operations in paths.items():
            if target != prefix and not target.startswith(prefix + "/") or target in NOT_LINKED:
                continue
            parameters = re.findall(r"{([^}]+)}", target)
            if not set(parameters) <= set(expressions):
                continue
            for target_method in HTTP_METHODS:
                if target_method in operations:
                    name = re.sub(r"[^A-Za-z0-9]+", "_", f"{target_method} {target[len(V1):]}").strip("_")
                    links[name] = {"operationRef": _operation_ref(target, target_method),
                                   "parameters": {name_: expressions[name_] for name_ in parameters}}


def merge_documents(documents: list[tuple[str, dict]]) -> dict:
    """Merge (service, OpenAPI dict) pairs: public paths only; clashing components get the service's prefix."""
    merged = {
        "openapi": "3.0.3",
        "info": {"title": "Plugin Marketplace API", "version": API_VERSION, "description": DESCRIPTION},
        "servers": [{"url": "/"}],
        "tags": [],
        "paths": {},
        "components": {
            "schemas": {},
            "securitySchemes": {
                "bearerAuth": {"type": "http", "scheme": "bearer",
                               "description": "An API key (mkp_…) or an identity provider's JWT"},
                "apiKeyHeader": {"type": "apiKey", "in": "header", "name": "X-API-Key"},
                "publisherApiKey": {"type": "apiKey", "in": "header", "name": "api-key"},
            },
            "headers": copy.deepcopy(RATE_LIMIT_HEADERS),
        },
        # Reads are public (the empty requirement); writes need one of the schemes.
        "security": [{}, {"bearerAuth": []}, {"apiKeyHeader": []}, {"publisherApiKey": []}],
    }
    components = merged["components"]
    tag_names = set()
    for service, document in documents:
        source = document.get("components", {})
        renames = {}
        for kind in COMPONENT_KINDS:
            for name, definition in source.get(kind, {}).items():
                existing = components.get(kind, {}).get(name)
                if existing is not None and existing != definition:
                    renames[f"#/components/{kind}/{name}"] = f"#/components/{kind}/{service.title()}{name}"
        document = _rewrite_refs(document, renames) if renames else document
        for kind in COMPONENT_KINDS:
            for name, definition in document.get("components", {}).get(kind, {}).items():
                target = renames.get(f"#/components/{kind}/{name}", f"#/components/{kind}/{name}").rsplit("/", 1)[1]
                components.setdefault(kind, {}).setdefault(target, definition)
        for path, operations in document.get("paths", {}).items():
            if not _public(path):
                continue
            slot = merged["paths"].setdefault(path, {})
            for method, operation in operations.items():
                slot.setdefault(method, operation)
        for tag in document.get("tags", []):
            if tag.get("name") not in tag_names:
                tag_names.add(tag.get("name"))
                merged["tags"].append(tag)
    # flask-smorest's default `Error` schema does not describe the envelope the services really send.
    components["schemas"]["Error"] = copy.deepcopy(ERROR_ENVELOPE)
    # A request line over 4094 bytes (414) or headers too large (431) never reach the application: gunicorn
    # answers them with its own small HTML page.
    default_error = components.get("responses", {}).get("DEFAULT_ERROR")
    if default_error is not None:
        default_error["description"] = ("The error envelope; a request line or headers larger than the HTTP server "
                                        "accepts (414, 431, 400) get the server's own HTML page")
        default_error["content"]["text/html"] = {"schema": {"type": "string"}}
    merged["paths"] = dict(sorted(merged["paths"].items()))
    add_links(merged["paths"])
    return merged


class OpenApiMerger:
    """Fetches the services' documents and caches the merged result for a short while."""

    def __init__(self, config, forwarder, own_spec):
        self.forwarder = forwarder
        self.own_spec = own_spec
        self.ttl = config.OPENAPI_CACHE_SECONDS
        self._cached: tuple[float, dict] | None = None
        self._lock = threading.Lock()

    def document(self) -> dict:
        now = time.monotonic()
        cached = self._cached
        if cached is not None and cached[0] > now:
            return cached[1]
        with self._lock:
            if self._cached is not None and self._cached[0] > now:
                return self._cached[1]
            documents, missing = [], []
            for service in SERVICE_ORDER:
                try:
                    documents.append((service, self.forwarder.get_json(service, "/openapi.json")))
                except Exception as exc:  # noqa: BLE001 - one service down must not hide the others
                    log.warning("could not fetch the %s service's OpenAPI document: %r", service, exc)
                    missing.append(service)
            documents.append(("gateway", json.loads(json.dumps(self.own_spec()))))
            merged = merge_documents(documents)
            if missing:
                merged["info"]["x-unavailable-services"] = missing
            # A partial document is retried soon; a complete one is kept for the configured time.
            self._cached = (now + (min(self.ttl, 5.0) if missing else self.ttl), merged)
            return merged


def openapi_view():
    """The merged OpenAPI document of the public API."""
    return jsonify(current_app.extensions["gateway"].openapi.document())


def docs_view():
    """Where the API reference is (the portal serves the interactive one)."""
    html = DOCS_PAGE.format(spec=f"{API_PREFIX}/openapi.json")
    response = Response(html, content_type="text/html; charset=utf-8")
    response.headers["Content-Security-Policy"] = "default-src 'none'; frame-ancestors 'none'"
    return response
