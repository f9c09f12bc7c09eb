"""Helpers for the services' tests and benches: isolated databases and broker names, waiting on conditions,
loopback-only targets."""

import ipaddress
import os
import socket
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
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


@contextmanager
def running_worker(worker, timeout: float = 20.0) -> Iterator[object]:
    """Run `worker` (a marketplace_shared.worker.Worker) on a daemon thread until it is connected; stop it
    and wait for its thread when the block ends."""
    import threading

    thread = threading.Thread(target=worker.run, daemon=True)
    thread.start()
    try:
        wait_for(lambda: worker.ready, timeout=timeout, message="worker connected")
        yield worker
    finally:
        worker.stopping = True
        thread.join(timeout=10)


def python_loop_seconds(steps: int = 10_000_000) -> float:
    """How long a plain Python loop takes here now: benches print it beside their figures, because a shared
    machine's speed changes from one minute to the next (this one: 0.35-0.67 s)."""
    started = time.perf_counter()
    total = 0
    for step in range(steps):
        total += step
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


def serve_bytes(routes: dict[str, bytes]):
    """A loopback HTTP server answering GET `path` with `routes[path]` (404 otherwise); call .shutdown()."""
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 - http.server's naming
            body = routes.get(self.path, b"")
            self.send_response(200 if body else 404)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


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
