"""Helpers for the services' tests and benches: isolated databases and broker names, waiting on conditions,
loopback-only targets."""

import ipaddress
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

import psycopg

POSTGRES_ADMIN_URL = os.environ.get("TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
AMQP_URL = os.environ.get("TEST_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/")


def unique_name(prefix: str = "t") -> str:
    return f"{prefix}_{uuid.uuid4().hex[:10]}"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def require_loopback(url: str) -> None:
    """Stop a bench aimed at anything but this machine: it must never load someone else's server."""
    host = urlsplit(url).hostname or ""
    addresses = {info[4][0] for info in socket.getaddrinfo(host, None)}
    if not addresses or not all(ipaddress.ip_address(address.split("%")[0]).is_loopback for address in addresses):
        raise SystemExit(f"refusing to benchmark {url}: loopback addresses only")


def wait_for(condition: Callable[[], object], timeout: float = 20.0, interval: float = 0.05,
             message: str = "condition") -> object:
    """Poll until condition() is truthy and return its value; fail after timeout seconds."""
    deadline = time.monotonic() + timeout
    last_error = None
    while time.monotonic() < deadline:
        try:
            value = condition()
            if value:
                return value
        except Exception as exc:  # noqa: BLE001 - keep polling; report the last error on timeout
            last_error = exc
        time.sleep(interval)
    suffix = f": {last_error!r}" if last_error else ""
    raise TimeoutError(f"timed out after {timeout}s waiting for {message}{suffix}")


def checked_events_fixture(outbox_model):
    """An autouse pytest fixture for a service's conftest.py: every event a test makes the service write to
    `outbox_model` must match docs/asyncapi.yaml; it yields the ones written."""
    import pytest

    from .contracts import outbox_checked

    @pytest.fixture(autouse=True)
    def checked_events():
        with outbox_checked(outbox_model) as written:
            yield written

    return checked_events


def app_fixtures(create_app, migrate):
    """The `app` and `client` fixtures of a service's conftest.py, which defines `config`: the app that
    `create_app(config)` builds on a database `migrate(config)` has brought up to date, and its test client.
    Use: `app, client = app_fixtures(create_app, migrate)`."""
    import pytest

    @pytest.fixture
    def app(config):
        migrate(config)
        return create_app(config)

    @pytest.fixture
    def client(app):
        return app.test_client()

    return app, client


def database_fixture():
    """The `database` fixture of a service's conftest.py: a Database of the test's own on `config.DATABASE_URL`
    (once `app` has set that database up), disposed after the test."""
    import pytest

    from .db import Database

    @pytest.fixture
    def database(app, config):
        database = Database(config.DATABASE_URL)
        yield database
        database.dispose()

    return database


def migrated_template_fixture(config_class, migrate, filename: str):
    """A session-scoped `migrated_template` fixture: one SQLite file `filename` migrated once per test run, the
    path of which each test's `app` copies (migrating a database for every test is slow)."""
    import pytest

    @pytest.fixture(scope="session")
    def migrated_template(tmp_path_factory):
        path = tmp_path_factory.mktemp("template") / filename
        migrate(config_class(DATABASE_URL=f"sqlite:///{path}"))
        return path

    return migrated_template


@contextmanager
def running_worker(worker, timeout: float = 20.0) -> Iterator[object]:
    """Run `worker` (a marketplace_shared.worker.Worker) on a daemon thread until it is connected; stop it
    and wait for its thread when the block ends."""
    thread = threading.Thread(target=worker.run, daemon=True)
    thread.start()
    try:
        wait_for(lambda: worker.ready, timeout=timeout, message="worker connected")
        yield worker
    finally:
        worker.stopping = True
        thread.join(timeout=10)


def check_service_basics(client) -> None:
    """What every service's app answers through the shared Api: the error envelope, with a request id, for an
    unknown route, and its health check."""
    response = client.get("/nope")
    body = response.get_json()
    assert response.status_code == 404, body
    assert body["error"]["code"] == "NOT_FOUND" and body["requestId"].startswith("req_"), body
    assert client.get("/healthz").get_json() == {"status": "ok"}


def python_loop_seconds(steps: int = 10_000_000) -> float:
    """How long a plain Python loop takes here now: benches print it beside their figures, because a shared
    machine's speed changes from one minute to the next (this one: 0.35-0.67 s)."""
    started = time.perf_counter()
    total = 0
    for step in range(steps):
        total += step
    return time.perf_counter() - started


def run_clients(threads: list) -> float:
    """Start the benches' client threads together, wait for all of them; the seconds it took."""
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return time.perf_counter() - started


def postgres_available() -> bool:
    try:
        with psycopg.connect(POSTGRES_ADMIN_URL, connect_timeout=2):
            return True
    except psycopg.Error:
        return False


@contextmanager
def temporary_postgres_database(prefix: str = "mkt_test") -> Iterator[str]:
    """Create a randomly named database, yield its URL, and drop it afterwards."""
    name = unique_name(prefix)
    with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    base = POSTGRES_ADMIN_URL.rsplit("/", 1)[0]
    try:
        yield f"{base}/{name}"
    finally:
        with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextmanager
def isolated_service(config_class, migrate, name: str, other_queues: tuple[str, ...] = (),
                     **settings) -> Iterator[object]:
    """A service configuration of its own for an integration test: a new PostgreSQL database that
    `migrate(config)` has set up, the tests' broker (AMQP_URL) with an exchange and queues under a unique prefix
    (`name_<random>.`); the queues (the service's own and `other_queues`, named under the prefix), the exchange
    and the database are removed when the block ends."""
    prefix = unique_name(name) + "."
    with temporary_postgres_database() as url:
        config = config_class(DATABASE_URL=url, AMQP_URL=AMQP_URL, EVENT_PREFIX=prefix,
                              EVENT_EXCHANGE=prefix + "marketplace.events", **settings)
        migrate(config)
        try:
            yield config
        finally:
            queues = [config.queue_name, *(prefix + queue for queue in other_queues)]
            delete_broker_objects(prefix, queues, config.EVENT_EXCHANGE)


def delete_broker_objects(prefix: str, queue_names: list[str], exchange: str | None = None) -> None:
    """Remove the test run's queues (and their retry/dead companions) and exchange."""
    import pika

    connection = pika.BlockingConnection(pika.URLParameters(AMQP_URL))
    channel = connection.channel()
    for queue in queue_names:
        for name in (queue, f"{queue}.retry", f"{queue}.dead"):
            channel.queue_delete(queue=name)
    if exchange:
        channel.exchange_delete(exchange=exchange)
    connection.close()


class QuietHandler(BaseHTTPRequestHandler):
    """The request handler of the tests' loopback servers: HTTP/1.1 (keep-alive), no access log on stderr."""

    protocol_version = "HTTP/1.1"

    def log_message(self, *_args):
        pass


def serve_loopback(handler_class, poll_interval: float = 0.5) -> ThreadingHTTPServer:
    """Serve `handler_class` on 127.0.0.1, a free port, from daemon threads; call .shutdown() and .server_close()."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler_class)
    server.daemon_threads = True
    server.block_on_close = False
    threading.Thread(target=server.serve_forever, args=(poll_interval,), daemon=True).start()
    return server


def serve_bytes(routes: dict[str, bytes], content_type: str | None = None) -> ThreadingHTTPServer:
    """A loopback HTTP server answering GET `path` with `routes[path]` (404 otherwise), of `content_type` when
    given; call .shutdown()."""

    class Handler(QuietHandler):
        def do_GET(self):  # noqa: N802 - http.server's naming
            body = routes.get(self.path, b"")
            self.send_response(200 if body else 404)
            if content_type:
                self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    return serve_loopback(Handler)


def lose_insert_race(monkeypatch, times: int = 1) -> list:
    """Make the next `times` flushes that insert rows fail as a request that lost a unique-constraint race
    does (a genuine IntegrityError from SQLite): the error policy must answer 409, never 500.

    Returns the list of sessions that lost, so a test can check the race happened where it expected."""
    import sqlite3

    from sqlalchemy.exc import IntegrityError
    from sqlalchemy.orm import Session

    connection = sqlite3.connect(":memory:")
    connection.execute("CREATE TABLE winners (name TEXT UNIQUE)")
    connection.execute("INSERT INTO winners VALUES ('taken')")
    try:
        connection.execute("INSERT INTO winners VALUES ('taken')")
    except sqlite3.IntegrityError as exc:
        error = IntegrityError("INSERT INTO winners (name) VALUES (?)", ("taken",), exc)
    finally:
        connection.close()
    original, lost = Session.flush, []

    def flush(self, *args, **kwargs):
        if self.new and len(lost) < times:
            lost.append(self)
            raise error
        return original(self, *args, **kwargs)

    monkeypatch.setattr(Session, "flush", flush)
    return lost


# -- common factories --------------------------------------------------------------------------------------
def identity_headers(secret: str, account: str = "acct_ann", role: str = "user", name: str | None = None,
                     email: str | None = None) -> dict:
    """The header the gateway sends a service for this caller: a signed identity token."""
    from .identity import HEADER, Identity, issue_token

    identity = Identity(id=account, role=role, name=name if name is not None else account,
                        email=email if email is not None else f"{account}@example.com")
    return {HEADER: issue_token(secret, identity)}


def make_tgz(files: dict[str, bytes], top: str = "package") -> bytes:
    """A gzipped tar of `files` (name -> content), each under `top/` as npm packs them (`top=""`: at the root)."""
    import io
    import tarfile

    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for name, content in files.items():
            info = tarfile.TarInfo(f"{top}/{name}" if top else name)
            info.size = len(content)
            info.mode = 0o644
            archive.addfile(info, io.BytesIO(content))
    return buffer.getvalue()


def make_zip(files: dict[str, bytes]) -> bytes:
    """A zip archive of `files` (name -> content)."""
    import io
    import zipfile

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, content in files.items():
            archive.writestr(name, content)
    return buffer.getvalue()
