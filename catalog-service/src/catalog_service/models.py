"""Catalog tables, on the catalog's own metadata."""

import secrets
from datetime import datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    FetchedValue,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from marketplace_shared.clock import utcnow
from marketplace_shared.outbox import OutboxMixin, ProcessedEventMixin

COMPATIBILITY_KEYS = ("backstage", "node", "platform")


def new_id(prefix: str) -> str:
    return f"{prefix}_{secrets.token_hex(8)}"


class Base(DeclarativeBase):
    pass


class Plugin(Base):
    """A plugin with its metadata and the read models (ratings, installs, downloads) sorting needs."""

    __tablename__ = "plugins"
    __table_args__ = (
        Index("ix_plugins_public_popularity", "is_public", "popularity", "id"),
        Index("ix_plugins_public_rating", "is_public", "rating_average", "rating_count", "id"),
        Index("ix_plugins_public_updated", "is_public", "updated_at", "id"),
        Index("ix_plugins_public_name", "is_public", "name"),
        Index("ix_plugins_public_category", "is_public", "category"),
        # A category's pages by popularity (the default) or rating straight from an index.
        Index("ix_plugins_category_popularity", "category", "popularity", "id",
              postgresql_where=text("is_public"), sqlite_where=text("is_public")),
        Index("ix_plugins_category_rating", "category", "rating_average", "rating_count", "id",
              postgresql_where=text("is_public"), sqlite_where=text("is_public")),
        # Counting `verified` + `minRating` lists reads only this index (index-only scan).
        Index("ix_plugins_public_verified_rating", "verified", "rating_average", "id",
              postgresql_where=text("is_public"), sqlite_where=text("is_public")),
    )

    # `number` is set by the database after the insert (an SQLite trigger: RETURNING would not see it), so it
    # is read back when first used rather than returned by the INSERT.
    __mapper_args__ = {"eager_defaults": False}

    id: Mapped[str] = mapped_column(String(40), primary_key=True, default=lambda: new_id("plugin"))
    # The BlueMind door's numeric id (`/addons/api/plugin/1/`): a sequence on PostgreSQL, a trigger on SQLite
    # (migration 0006); read back after the insert.
    number: Mapped[int] = mapped_column(Integer, server_default=FetchedValue(), unique=True, index=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    display_name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(String(500), default="")
    long_description: Mapped[str] = mapped_column(Text, default="")
    owner_id: Mapped[str] = mapped_column(String(64), index=True)
    author_name: Mapped[str] = mapped_column(String(200), default="")
    author_email: Mapped[str] = mapped_column(String(320), default="")
    author_url: Mapped[str | None] = mapped_column(String(500), nullable=True)
    category: Mapped[str] = mapped_column(String(50))
    tags: Mapped[list] = mapped_column(JSON, default=list)
    tags_text: Mapped[str] = mapped_column(String(2000), default="")
    icon: Mapped[str | None] = mapped_column(String(500), nullable=True)
    screenshots: Mapped[list] = mapped_column(JSON, default=list)
    videos: Mapped[list] = mapped_column(JSON, default=list)
    repository: Mapped[str | None] = mapped_column(String(500), nullable=True)
    homepage: Mapped[str | None] = mapped_column(String(500), nullable=True)
    documentation: Mapped[str | None] = mapped_column(String(500), nullable=True)
    changelog: Mapped[str | None] = mapped_column(String(500), nullable=True)
    license: Mapped[str] = mapped_column(String(200), default="")
    installation_instructions: Mapped[str] = mapped_column(Text, default="")
    features: Mapped[list] = mapped_column(JSON, default=list)
    support: Mapped[dict] = mapped_column(JSON, default=dict)
    source_stats: Mapped[dict] = mapped_column(JSON, default=dict)
    pricing_model: Mapped[str] = mapped_column(String(20), default="free")
    price: Mapped[float] = mapped_column(Float, default=0.0)
    currency: Mapped[str | None] = mapped_column(String(3), nullable=True)
    verified: Mapped[bool] = mapped_column(Boolean, default=False)
    featured: Mapped[bool] = mapped_column(Boolean, default=False)
    unpublished: Mapped[bool] = mapped_column(Boolean, default=False)
    deprecated: Mapped[bool] = mapped_column(Boolean, default=False)
    deprecation_reason: Mapped[str | None] = mapped_column(String(1000), nullable=True)
    replacement: Mapped[str | None] = mapped_column(String(100), nullable=True)
    deprecated_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    # Denormalised from the latest non-yanked version, for filtering in one query.
    latest_version: Mapped[str | None] = mapped_column(String(100), nullable=True)
    compat_backstage: Mapped[str | None] = mapped_column(String(200), nullable=True, index=True)
    compat_node: Mapped[str | None] = mapped_column(String(200), nullable=True, index=True)
    compat_platform: Mapped[list] = mapped_column(JSON, default=list)
    # The plugin's own compatibility (POST/PATCH /plugins): what a version that declares no range inherits.
    default_compatibility: Mapped[dict] = mapped_column(JSON, default=dict)
    ever_published: Mapped[bool] = mapped_column(Boolean, default=False)
    # Visible in the public catalog: has an installable version and is not unpublished.
    is_public: Mapped[bool] = mapped_column(Boolean, default=False)
    # Read models fed by events.
    rating_average: Mapped[float] = mapped_column(Float, default=0.0)
    rating_count: Mapped[int] = mapped_column(Integer, default=0)
    rating_distribution: Mapped[dict] = mapped_column(JSON, default=dict)
    top_reviews: Mapped[list] = mapped_column(JSON, default=list)
    rating_sequence: Mapped[int] = mapped_column(BigInteger, default=-1)
    downloads_total: Mapped[int] = mapped_column(BigInteger, default=0)
    installations: Mapped[int] = mapped_column(Integer, default=0)
    active_installations: Mapped[int] = mapped_column(Integer, default=0)
    popularity: Mapped[int] = mapped_column(BigInteger, default=0)

    versions: Mapped[list["PluginVersion"]] = relationship(back_populates="plugin", cascade="all, delete-orphan",
                                                           order_by="PluginVersion.id")
    plugin_tags: Mapped[list["PluginTag"]] = relationship(cascade="all, delete-orphan")

    def effective_compatibility(self, version: "PluginVersion | None" = None) -> dict:
        """What a version (or, without one, the plugin) is compatible with: each of `backstage`, `node` and
        `platform` the version declares, else the plugin's default; fields neither declares are left out."""
        own = (version.compatibility if version is not None else None) or {}
        default = self.default_compatibility or {}
        merged = {}
        for key in COMPATIBILITY_KEYS:
            value = own.get(key) if own.get(key) not in (None, []) else default.get(key)
            if value not in (None, []):
                merged[key] = value
        return merged


class PluginTag(Base):
    __tablename__ = "plugin_tags"

    plugin_id: Mapped[str] = mapped_column(ForeignKey("plugins.id", ondelete="CASCADE"), primary_key=True)
    tag: Mapped[str] = mapped_column(String(50), primary_key=True, index=True)
    # A copy of plugins.is_public (services keep it in step), so that a tag's public plugins are counted
    # from the partial index alone, without visiting the plugins.
    public: Mapped[bool] = mapped_column(Boolean, default=False)
    # A copy of plugins.popularity (a trigger keeps it, migration 0005): a tag's pages by popularity come from
    # the index in order, however rare the tag.
    popularity: Mapped[int] = mapped_column(BigInteger, default=0)

    __table_args__ = (Index("ix_plugin_tags_public", "tag", "plugin_id", postgresql_where=text("public"),
                            sqlite_where=text("public")),
                      Index("ix_plugin_tags_popularity", "tag", "popularity", "plugin_id",
                            postgresql_where=text("public"), sqlite_where=text("public")))


class CatalogCount(Base):
    """Exact counts of public plugins, kept in step with plugins.is_public, the compatibility ranges and the
    tags in the same transaction (counts.adjust_counts): `all`/``, `category`/<category>, `backstage`/<range>,
    `node`/<range>, `tag`/<tag>."""

    __tablename__ = "catalog_counts"

    dimension: Mapped[str] = mapped_column(String(20), primary_key=True)
    value: Mapped[str] = mapped_column(String(200), primary_key=True)
    count: Mapped[int] = mapped_column(BigInteger, default=0)


class SearchTerm(Base):
    """PostgreSQL: the words of the plugins' tsvectors, with a trigram index, to correct typos and expand
    prefixes in queries, and how many public plugins hold each word (SQLite reads its FTS5 vocabulary instead).
    Triggers keep it in step with search_postings (migration 0004); words are only added."""

    __tablename__ = "search_terms"

    term: Mapped[str] = mapped_column(String(100), primary_key=True)
    plugins: Mapped[int] = mapped_column(BigInteger, default=0)


class PluginVersion(Base):
    __tablename__ = "plugin_versions"
    __table_args__ = (UniqueConstraint("plugin_id", "normalized", name="uq_plugin_versions_plugin_normalized"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    plugin_id: Mapped[str] = mapped_column(ForeignKey("plugins.id", ondelete="CASCADE"), index=True)
    version: Mapped[str] = mapped_column(String(100))
    normalized: Mapped[str] = mapped_column(String(100))
    release_date: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    changelog: Mapped[str] = mapped_column(Text, default="")
    compatibility: Mapped[dict] = mapped_column(JSON, default=dict)
    dependencies: Mapped[list] = mapped_column(JSON, default=list)
    config_schema: Mapped[dict] = mapped_column(JSON, default=dict)
    config_defaults: Mapped[dict] = mapped_column(JSON, default=dict)
    config_examples: Mapped[list] = mapped_column(JSON, default=list)
    permissions: Mapped[list] = mapped_column(JSON, default=list)
    yanked: Mapped[bool] = mapped_column(Boolean, default=False)
    yank_reason: Mapped[str | None] = mapped_column(String(1000), nullable=True)
    yanked_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    package_key: Mapped[str] = mapped_column(String(300))
    package_filename: Mapped[str] = mapped_column(String(200))
    package_format: Mapped[str] = mapped_column(String(10))
    package_size: Mapped[int] = mapped_column(BigInteger)
    package_sha256: Mapped[str] = mapped_column(String(64))
    downloads: Mapped[int] = mapped_column(BigInteger, default=0)

    plugin: Mapped[Plugin] = relationship(back_populates="versions")


class PluginImage(Base):
    __tablename__ = "plugin_images"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    plugin_id: Mapped[str] = mapped_column(ForeignKey("plugins.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(20))
    content_type: Mapped[str] = mapped_column(String(50))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    blob_key: Mapped[str] = mapped_column(String(300))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class Download(Base):
    __tablename__ = "downloads"
    __table_args__ = (Index("ix_downloads_plugin_at", "plugin_id", "at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    plugin_id: Mapped[str] = mapped_column(String(40))
    version: Mapped[str] = mapped_column(String(100))
    account_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class Installation(Base):
    """The catalog's copy of an installation's state, from the install service's events."""

    __tablename__ = "installations"
    __table_args__ = (Index("ix_installations_plugin", "plugin_id", "active"),)

    installation_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    plugin_id: Mapped[str] = mapped_column(String(40))
    version: Mapped[str | None] = mapped_column(String(100), nullable=True)
    account_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    installed_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    active: Mapped[bool] = mapped_column(Boolean, default=False)
    health: Mapped[str | None] = mapped_column(String(20), nullable=True)
    last_error: Mapped[dict | None] = mapped_column(JSON, nullable=True)
    last_event_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)


class HealthSample(Base):
    """One health observation (a telemetry report or a health change), for availability."""

    __tablename__ = "health_samples"
    __table_args__ = (Index("ix_health_samples_plugin_at", "plugin_id", "at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    plugin_id: Mapped[str] = mapped_column(String(40))
    healthy: Mapped[bool] = mapped_column(Boolean)
    at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class TelemetryReport(Base):
    __tablename__ = "telemetry_reports"
    __table_args__ = (Index("ix_telemetry_plugin_at", "plugin_id", "at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    plugin_id: Mapped[str] = mapped_column(String(40))
    reporter: Mapped[str] = mapped_column(String(100))
    account_id: Mapped[str] = mapped_column(String(64))
    active_users: Mapped[int] = mapped_column(Integer, default=0)
    api_calls: Mapped[int] = mapped_column(BigInteger, default=0)
    requests: Mapped[int] = mapped_column(BigInteger, default=0)
    errors: Mapped[int] = mapped_column(BigInteger, default=0)
    response_times: Mapped[list] = mapped_column(JSON, default=list)
    healthy: Mapped[bool] = mapped_column(Boolean, default=True)
    at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class RatingSnapshot(Base):
    __tablename__ = "rating_snapshots"
    __table_args__ = (Index("ix_rating_snapshots_plugin_at", "plugin_id", "at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    plugin_id: Mapped[str] = mapped_column(String(40))
    average: Mapped[float] = mapped_column(Float)
    count: Mapped[int] = mapped_column(Integer)
    at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class OutboxEvent(OutboxMixin, Base):
    __tablename__ = "outbox"


class ProcessedEvent(ProcessedEventMixin, Base):
    __tablename__ = "processed_events"
