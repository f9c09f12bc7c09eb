"""Sessions on the real PostgreSQL."""

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
            with database.read_session() as session:
                assert session.scalar(text("SELECT 1")) == 1
                assert _status(session) == TransactionStatus.IDLE  # no BEGIN was sent, none to roll back
            with database.session() as session:
                session.scalar(text("SELECT 1"))
                assert _status(session) == TransactionStatus.INTRANS  # writes keep their transaction
        finally:
            database.dispose()
