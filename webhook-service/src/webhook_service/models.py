"""Webhooks tables, on the webhook service's own metadata."""

from sqlalchemy.orm import DeclarativeBase

from marketplace_shared.outbox import OutboxMixin, ProcessedEventMixin


class Base(DeclarativeBase):
    pass


class OutboxEvent(OutboxMixin, Base):
    __tablename__ = "outbox"


class ProcessedEvent(ProcessedEventMixin, Base):
    __tablename__ = "processed_events"
