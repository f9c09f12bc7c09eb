import json
import time
from http.server import BaseHTTPRequestHandler

import pytest

from gateway.app import create_app
from gateway.config import Config
from gateway.migrate import migrate
from marketplace_shared.testing import QuietHandler, app_fixtures, serve_loopback

ADMIN_KEY = "test-admin-key-0123456789"
SECRET = "test-internal-secret"


class FakeUpstream:
    """A service stand-in on a free port (HTTP/1.1 keep-alive): echoes what it received as JSON.

    Paths ending in /slow answer after 1.5 s, /big sends 1 MiB, /openapi.json serves `self.openapi`.
    """

    def __init__(self, name: str):
        self.name = name
        self.requests = []
        self.openapi = {"openapi": "3.0.3", "info": {"title": name, "version": "v1"}, "paths": {}}
        self.server = serve_loopback(self._handler_class())
        self.port = self.server.server_address[1]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _handler_class(self):
        upstream = self

        class Handler(QuietHandler):
            def _answer(self):
                upstream.handle(self)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = _answer

        return Handler

    def handle(self, handler: BaseHTTPRequestHandler):
        path, _, query = handler.path.partition("?")
        if path == "/openapi.json":
            return self._send(handler, 200, json.dumps(self.openapi).encode(), "application/json")
        if path.endswith("/slow"):
            time.sleep(1.5)
        length = int(handler.headers.get("Content-Length") or 0)
        if handler.headers.get("Transfer-Encoding", "").lower() == "chunked":
            raw = b""
            while True:
                size = int(handler.rfile.readline().strip(), 16)
                if size == 0:
                    handler.rfile.readline()
                    break
                raw += handler.rfile.read(size)
                handler.rfile.readline()
        else:
            raw = handler.rfile.read(length) if length else b""
        seen = {"service": self.name, "method": handler.command, "path": path, "target": handler.path,
                "query": query, "headers": dict(handler.headers.items()), "bodyLength": len(raw)}
        self.requests.append({**seen, "body": raw})
        if path.endswith("/big"):
            return self._send(handler, 200, b"x" * (1024 * 1024), "application/octet-stream")
        status = 201 if handler.command == "POST" else 200
        self._send(handler, status, json.dumps(seen).encode(), "application/json",
                   [("X-Upstream", self.name), ("Keep-Alive", "timeout=5"), ("X-RateLimit-Limit", "7")])

    @staticmethod
    def _send(handler, status, body, content_type, extra=()):
        handler.send_response(status)
        handler.send_header("Content-Type", content_type)
        handler.send_header("Content-Length", str(len(body)))
        for key, value in extra:
            handler.send_header(key, value)
        handler.end_headers()
        if handler.command != "HEAD":
            handler.wfile.write(body)

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(scope="session")
def upstreams():
    servers = {name: FakeUpstream(name) for name in ("catalog", "install", "review", "webhook")}
    yield servers
    for server in servers.values():
        server.stop()


@pytest.fixture
def config(tmp_path, upstreams):
    for server in upstreams.values():
        server.requests.clear()
    return Config(DATABASE_URL=f"sqlite:///{tmp_path}/gateway.db", RATE_LIMIT_SQLITE_PATH=str(tmp_path / "rl.db"),
                  REDIS_URL=None, MARKETPLACE_ADMIN_API_KEY=ADMIN_KEY, INTERNAL_TOKEN_SECRET=SECRET,
                  CATALOG_URL=upstreams["catalog"].url, INSTALL_URL=upstreams["install"].url,
                  REVIEW_URL=upstreams["review"].url, WEBHOOK_URL=upstreams["webhook"].url,
                  RATE_LIMIT_ANONYMOUS="1000/hour", RATE_LIMIT_AUTHENTICATED="1000/hour", TRUSTED_PROXIES=[],
                  CORS_ORIGINS=["*"], UPSTREAM_CONNECT_TIMEOUT=1.0, UPSTREAM_READ_TIMEOUT=5.0,
                  MAX_CONTENT_LENGTH=2 * 1024 * 1024, OPENAPI_CACHE_SECONDS=30.0, JWT_SHARED_SECRET=None,
                  JWT_JWKS_URL=None, JWT_ISSUER=None, JWT_AUDIENCE=None)


app, client = app_fixtures(create_app, migrate)


ADMIN = {"Authorization": f"Bearer {ADMIN_KEY}"}


def make_account(client, role="user", **fields):
    """Create an account through the admin API; returns (account, key headers)."""
    body = {"name": f"{role} person", "email": f"{role}-{time.perf_counter_ns()}@example.com", "role": role, **fields}
    created = client.post("/api/marketplace/v1/admin/accounts", json=body, headers=ADMIN)
    assert created.status_code == 201, created.get_json()
    account = created.get_json()["data"]
    key = client.post(f"/api/marketplace/v1/admin/accounts/{account['id']}/api-keys", json={"name": "test"},
                      headers=ADMIN)
    assert key.status_code == 201, key.get_json()
    return account, {"X-API-Key": key.get_json()["data"]["key"]}
