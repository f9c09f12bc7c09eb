"""A fake of the public API for the portal's unit tests, reached by the real SDK through a requests adapter."""

import copy
import json

import requests
from flask import Flask, jsonify, request
from requests.adapters import BaseAdapter

PREFIX = "/api/marketplace/v1"
KEYS = {"mkp_user": {"id": "acct_user", "name": "Uma User", "email": "uma@example.com", "role": "user"},
        "mkp_admin": {"id": "acct_admin", "name": "Ada Admin", "email": "ada@example.com", "role": "admin"},
        "mkp_publisher": {"id": "acct_pub", "name": "Pat Publisher", "email": "pat@example.com", "role": "publisher"}}

XSS = '<script>alert("x")</script>'


def plugin(name: str, **changes) -> dict:
    base = {
        "id": f"plugin_{name}", "name": name, "displayName": name.title(), "description": f"About {name}",
        "longDescription": f"# {name}\n\nSome **bold** text.", "version": "1.2.0",
        "author": {"id": "acct_pub", "name": "Pat Publisher", "email": None, "url": None, "verified": True},
        "category": "monitoring", "tags": ["metrics"], "icon": None, "screenshots": [], "videos": [],
        "repository": "https://example.com/repo", "homepage": None, "documentation": None, "changelog": None,
        "license": "MIT", "installationInstructions": None, "verified": True, "featured": False,
        "status": "published", "deprecation": None,
        "rating": {"average": 4.5, "count": 2, "distribution": {"5": 1, "4": 1, "3": 0, "2": 0, "1": 0},
                   "reviews": []},
        "downloads": {"total": 1234, "lastMonth": 10}, "installations": {"total": 3, "active": 2},
        "versions": [
            {"version": "1.2.0", "releaseDate": "2026-11-01T00:00:00Z", "changelog": "Faster.",
             "compatibility": {"backstage": "^1.30.0", "node": ">=18", "platform": []},
             "dependencies": [{"name": "catalog-backend", "version": "^1.0.0"}], "permissions": ["catalog.read"],
             "yanked": False, "yankReason": None, "yankedAt": None, "downloads": 100,
             "package": {"url": "/x", "filename": "x.tgz", "format": "tgz", "size": 2048, "sha256": "ab",
                         "integrity": "sha256-q="}},
            {"version": "1.1.0", "releaseDate": "2026-10-01T00:00:00Z", "changelog": "Broken.",
             "compatibility": {"backstage": "^1.20.0", "node": None, "platform": []}, "dependencies": [],
             "permissions": [], "yanked": True, "yankReason": "Leaks memory", "yankedAt": "2026-10-02T00:00:00Z",
             "downloads": 5, "package": None},
        ],
        "dependencies": [{"name": "catalog-backend", "version": "^1.0.0"}], "permissions": ["catalog.read"],
        "configuration": {"schema": {"type": "object", "required": ["apiUrl"], "properties": {
            "apiUrl": {"type": "string", "description": "Base URL", "format": "uri"},
            "refreshSeconds": {"type": "integer", "minimum": 10, "default": 60},
            "mode": {"type": "string", "enum": ["fast", "safe"]},
            "debug": {"type": "boolean"},
            "hosts": {"type": "array", "items": {"type": "string"}},
            "apiToken": {"type": "string"},
            "extra": {"type": "object"}}, "additionalProperties": False},
            "defaults": {"refreshSeconds": 60}, "examples": [{"apiUrl": "https://api.example.com"}]},
        "features": ["Dashboards"], "support": {"email": "help@example.com", "documentation": None, "issues": None},
        "stats": {"stars": 10, "forks": 2, "issues": 1, "contributors": 3, "lastCommit": None},
        "compatibility": {"backstage": "^1.30.0", "node": ">=18", "platform": []},
        "pricing": {"model": "free"}, "createdAt": "2026-01-01T00:00:00Z", "updatedAt": "2026-11-01T00:00:00Z",
    }
    base.update(changes)
    return base


def summary(detail: dict) -> dict:
    keys = ("id", "name", "displayName", "description", "version", "category", "tags", "icon", "verified",
            "featured", "compatibility", "pricing", "updatedAt")
    item = {key: detail[key] for key in keys}
    item.update(author={"name": detail["author"]["name"]}, rating={"average": 4.5, "count": 2},
                downloads=detail["downloads"]["total"], deprecated=detail["deprecation"] is not None)
    return item


