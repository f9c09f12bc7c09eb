"""Engine and session handling: SQLite (WAL) by default, PostgreSQL when DATABASE_URL says so."""

import threading
import time
from pathlib import Path

from alembic import command
from alembic.config import Config as AlembicConfig
from flask import Flask, g
from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.orm import Session, sessionmaker


def make_engine(url: str, **kwargs) -> Engine:
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://"):]
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False}, **kwargs)

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection, _record):
            # Let pysqlite's own transaction handling step aside so BEGIN IMMEDIATE works.
            dbapi_connection.isolation_level = None
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA busy_timeout=30000")
            cursor.close()

        @event.listens_for(engine, "begin")
        def _sqlite_begin(connection):
            # Take the write lock up front: two writers never deadlock on a lock upgrade.
            connection.exec_driver_sql("BEGIN IMMEDIATE")

        return engine
    # A gunicorn worker runs WEB_THREADS (4) requests at once: 5 kept connections serve it, and a few more are
    # opened for a burst. More kept connections only fill PostgreSQL's max_connections (100 by default) with
    # idle ones once several replicas run.
    kwargs.setdefault("pool_size", 5)
    kwargs.setdefault("max_overflow", 5)
    engine = create_engine(url, **kwargs)
    _ping_idle_connections(engine)
    return engine


# The read pool beside the main one (Database.read_session): kept small, PostgreSQL's connections are shared by
# every process and replica; a worker's reads rarely overlap more than its threads.
READ_POOL_SIZE = 3
READ_POOL_OVERFLOW = 5

# A pooled connection back in use sooner than this was alive a moment ago: it is not pinged first.
PING_AFTER_IDLE_SECONDS = 1.0


def _ping_idle_connections(engine: Engine) -> None:
    """pool_pre_ping for connections that sat idle: a ping on every checkout would cost each request one
    more round trip to the server, under load the most expensive part of a short read."""

    @event.listens_for(engine, "connect")
    def _connected(_dbapi_connection, record):
        record.info["idle_since"] = time.monotonic()

    @event.listens_for(engine, "checkin")
    def _checked_in(_dbapi_connection, record):
        record.info["idle_since"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _ping_if_idle(dbapi_connection, record, _proxy):
        if time.monotonic() - record.info.get("idle_since", 0.0) < PING_AFTER_IDLE_SECONDS:
            return
        try:
            engine.dialect.do_ping(dbapi_connection)
        except Exception as exc:
            # The pool drops this connection and checks out (or opens) another one.
            raise DisconnectionError("a pooled connection did not answer its ping") from exc


class Database:
    """One engine per process and the session factory bound to it."""

    def __init__(self, url: str, **engine_options):
        self.url = url
        self.engine_options = engine_options
        self.engine = make_engine(url, **engine_options)
        self.sessionmaker = sessionmaker(self.engine, expire_on_commit=False)
        self.read_engine: Engine | None = None  # made by the first read_session() (only the catalog reads so)
        self._read_sessionmaker = self.sessionmaker if self.is_sqlite else None
        self._read_lock = threading.Lock()

    @property
    def is_sqlite(self) -> bool:
        return self.engine.dialect.name == "sqlite"

    def session(self) -> Session:
        return self.sessionmaker()

    def read_session(self) -> Session:
        """A session whose statements each stand alone (autocommit on PostgreSQL): no BEGIN and no ROLLBACK, two
        round trips fewer per request. Its own small pool, autocommit from the start: switching a pooled
        connection to autocommit at each check-out and back at each return cost about 0.15 ms per request.
        SQLite's transactions cost no round trip: there it is an ordinary session."""
        if self._read_sessionmaker is None:
            with self._read_lock:
                if self._read_sessionmaker is None:
                    options = {"pool_size": READ_POOL_SIZE, "max_overflow": READ_POOL_OVERFLOW,
                               **self.engine_options, "isolation_level": "AUTOCOMMIT"}
                    self.read_engine = make_engine(self.url, **options)
                    self._read_sessionmaker = sessionmaker(self.read_engine, expire_on_commit=False)
        return self._read_sessionmaker()

    def ping(self) -> None:
        with self.engine.connect() as connection:
            connection.execute(text("SELECT 1"))

    def dispose(self) -> None:
        self.engine.dispose()
        if self.read_engine is not None:
            self.read_engine.dispose()

    def init_app(self, app: Flask) -> None:
        """Give each request one session (`request_session()`), closed when the request ends."""
        app.extensions["database"] = self

        @app.teardown_appcontext
        def _close_session(_exc):
            for key in ("db_session", "db_read_session"):
                session = g.pop(key, None)
                if session is not None:
                    session.close()


def request_session() -> Session:
    """The session of the current request; the view that changes data commits it."""
    from flask import current_app

    if "db_session" not in g:
        g.db_session = current_app.extensions["database"].session()
    return g.db_session


def read_session() -> Session:
    """A session of the current request for a view that only reads, with statements that each stand alone
    (a list page with its count in one statement, say): autocommit on PostgreSQL. Never commit through it."""
    from flask import current_app

    if "db_read_session" not in g:
        g.db_read_session = current_app.extensions["database"].read_session()
    return g.db_read_session


def run_migrations(database_url: str, migrations_dir: Path) -> None:
    """Apply the service's Alembic history up to head."""
    config = AlembicConfig()
    config.set_main_option("script_location", str(migrations_dir))
    config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    command.upgrade(config, "head")
