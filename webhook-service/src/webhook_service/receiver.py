"""A webhook receiver on loopback for tests and the benchmark: records what arrives, answers as told."""

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Received:
    path: str
    headers: dict
    body: bytes
    at: float  # time.time() when it arrived


# behaviour(received, count) -> (status, headers, body); may sleep to play a slow receiver.
Behaviour = Callable[[Received, int], tuple[int, dict, bytes]]


def always(status: int = 200, headers: dict | None = None, body: bytes = b"ok") -> Behaviour:
    return lambda _received, _count: (status, headers or {}, body)


class Receiver:
    def __init__(self, behaviour: Behaviour | None = None, record: bool = True):
        self.behaviour = behaviour or always()
        self.record = record
        self.received: list[Received] = []
        self.count = 0
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self):  # noqa: N802 - http.server's naming
                length = int(self.headers.get("Content-Length") or 0)
                item = Received(self.path, {k.lower(): v for k, v in self.headers.items()},
                                self.rfile.read(length), time.time())
                with receiver._lock:
                    receiver.count += 1
                    count = receiver.count
                    if receiver.record:
                        receiver.received.append(item)
                status, headers, body = receiver.behaviour(item, count)
                try:
                    self.send_response(status)
                    for key, value in headers.items():
                        self.send_header(key, value)
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                except OSError:
                    pass  # the sender gave up (a timeout): nothing to answer

            def log_message(self, *_args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hook"

    def __enter__(self) -> "Receiver":
        self.thread.start()
        return self

    def __exit__(self, *_exc) -> None:
        self.server.shutdown()
        self.server.server_close()
