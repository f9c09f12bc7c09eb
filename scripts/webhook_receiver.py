"""A webhook receiver on loopback for tests and benchmarks: records what arrives, answers as told.

`python scripts/webhook_receiver.py PORT` runs one in its own process (the benchmarks'), which
answers 200 to every POST and reports `GET /stats` -> {"count", "arrivals": {webhook-id: time},
"installations": {installationId: time}}.
"""

import json
import sys
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


class _Server(ThreadingHTTPServer):
    request_queue_size = 512  # many senders connect at once in the benchmark
    daemon_threads = True


# behaviour(received, count) -> (status, headers, body); may sleep to play a slow receiver.
Behaviour = Callable[[Received, int], tuple[int, dict, bytes]]


def always(status: int = 200, headers: dict | None = None, body: bytes = b"ok") -> Behaviour:
    return lambda _received, _count: (status, headers or {}, body)


class Receiver:
    def __init__(self, behaviour: Behaviour | None = None, record: bool = True, port: int = 0):
        self.behaviour = behaviour or always()
        self.record = record
        self.received: list[Received] = []
        self.count = 0
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # Without these the headers and body leave as two small segments, and Nagle plus delayed ACKs
            # hold the second one back ~40 ms.
            disable_nagle_algorithm = True
            wbufsize = 64 * 1024

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

            def do_GET(self):  # noqa: N802
                with receiver._lock:
                    received = list(receiver.received)
                    count = receiver.count
                stats = {"count": count, "arrivals": {r.headers.get("webhook-id", ""): r.at for r in received},
                         "installations": {}}
                for item in received:
                    try:
                        installation_id = json.loads(item.body)["data"].get("installationId")
                    except (ValueError, KeyError, TypeError, AttributeError):
                        continue
                    if installation_id:
                        stats["installations"][installation_id] = item.at
                body = json.dumps(stats).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_DELETE(self):  # noqa: N802 - forget what arrived
                with receiver._lock:
                    receiver.count = 0
                    receiver.received.clear()
                self.send_response(204)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *_args):
                pass

        self.server = _Server(("127.0.0.1", port), Handler)
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


if __name__ == "__main__":
    with Receiver(port=int(sys.argv[1])) as running:
        running.thread.join()
