"""A scripted HTTP server in a thread: each test says what the API answers and reads what it was sent."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit


@dataclass
class Received:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Reply:
    status: int = 200
    body: Any = None  # dict/list -> JSON, bytes -> as is
    headers: dict[str, str] = field(default_factory=dict)


Handler = Callable[[Received], Reply]


class FakeApi:
    """Routes are (method, path) -> a Reply, a list of Replies (served in turn, the last one repeats) or a function."""

    def __init__(self) -> None:
        self.routes: dict[tuple[str, str], Reply | list[Reply] | Handler] = {}
        self.received: list[Received] = []
        self.lock = threading.Lock()
        api = self

        class RequestHandler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def handle_any(self) -> None:
                parts = urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                request = Received(self.command, parts.path, {k: v[-1] for k, v in parse_qs(parts.query).items()},
                                   dict(self.headers.items()), body)
                reply = api.answer(request)
                payload = reply.body
                if isinstance(payload, (dict, list)):
                    payload = json.dumps(payload).encode()
                    reply.headers.setdefault("Content-Type", "application/json")
                payload = payload or b""
                self.send_response(reply.status)
                for key, value in reply.headers.items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_POST = do_PATCH = do_DELETE = do_PUT = handle_any

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), RequestHandler)
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.02,), daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def route(self, method: str, path: str, reply: Reply | list[Reply] | Handler) -> None:
        self.routes[(method, "/api/marketplace/v1" + path)] = reply

    def answer(self, request: Received) -> Reply:
        with self.lock:
            self.received.append(request)
            route = self.routes.get((request.method, request.path))
            if route is None:
                return Reply(404, error_body("NOT_FOUND", "The requested URL was not found"),
                             {"X-Request-Id": "req_unknown"})
            if callable(route):
                return route(request)
            if isinstance(route, list):
                reply = route.pop(0) if len(route) > 1 else route[0]
                return Reply(reply.status, reply.body, dict(reply.headers))
            return Reply(route.status, route.body, dict(route.headers))

    def requests_to(self, method: str, path: str) -> list[Received]:
        return [r for r in self.received if r.method == method and r.path == "/api/marketplace/v1" + path]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def error_body(code: str, message: str, details: dict | None = None, request_id: str = "req_test") -> dict:
    return {"error": {"code": code, "message": message, "details": details or {}},
            "timestamp": "2024-08-07T10:30:00Z", "requestId": request_id}
