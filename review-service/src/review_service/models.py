"""Reviews tables, on the review service's own metadata."""

from datetime import datetime

from sqlalchemy import JSON, Boolean, DateTime, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from marketplace_shared.clock import utcnow
from marketplace_shared.outbox import OutboxMixin, ProcessedEventMixin


class Base(DeclarativeBase):
    pass


class Plugin(Base):
    """The review service's copy of what the catalog published (from plugin.* events)."""

    __tablename__ = "plugins"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    # Unknown when plugin.unpublished arrives before plugin.published.
    name: Mapped[str | None] = mapped_column(String(214), index=True, nullable=True)
    display_name: Mapped[str | None] = mapped_column(String(200), nullable=True)
    owner_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    published: Mapped[bool] = mapped_column(Boolean, default=False)
    # Time of the newest catalog event applied, so that an older one arriving late is ignored.
    status_changed_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    # review.rating_changed: the last sequence number used and the summary it carried.
    rating_sequence: Mapped[int] = mapped_column(Integer, default=0)
    rating_summary: Mapped[dict | None] = mapped_column(JSON, nullable=True)


class Installation(Base):
    """A fact from plugin.installed: this account has installed this plugin (at least once)."""

    __tablename__ = "installations"

    account_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    plugin_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    first_installed_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class Review(Base):
    __tablename__ = "reviews"
    __table_args__ = (
        UniqueConstraint("plugin_id", "account_id", name="uq_reviews_plugin_account"),
        Index("ix_reviews_plugin_created", "plugin_id", "created_at"),
    )

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    plugin_id: Mapped[str] = mapped_column(String(64), ForeignKey("plugins.id"))
    account_id: Mapped[str] = mapped_column(String(64), index=True)
    user_name: Mapped[str] = mapped_column(String(200))
    user_avatar: Mapped[str] = mapped_column(String(300))
    rating: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(String(200), default="")
    text: Mapped[str] = mapped_column(Text, default="")
    helpful_count: Mapped[int] = mapped_column(Integer, default=0)
    report_count: Mapped[int] = mapped_column(Integer, default=0)
    verified_install: Mapped[bool] = mapped_column(Boolean, default=False)
    hidden: Mapped[bool] = mapped_column(Boolean, default=False)
    hidden_reason: Mapped[str | None] = mapped_column(String(1000), nullable=True)
    hidden_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    hidden_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class OnePerAccountMixin:
    """The key of what an account does to a review at most once (a helpful vote, a report); it goes with the review.
    The key's columns come first in the table (sort_order), as the migrations create them."""

    review_id: Mapped[str] = mapped_column(String(64), ForeignKey("reviews.id", ondelete="CASCADE"),
                                           primary_key=True, sort_order=-1)
    account_id: Mapped[str] = mapped_column(String(64), primary_key=True, sort_order=-1)


class HelpfulVote(OnePerAccountMixin, Base):
    __tablename__ = "helpful_votes"

    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class ReviewReport(OnePerAccountMixin, Base):
    __tablename__ = "review_reports"

    reason: Mapped[str] = mapped_column(String(1000))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class OutboxEvent(OutboxMixin, Base):
    __tablename__ = "outbox"


class ProcessedEvent(ProcessedEventMixin, Base):
    __tablename__ = "processed_events"
