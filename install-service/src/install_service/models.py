"""Installations tables, on the install service's own metadata."""

from datetime import datetime

from sqlalchemy import JSON, Boolean, DateTime, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from marketplace_shared.clock import utcnow
from marketplace_shared.outbox import OutboxMixin, ProcessedEventMixin

PENDING, IN_PROGRESS, COMPLETED, FAILED = "pending", "in_progress", "completed", "failed"
CANCELLING, CANCELLED, UNINSTALLING, UNINSTALLED = "cancelling", "cancelled", "uninstalling", "uninstalled"
# An accepted install or upgrade is `in_progress` at once (the spec's 202), queued until a worker claims it
# (`startedAt` still null); `pending` is only found on rows accepted before that and is kept for them.
STATUSES = (PENDING, IN_PROGRESS, COMPLETED, FAILED, CANCELLING, CANCELLED, UNINSTALLING, UNINSTALLED)
BUSY = (PENDING, IN_PROGRESS, CANCELLING, UNINSTALLING)
FINISHED = (COMPLETED, FAILED, CANCELLED, UNINSTALLED)
INSTALL, UPGRADE, UNINSTALL = "install", "upgrade", "uninstall"


class Base(DeclarativeBase):
    pass


class CatalogPlugin(Base):
    """What the catalog's events told us about a plugin (read model)."""

    __tablename__ = "catalog_plugins"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str | None] = mapped_column(String(214), index=True)
    display_name: Mapped[str | None] = mapped_column(String(200))
    owner_id: Mapped[str | None] = mapped_column(String(64))
    # Event times decide between a late `published` and an `unpublished` (events may arrive out of order).
    published_at: Mapped[datetime | None] = mapped_column(DateTime)
    unpublished_at: Mapped[datetime | None] = mapped_column(DateTime)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)

    @property
    def is_published(self) -> bool:
        if self.unpublished_at is None:
            return True
        return self.published_at is not None and self.published_at > self.unpublished_at


class CatalogVersion(Base):
    """One version of a plugin as the catalog published it (read model)."""

    __tablename__ = "catalog_versions"

    plugin_id: Mapped[str] = mapped_column(String(64), ForeignKey("catalog_plugins.id"), primary_key=True)
    version: Mapped[str] = mapped_column(String(64), primary_key=True)
    # The catalog's normalized form of `version` (semver: `0.2` -> `0.2.0`), from `normalizedVersion`; versions
    # are ordered and matched by it, never by parsing `version` here.
    normalized: Mapped[str | None] = mapped_column(String(64))
    # False while only a `version_yanked` has arrived for it.
    published: Mapped[bool] = mapped_column(Boolean, default=False)
    release_date: Mapped[str | None] = mapped_column(String(40))
    compatibility: Mapped[dict] = mapped_column(JSON, default=dict)
    dependencies: Mapped[list] = mapped_column(JSON, default=list)
    configuration_schema: Mapped[dict | None] = mapped_column(JSON)
    package: Mapped[dict] = mapped_column(JSON, default=dict)
    yanked: Mapped[bool] = mapped_column(Boolean, default=False)
    yank_reason: Mapped[str | None] = mapped_column(Text)


class Environment(Base):
    """A portal the plugins are installed into, with the versions compatibility is checked against."""

    __tablename__ = "environments"

    name: Mapped[str] = mapped_column(String(63), primary_key=True)
    backstage_version: Mapped[str] = mapped_column(String(64))
    node_version: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)


