"""Sessions on the real PostgreSQL."""

import psycopg
from psycopg.pq import TransactionStatus
from sqlalchemy import text

from marketplace_shared.db import Database
from marketplace_shared.testing import temporary_postgres_database


def _status(session) -> TransactionStatus:
    return session.connection().connection.driver_connection.info.transaction_status


def test_read_sessions_hold_no_transaction_open_between_statements():
    with temporary_postgres_database() as url:
        database = Database(url)
        try:
            with database.session() as session:
                session.scalar(text("SELECT 1"))
                assert _status(session) == TransactionStatus.INTRANS  # writes keep their transaction
            assert database.read_engine is None  # a service that never reads so opens no second pool
            for _ in range(3):
                with database.read_session() as session:
                    assert session.scalar(text("SELECT 1")) == 1
                    assert _status(session) == TransactionStatus.IDLE  # no BEGIN was sent, none to roll back
                    assert session.connection().connection.driver_connection.autocommit
            # Reads have their own pool of connections that stay autocommit; writes' pool is left as it was.
            assert database.read_engine.pool.checkedin() == 1 and database.engine.pool.checkedin() == 1
            with database.session() as session:
                session.execute(text("CREATE TEMPORARY TABLE t (x int)"))
                assert _status(session) == TransactionStatus.INTRANS
        finally:
            database.dispose()


def test_a_pooled_connection_closed_by_the_server_while_idle_is_replaced_before_use():
    with temporary_postgres_database() as url:
        database = Database(url)
        try:
            with database.engine.connect() as connection:
                first_pid = connection.scalar(text("SELECT pg_backend_pid()"))
                record = connection.connection._connection_record
            with psycopg.connect(url, autocommit=True) as admin:  # as a server restart would
                admin.execute("SELECT pg_terminate_backend(%s)", (first_pid,))
            record.info["idle_since"] -= 60  # as if it had sat in the pool for a minute
            assert database.engine.pool.checkedin() == 1  # the dead one, which the next checkout takes
            with database.engine.connect() as connection:
                assert connection.scalar(text("SELECT 1")) == 1
                assert connection.scalar(text("SELECT pg_backend_pid()")) != first_pid
        finally:
            database.dispose()
