"""The gateway's own CPU per forwarded request, in process: the fast path with the upstream call replaced by a
canned answer, so only admission, rate limit, headers and forwarding preparation are measured.

    python gateway/bench_inprocess.py                        # counters in a SQLite file
    python gateway/bench_inprocess.py --redis-url redis://127.0.0.1:6379/0

Prints microseconds of CPU per request for each round and the best round (the least disturbed by others).
"""

import argparse
import io
import tempfile
import time

from gateway.app import create_app
from gateway.config import Config
from gateway.migrate import migrate

ADMIN_KEY = "bench-admin-key-0123456789"


class _CannedHeaders(dict):
    def items(self):
        return list(super().items())


class _CannedUpstream:
    status = 200
    body = b'{"data": [], "pagination": {"page": 1}, "links": {}}'

    def __init__(self):
        self.headers = _CannedHeaders({"Content-Type": "application/json", "Content-Length": str(len(self.body)),
                                       "X-Request-Id": "req_upstream", "Server": "gunicorn"})

    def read(self):
        return self.body

    def release_conn(self):
        pass


def _environ() -> dict:
    return {"REQUEST_METHOD": "GET", "PATH_INFO": "/api/marketplace/v1/plugins", "QUERY_STRING": "limit=20",
            "SERVER_NAME": "127.0.0.1", "SERVER_PORT": "8080", "wsgi.url_scheme": "http", "REMOTE_ADDR": "127.0.0.1",
            "HTTP_HOST": "127.0.0.1:8080", "HTTP_AUTHORIZATION": f"Bearer {ADMIN_KEY}", "HTTP_ACCEPT": "*/*",
            "HTTP_ORIGIN": "https://portal.example.com", "wsgi.input": io.BytesIO()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--redis-url", help="count in this Redis (loopback) instead of a SQLite file")
    parser.add_argument("--requests", type=int, default=3000, help="per round")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        _run(args, tmp)


def _run(args, tmp: str) -> None:
    config = Config(DATABASE_URL=f"sqlite:///{tmp}/gateway.db", RATE_LIMIT_SQLITE_PATH=f"{tmp}/rl.db",
                    REDIS_URL=args.redis_url, MARKETPLACE_ADMIN_API_KEY=ADMIN_KEY, LOG_LEVEL="WARNING",
                    RATE_LIMIT_ANONYMOUS="100000000/hour", RATE_LIMIT_AUTHENTICATED="100000000/hour",
                    RATE_LIMIT_KEY_PREFIX=f"bench{time.time_ns()}")
    migrate(config)
    app = create_app(config)
    app.extensions["gateway"].forwarder.send = lambda *_args, **_kwargs: _CannedUpstream()

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