class Installation(Base):
    """A plugin installed (or being installed) into one namespace of one environment."""

    __tablename__ = "installations"
    __table_args__ = (
        UniqueConstraint("account_id", "idempotency_key", name="uq_installations_idempotency"),
        Index("ix_installations_plugin_env_ns", "plugin_id", "environment", "namespace"),
    )

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    plugin_id: Mapped[str] = mapped_column(String(64))
    plugin_name: Mapped[str] = mapped_column(String(214))
    account_id: Mapped[str] = mapped_column(String(64), index=True)
    environment: Mapped[str] = mapped_column(String(63))
    namespace: Mapped[str] = mapped_column(String(63))
    # The version the current (or last) operation aims at, and the one actually deployed.
    version: Mapped[str] = mapped_column(String(64))
    installed_version: Mapped[str | None] = mapped_column(String(64))
    previous_version: Mapped[str | None] = mapped_column(String(64))
    deployment_strategy: Mapped[str] = mapped_column(String(20))
    auto_start: Mapped[bool] = mapped_column(Boolean, default=True)
    configuration: Mapped[dict] = mapped_column(JSON, default=dict)
    # The deployed package's npm-style integrity (sha512-...), checked by the health check.
    integrity: Mapped[str | None] = mapped_column(String(200))
    # What to restore when an upgrade fails or is cancelled.
    previous_state: Mapped[dict | None] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(20), index=True)
    action: Mapped[str] = mapped_column(String(20))
    # Increases with every operation (install, upgrade, uninstall); a job names the one it is for.
    operation: Mapped[int] = mapped_column(Integer, default=1)
    progress: Mapped[int] = mapped_column(Integer, default=0)
    current_step: Mapped[str] = mapped_column(String(200))
    step: Mapped[str | None] = mapped_column(String(20))
    error: Mapped[dict | None] = mapped_column(JSON)
    health: Mapped[str | None] = mapped_column(String(20))
    health_details: Mapped[list | None] = mapped_column(JSON)
    health_checked_at: Mapped[datetime | None] = mapped_column(DateTime)
    last_telemetry_at: Mapped[datetime | None] = mapped_column(DateTime)
    # "plugin|environment|namespace" while something is (being) installed there; NULLs never clash.
    active_slot: Mapped[str | None] = mapped_column(String(255), unique=True)
    idempotency_key: Mapped[str | None] = mapped_column(String(255))
    request_fingerprint: Mapped[str | None] = mapped_column(String(64))
    # The job's hold on the row: who runs it and until when (compare-and-set claims).
    lease_owner: Mapped[str | None] = mapped_column(String(200))
    lease_expires_at: Mapped[datetime | None] = mapped_column(DateTime)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(DateTime)
    completed_at: Mapped[datetime | None] = mapped_column(DateTime)

    # -- status transitions: each ending sets its fields here, and only here ------------------------------
    def restart(self, action: str, status: str, step: str, now: datetime) -> None:
        """A new operation (install, upgrade, uninstall) on this row: its job starts from nothing."""
        self.action = action
        self.status = status
        self.operation += 1
        self.progress = 0
        self.current_step = step
        self.step = None
        self.error = None
        self.attempts = 0
        self.release_lease()
        self.started_at = None
        self.completed_at = None
        self.updated_at = now

    def begin_upgrade(self, version: str, configuration: dict, strategy: str, auto_start: bool,
                      now: datetime) -> None:
        """Remember what is live (to restore it if the upgrade fails or is cancelled) and aim at `version`."""
        self.previous_state = {
            "version": self.installed_version, "configuration": self.configuration,
            "deploymentStrategy": self.deployment_strategy, "autoStart": self.auto_start,
            "integrity": self.integrity}
        self.previous_version = self.installed_version
        self.version = version
        self.configuration = configuration
        self.deployment_strategy = strategy
        self.auto_start = auto_start
        self.restart(UPGRADE, IN_PROGRESS, f"Upgrade to {version} requested", now)

    def begin_uninstall(self, now: datetime) -> None:
        self.restart(UNINSTALL, UNINSTALLING, "Uninstall requested", now)
        self.previous_state = None

    def uninstall_nothing(self, now: datetime) -> None:
        """An uninstall of a failed or cancelled first install: nothing was deployed, it is over at once."""
        self.restart(UNINSTALL, UNINSTALLED, "Uninstalled", now)
        self.completed_at = now
        self.active_slot = None

    def request_cancel(self, now: datetime) -> None:
        """A worker runs the job: it stops at the next step boundary and rolls back."""
        self.status = CANCELLING
        self.current_step = "Cancelling"
        self.updated_at = now

    def restore_previous(self) -> None:
        """After an upgrade failed or was cancelled: the installation describes what is live again."""
        previous = self.previous_state or {}
        if self.action == UPGRADE and previous:
            self.version = previous["version"]
            self.configuration = previous["configuration"]
            self.deployment_strategy = previous["deploymentStrategy"]
            self.auto_start = previous["autoStart"]
            self.integrity = previous.get("integrity")
        if self.installed_version is None:
            self.active_slot = None

    def cancel(self, now: datetime) -> None:
        """Cancelled: nothing of this operation is left deployed."""
        self.restore_previous()
        self.status = CANCELLED
        self.current_step = "Installation cancelled" if self.action == INSTALL else "Upgrade cancelled"
        self.completed_at = now
        self.updated_at = now
        self.release_lease()

    def complete(self, integrity: str, now: datetime) -> None:
        """The install or upgrade is deployed, healthy and live."""
        self.status = COMPLETED
        self.installed_version = self.version
        self.integrity = integrity
        self.progress = 100
        self.current_step = "Upgrade completed" if self.action == UPGRADE else "Installation completed"
        self.step = "done"
        self.error = None
        self.completed_at = now
        self.updated_at = now
        self.health = "healthy"
        self.health_details = []
        self.health_checked_at = now
        self.release_lease()

    def uninstalled(self, now: datetime) -> None:
        self.status = UNINSTALLED
        self.installed_version = None
        self.active_slot = None
        self.progress = 100
        self.current_step = "Uninstalled"
        self.step = "done"
        self.health = None
        self.completed_at = now
        self.updated_at = now
        self.release_lease()

    def fail(self, error: dict, now: datetime) -> None:
        """The job failed (`error`: code, message, step, details); what was live before is live again."""
        self.restore_previous()
        self.status = FAILED
        self.error = error
        self.current_step = f"Failed: {error['message']}"[:200]
        self.completed_at = now
        self.updated_at = now
        self.release_lease()

    def release_lease(self) -> None:
        self.lease_owner = None
        self.lease_expires_at = None


class InstallationLog(Base):
    """One timestamped log line of an installation's jobs; the id is the cursor."""

    __tablename__ = "installation_logs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    installation_id: Mapped[str] = mapped_column(String(64), ForeignKey("installations.id"), index=True)
    timestamp: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    level: Mapped[str] = mapped_column(String(10), default="info")
    step: Mapped[str | None] = mapped_column(String(20))
    message: Mapped[str] = mapped_column(Text)


class OutboxEvent(OutboxMixin, Base):
    __tablename__ = "outbox"


class ProcessedEvent(ProcessedEventMixin, Base):
    __tablename__ = "processed_events"
