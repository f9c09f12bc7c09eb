"""The outbox relay and the consumer loop against the real PostgreSQL and RabbitMQ."""

import pika
import pytest
from sqlalchemy import Integer, String, select
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from marketplace_shared.broker import EventPublisher
from marketplace_shared.config import BaseConfig
from marketplace_shared.db import Database
from marketplace_shared.events import new_event
from marketplace_shared.outbox import OutboxMixin, OutboxRelay, ProcessedEventMixin, record_event
from marketplace_shared.testing import (
    AMQP_URL,
    delete_broker_objects,
    running_worker,
    temporary_postgres_database,
    unique_name,
    wait_for,
)
from marketplace_shared.worker import Worker


class Base(DeclarativeBase):
    pass


class Tally(Base):
    __tablename__ = "tally"
    name: Mapped[str] = mapped_column(String(50), primary_key=True)
    count: Mapped[int] = mapped_column(Integer, default=0)


class OutboxEvent(OutboxMixin, Base):
    __tablename__ = "outbox"


class ProcessedEvent(ProcessedEventMixin, Base):
    __tablename__ = "processed_events"


def bump(session, event):
    tally = session.get(Tally, event["data"]["name"]) or Tally(name=event["data"]["name"], count=0)
    tally.count += 1
    session.add(tally)


def explode(session, event):
    raise RuntimeError("this handler always fails")


@pytest.fixture
def stack():
    prefix = unique_name("itest") + "."
    with temporary_postgres_database() as url:
        config = BaseConfig(DATABASE_URL=url, EVENT_PREFIX=prefix, EVENT_EXCHANGE=prefix + "marketplace.events",
                            CONSUMER_MAX_ATTEMPTS=2, CONSUMER_RETRY_DELAY_MS=50)
        config.SERVICE_NAME = "worker-test"
        database = Database(url)
        Base.metadata.create_all(database.engine)
        worker = Worker(config, database, OutboxEvent, ProcessedEvent,
                        {"thing.happened": [bump], "thing.broken": [explode]})
        with running_worker(worker):
            yield config, database, worker
        database.dispose()
        delete_broker_objects(prefix, [config.queue_name], config.EVENT_EXCHANGE)


def tally(database, name):
    with database.session() as session:
        return session.scalar(select(Tally.count).where(Tally.name == name)) or 0


def test_outbox_row_is_relayed_and_handled_once(stack):
    config, database, _worker = stack
    with database.session() as session, session.begin():
        record_event(session, OutboxEvent, "thing.happened", "test", {"name": "a"})
    wait_for(lambda: tally(database, "a") == 1, message="event handled")

    # The relay marks the row after the broker confirms it, so the handler can run first.
    def marked_published():
        with database.session() as session:
            return session.scalar(select(OutboxEvent.published_at))

    wait_for(marked_published, message="outbox row marked published")

    # The same event delivered again (as after a lost ack) has no second effect.
    event = new_event("thing.happened", "test", {"name": "b"})
    connection = pika.BlockingConnection(pika.URLParameters(AMQP_URL))
    publisher = EventPublisher(connection, config.EVENT_EXCHANGE)
    publisher.publish(event)
    publisher.publish(event)
    publisher.publish(new_event("thing.happened", "test", {"name": "b"}))
    connection.close()
    wait_for(lambda: tally(database, "b") == 2, message="two distinct events handled")
    with database.session() as session:
        assert session.get(ProcessedEvent, event["id"]) is not None


def test_failing_event_is_retried_then_dead_lettered(stack):
    config, database, _worker = stack
    with database.session() as session, session.begin():
        record_event(session, OutboxEvent, "thing.broken", "test", {"name": "x"})

    def dead_letters():
        connection = pika.BlockingConnection(pika.URLParameters(AMQP_URL))
        try:
            return connection.channel().queue_declare(f"{config.queue_name}.dead", passive=True).method.message_count
        finally:
            connection.close()

    assert wait_for(dead_letters, message="message in the dead-letter queue") == 1
    with database.session() as session:
        assert session.scalar(select(ProcessedEvent).where(ProcessedEvent.event_type == "thing.broken")) is None


def test_idle_relay_reads_its_outbox_only_when_an_event_is_committed():
    with temporary_postgres_database() as url:
        database = Database(url)
        Base.metadata.create_all(database.engine)
        relay = OutboxRelay(database, OutboxEvent, idle_poll_seconds=3600)
        try:
            assert relay.is_due()  # the first look, which starts listening
            assert relay.publish_pending(publisher=None) == 0  # nothing to publish: no broker needed
            assert not relay.is_due()

            with database.session() as session, session.begin():
                record_event(session, OutboxEvent, "thing.happened", "test", {"name": "rolled back"})
                session.rollback()
            with database.session() as session, session.begin():
                session.add(Tally(name="no event", count=1))
            assert not relay.is_due()

            with database.session() as session, session.begin():
                record_event(session, OutboxEvent, "thing.happened", "test", {"name": "a"})
                record_event(session, OutboxEvent, "thing.happened", "test", {"name": "b"})
            wait_for(relay.is_due, message="woken by the commit")
            assert not relay.is_due()  # one look serves every notification received so far
        finally:
            relay.close()
            database.dispose()
