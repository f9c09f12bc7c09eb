"""The gateway's own CPU per forwarded request, in process: the fast path, with the service's answer canned, so
only admission, rate limit, headers and forwarding are measured.

    python gateway/bench_inprocess.py                        # counters in a SQLite file
    python gateway/bench_inprocess.py --redis-url redis://127.0.0.1:6379/0
    python gateway/bench_inprocess.py --upstream             # through a loopback socket to a canned service

Without --upstream the answer is parsed from memory (no socket); with it a child process serves it over a
kept-alive connection, so the forwarder's system calls count too (the child's CPU does not).
Prints microseconds of CPU per request for each round and the best round (the least disturbed by others).
"""

import argparse
import io
import subprocess
import sys
import tempfile
import time

from gateway import upstreams
from gateway.app import create_app
from gateway.config import Config
from gateway.migrate import migrate

ADMIN_KEY = "bench-admin-key-0123456789"
BODY = b'{"data": [], "pagination": {"page": 1}, "links": {}}'
ANSWER = (b"HTTP/1.1 200 OK\r\nServer: gunicorn\r\nDate: Wed, 02 Dec 2026 01:00:00 GMT\r\nConnection: keep-alive\r\n"
          b"Content-Type: application/json\r\nContent-Length: %d\r\nX-Request-Id: req_upstream\r\n\r\n%s"
          % (len(BODY), BODY))
# The canned service of --upstream: reads a request head, answers ANSWER, on one connection at a time.
SERVER = f"""
import socket
listener = socket.create_server(("127.0.0.1", 0))
print(listener.getsockname()[1], flush=True)
while True:
    connection, _ = listener.accept()
    reader = connection.makefile("rb")
    while True:
        line = reader.readline()
        if not line:
            break
        while line not in (b"\\r\\n", b""):
            line = reader.readline()
        connection.sendall({ANSWER!r})
    connection.close()
"""


class _CannedConnection:
    """Stands in for a connection to a service: the answer comes from memory."""

    def __init__(self):
        self.reader = io.BytesIO(BODY)

    def close(self):
        pass


def _canned_send(*_args):
    return (_CannedConnection(), b"HTTP/1.1", 200,
            [("Server", "gunicorn"), ("Content-Type", "application/json"), ("Content-Length", str(len(BODY))),
             ("X-Request-Id", "req_upstream")])


def _environ() -> dict:
    return {"REQUEST_METHOD": "GET", "PATH_INFO": "/api/marketplace/v1/plugins", "QUERY_STRING": "limit=20",
            "SERVER_NAME": "127.0.0.1", "SERVER_PORT": "8080", "wsgi.url_scheme": "http", "REMOTE_ADDR": "127.0.0.1",
            "HTTP_HOST": "127.0.0.1:8080", "HTTP_AUTHORIZATION": f"Bearer {ADMIN_KEY}", "HTTP_ACCEPT": "*/*",
            "HTTP_ORIGIN": "https://portal.example.com", "wsgi.input": io.BytesIO()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--redis-url", help="count in this Redis (loopback) instead of a SQLite file")
    parser.add_argument("--upstream", action="store_true", help="forward over loopback to a canned service")
    parser.add_argument("--requests", type=int, default=3000, help="per round")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        server = subprocess.Popen([sys.executable, "-c", SERVER], stdout=subprocess.PIPE, text=True) \
            if args.upstream else None
        try:
            catalog_url = f"http://127.0.0.1:{server.stdout.readline().strip()}" if server else None
            _run(args, tmp, catalog_url)
        finally:
            if server is not None:
                server.kill()
                server.wait()


def _run(args, tmp: str, catalog_url: str | None) -> None:
    config = Config(DATABASE_URL=f"sqlite:///{tmp}/gateway.db", RATE_LIMIT_SQLITE_PATH=f"{tmp}/rl.db",
                    REDIS_URL=args.redis_url, MARKETPLACE_ADMIN_API_KEY=ADMIN_KEY, LOG_LEVEL="WARNING",
                    RATE_LIMIT_ANONYMOUS="100000000/hour", RATE_LIMIT_AUTHENTICATED="100000000/hour",
                    RATE_LIMIT_KEY_PREFIX=f"bench{time.time_ns()}")
    if catalog_url:
        config.CATALOG_URL = catalog_url
    migrate(config)
    app = create_app(config)
    if not catalog_url:
        upstreams.Upstreams._send = lambda *_args: _canned_send()

    def start_response(_status, _headers):
        pass

    for _ in range(500):
        b"".join(app.wsgi_app(_environ(), start_response))
    rounds = []
    for _ in range(args.rounds):
        started = time.process_time()
        for _ in range(args.requests):
            b"".join(app.wsgi_app(_environ(), start_response))
        rounds.append((time.process_time() - started) / args.requests * 1e6)
    print(f"us of CPU per request: {[round(value, 1) for value in rounds]}, best {min(rounds):.1f}")


if __name__ == "__main__":
    main()