def error(status: int, code: str, message: str, details=None):
    return jsonify({"error": {"code": code, "message": message, "details": details or {}},
                    "timestamp": "2026-12-01T00:00:00Z", "requestId": "req_fake_123"}), status


class FakeGateway:
    """The state of the fake API and every request it saw."""

    def __init__(self):
        self.plugins = {p["name"]: p for p in (
            plugin("metrics-board"),
            plugin("evil-plugin", displayName=XSS, description=XSS,
                   longDescription=f"Hi {XSS} [click](javascript:alert(1)) <img src=x onerror=alert(1)>",
                   repository="javascript:alert(1)", icon="javascript:alert(1)", tags=[XSS]),
            plugin("old-thing", deprecation={"reason": "Unmaintained", "replacement": "metrics-board",
                                             "deprecatedAt": None}),
        )}
        self.installations: dict[str, dict] = {}
        self.requests: list[dict] = []
        self.app = self._build()

    def _build(self) -> Flask:
        app = Flask("fake-gateway")
        fake = self

        def account():
            header = request.headers.get("Authorization", "")
            return KEYS.get(header.removeprefix("Bearer ").strip()) if header else None

        @app.before_request
        def record():
            fake.requests.append({"method": request.method, "path": request.path, "args": dict(request.args),
                                  "headers": dict(request.headers), "json": request.get_json(silent=True)})
            if request.headers.get("Authorization") and account() is None:
                return error(401, "UNAUTHORIZED", "Invalid API key")
            return None

        @app.get(f"{PREFIX}/me")
        def me():
            who = account()
            return ({"data": who} if who else error(401, "UNAUTHORIZED", "Authentication required"))

        @app.get(f"{PREFIX}/plugins")
        def list_plugins():
            items = list(fake.plugins.values())
            search = request.args.get("search")
            if search:
                items = [p for p in items if search.lower() in p["name"]]
            if request.args.get("category"):
                items = [p for p in items if p["category"] == request.args["category"]]
            if request.args.get("minRating") == "bad":
                return error(400, "VALIDATION_ERROR", "Invalid request parameters: minRating",
                             {"fields": {"minRating": ["Not a valid number."]}})
            body = {"data": [summary(p) for p in items],
                    "pagination": {"page": 1, "limit": 12, "total": len(items), "totalPages": 1 if items else 0,
                                   "hasNextPage": False, "hasPrevPage": False}, "links": {}, "metadata": {}}
            if request.args.get("facets") == "true":
                body["facets"] = {"category": [{"value": "monitoring", "count": len(items)}],
                                  "tags": [{"value": "metrics", "count": len(items)}],
                                  "verified": [{"value": "true", "count": len(items)}, {"value": "false", "count": 0}],
                                  "featured": [{"value": "true", "count": 0}, {"value": "false", "count": len(items)}]}
            return body

        @app.get(f"{PREFIX}/categories")
        def categories():
            return {"data": [{"name": "monitoring", "count": len(fake.plugins)}]}

        @app.get(f"{PREFIX}/plugins/<name>")
        def detail(name):
            found = fake.plugins.get(name) or next((p for p in fake.plugins.values() if p["id"] == name), None)
            if found is None:
                return error(404, "PLUGIN_NOT_FOUND", f"Plugin '{name}' not found")
            return {"data": found}

        @app.get(f"{PREFIX}/plugins/<plugin_id>/stats")
        def stats(plugin_id):
            return {"data": {"usage": {"installations": 5, "activeInstallations": 4, "dailyActiveUsers": 9},
                             "performance": {"averageResponseTime": 100, "p95ResponseTime": 300,
                                             "p99ResponseTime": None, "errorRate": 0.01, "availability": 99.9},
                             "trends": {"installationGrowth": 1.5, "usageGrowth": 2.0, "ratingTrend": 0.1}}}

        @app.get(f"{PREFIX}/plugins/<plugin_id>/reviews")
        def reviews(plugin_id):
            return {"data": [{"id": "review_1", "rating": 4, "title": XSS, "review": f"Nice {XSS}",
                              "user": {"name": XSS}, "createdAt": "2026-11-02T00:00:00Z", "helpful": 3,
                              "verifiedInstall": True}],
                    "pagination": {"page": 1, "limit": 10, "total": 1, "totalPages": 1}}

        @app.post(f"{PREFIX}/plugins/<plugin_id>/install")
        def install(plugin_id):
            if account() is None:
                return error(401, "UNAUTHORIZED", "Authentication required")
            body = request.get_json()
            if body.get("environment") == "taken":
                return error(409, "ALREADY_INSTALLED", "Already installed here")
            if body.get("configuration", {}).get("apiUrl") == "https://rejected.example.com":
                return error(400, "VALIDATION_ERROR", "Invalid configuration",
                             {"fields": {"configuration/apiUrl": ["Rejected by the API."]}})
            ident = f"install_{len(fake.installations) + 1}"
            fake.installations[ident] = {
                "installationId": ident, "pluginId": plugin_id, "pluginName": "metrics-board",
                "status": "in_progress", "action": "install", "version": body.get("version"),
                "installedVersion": None, "environment": body["environment"], "namespace": body["namespace"],
                "deploymentStrategy": body["deploymentStrategy"], "configuration": body.get("configuration"),
                "progress": {"current": 30, "total": 100, "percentage": 30, "currentStep": "Downloading"},
                "error": None, "health": None, "createdAt": "2026-12-01T00:00:00Z", "accountId": account()["id"]}
            return {"data": {"installationId": ident, "status": "in_progress"}}, 202

        @app.get(f"{PREFIX}/installations")
        def installations():
            if account() is None:
                return error(401, "UNAUTHORIZED", "Authentication required")
            items = [i for i in fake.installations.values() if i["accountId"] == account()["id"]]
            if request.args.get("status"):
                items = [i for i in items if i["status"] in request.args["status"].split(",")]
            return {"data": items, "pagination": {"page": 1, "limit": 20, "total": len(items),
                                                  "totalPages": 1 if items else 0}}

        @app.get(f"{PREFIX}/installations/<ident>")
        def installation(ident):
            found = fake.installations.get(ident)
            if found is None or account() is None or found["accountId"] != account()["id"]:
                return error(404, "INSTALLATION_NOT_FOUND", f"Installation '{ident}' not found")
            return {"data": found}

        @app.get(f"{PREFIX}/installations/<ident>/logs")
        def logs(ident):
            lines = [{"id": "1", "timestamp": "2026-12-01T00:00:01Z", "level": "info", "step": "resolve",
                      "message": f"Resolved {XSS}"},
                     {"id": "2", "timestamp": "2026-12-01T00:00:02Z", "level": "info", "step": "download",
                      "message": "Downloading"}]
            after = request.args.get("cursor")
            shown = [line for line in lines if after is None or int(line["id"]) > int(after)]
            return {"data": shown, "pagination": {"nextCursor": shown[-1]["id"] if shown else after,
                                                  "hasMore": False}}

        @app.post(f"{PREFIX}/installations/<ident>/cancel")
        def cancel(ident):
            found = fake.installations[ident]
            if found["status"] in ("completed", "failed", "cancelled"):
                return error(409, "INSTALLATION_FINISHED", "The installation has finished")
            found["status"] = "cancelled"
            return {"data": found}, 202

        @app.get(f"{PREFIX}/environments/<name>")
        def environment(name):
            if account() is None:
                return error(401, "UNAUTHORIZED", "Authentication required")
            if name == "brand-new":  # created by its first install
                return error(404, "ENVIRONMENT_NOT_FOUND", f"Environment '{name}' not found")
            return {"data": {"name": name, "backstageVersion": "1.35.0", "nodeVersion": "16.0.0"}}

        return app


class FakeGatewayAdapter(BaseAdapter):
    """requests -> the fake gateway's Flask test client, so the real SDK code runs in the portal's tests."""

    def __init__(self, fake: FakeGateway):
        super().__init__()
        self.client = fake.app.test_client()

    def send(self, prepared, stream=False, timeout=None, verify=True, cert=None, proxies=None):
        url = requests.utils.urlparse(prepared.url)
        body = prepared.body
        if isinstance(body, str):
            body = body.encode()
        answer = self.client.open(url.path, method=prepared.method, query_string=url.query,
                                  headers=dict(prepared.headers), data=body)
        response = requests.Response()
        response.status_code = answer.status_code
        response.headers = requests.structures.CaseInsensitiveDict(answer.headers)
        response._content = answer.get_data()
        response.url = prepared.url
        response.request = prepared
        response.encoding = "utf-8"
        return response

    def close(self):
        pass


def copy_of(value):
    return copy.deepcopy(json.loads(json.dumps(value)))
