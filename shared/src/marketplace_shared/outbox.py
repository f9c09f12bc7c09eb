"""Transactional outbox: events are rows written with the change, and a relay publishes them."""

import contextlib
import logging
import time
from datetime import datetime, timedelta

import pika.exceptions
import psycopg
from sqlalchemy import JSON, DateTime, Integer, String, select, text
from sqlalchemy.orm import Mapped, Session, mapped_column

from .clock import utcnow
from .events import new_event

log = logging.getLogger(__name__)
# On PostgreSQL a transaction that writes an event also notifies this channel (when it commits), so that
# an idle relay need not query its outbox every few milliseconds.
NOTIFY_CHANNEL = "marketplace_outbox"


class OutboxMixin:
    """Columns of a service's `outbox` table; the service declares the model on its own metadata."""

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    event_id: Mapped[str] = mapped_column(String(64), unique=True)
    event_type: Mapped[str] = mapped_column(String(100))
    payload: Mapped[dict] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    published_at: Mapped[datetime | None] = mapped_column(DateTime, index=True, nullable=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)


class ProcessedEventMixin:
    """Columns of a service's `processed_events` table: the ids its consumer has handled."""

    event_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    event_type: Mapped[str] = mapped_column(String(100))
    processed_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


def record_event(session: Session, outbox_model, event_type: str, source: str, data: dict,
                 subject: str | None = None) -> dict:
    """Write an event in the caller's transaction; it is published once that commits."""
    event = new_event(event_type, source, data, subject)
    session.add(outbox_model(event_id=event["id"], event_type=event_type, payload=event))
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text(f"NOTIFY {NOTIFY_CHANNEL}"))
    return event


class OutboxRelay:
    """Publishes unsent outbox rows in order, with publisher confirms, and marks them sent."""

    def __init__(self, database, outbox_model, batch_size: int = 200, unroutable_grace_seconds: int = 300,
                 idle_poll_seconds: float = 2.0):
        self.database = database
        self.model = outbox_model
        self.batch_size = batch_size
        self.unroutable_grace = timedelta(seconds=unroutable_grace_seconds)
        # Even with notifications the outbox is read this often: rows waiting for a retry, a notification
        # missed while the listening connection was down.
        self.idle_poll_seconds = idle_poll_seconds
        self._listener: psycopg.Connection | None = None
        self._next_poll = 0.0

    def is_due(self) -> bool:
        """Whether the outbox may hold something to publish: always on SQLite; on PostgreSQL when a
        transaction has written an event since the last look, or the idle poll is due."""
        if self.database.is_sqlite:
            return True
        try:
            notified = self._notified()
        except psycopg.Error as exc:
            log.warning("outbox notifications unavailable (%s); polling", exc.__class__.__name__)
            self.close()
            return True
        return notified or time.monotonic() >= self._next_poll

    def _notified(self) -> bool:
        if self._listener is None:
            url = self.database.engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
            self._listener = psycopg.connect(url, autocommit=True, connect_timeout=5)
            self._listener.execute(f"LISTEN {NOTIFY_CHANNEL}")
            return True  # whatever was committed before LISTEN sent no notification to this connection
        notified = False
        for _notification in self._listener.notifies(timeout=0):
            notified = True  # drain them all: one look at the outbox serves every one
        return notified

    def close(self) -> None:
        if self._listener is not None:
            with contextlib.suppress(psycopg.Error):
                self._listener.close()
            self._listener = None

    def publish_if_due(self, publisher) -> int:
        return self.publish_pending(publisher) if self.is_due() else 0

    def publish_pending(self, publisher) -> int:
        """Publish what is due; returns how many rows were marked sent."""
        model = self.model
        now = utcnow()
        self._next_poll = 0.0  # until this look succeeds, the next one is due at once
        with self.database.session() as session, session.begin():
            query = (select(model)
                     .where(model.published_at.is_(None))
                     .where((model.next_attempt_at.is_(None)) | (model.next_attempt_at <= now))
                     .order_by(model.id).limit(self.batch_size))
            if not self.database.is_sqlite:
                # Several relays (replicas) may run: each takes rows no other one holds.
                query = query.with_for_update(skip_locked=True)
            rows = session.scalars(query).all()
            sent = 0
            for row in rows:
                try:
                    publisher.publish(row.payload)
                except pika.exceptions.UnroutableError:
                    self._unroutable(row, now)
                    continue
                row.published_at = now
                sent += 1
        # A full batch may have left more behind: look again at once rather than after the idle poll.
        if len(rows) < self.batch_size:
            self._next_poll = time.monotonic() + self.idle_poll_seconds
        return sent

    def _unroutable(self, row, now: datetime) -> None:
        # No queue is bound yet (a consumer that has never started): try again for a while.
        row.attempts += 1
        if now - row.created_at > self.unroutable_grace:
            log.warning("event %s (%s) had no subscriber; giving up", row.event_id, row.event_type)
            row.published_at = now
        else:
            row.next_attempt_at = now + timedelta(seconds=min(30, 2 ** row.attempts))
