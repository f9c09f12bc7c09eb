"""The install worker's maintenance: re-queue stalled jobs, and check the health of what is installed."""

from datetime import timedelta

from sqlalchemy import select

from marketplace_shared.clock import utcnow

from . import events, leases, representations, services
from .deployer import DeploySpec, Health, Target, folder_name
from .models import BUSY, CANCELLED, COMPLETED, FAILED, Installation


def recover_stalled(config, database) -> int:
    """Re-queue jobs whose worker died (lease expired) or whose message was lost; returns how many."""
    now = utcnow()
    stale = now - timedelta(seconds=config.JOB_REQUEUE_AFTER_SECONDS)
    requeued = 0
    with database.session() as session:
        candidates = session.execute(
            select(Installation.id, Installation.lease_owner, Installation.operation)
            .where(Installation.status.in_(BUSY),
                   ((Installation.lease_owner.is_not(None)) & (Installation.lease_expires_at < now))
                   | ((Installation.lease_owner.is_(None)) & (Installation.updated_at < stale)))
            .limit(100)).all()
    for installation_id, owner, operation in candidates:
        with database.session() as session, session.begin():
            if not leases.release_stale(session, installation_id, owner, operation, now):
                continue
            installation = session.get(Installation, installation_id)
            services.add_log(session, installation_id, "The job stalled (its worker stopped); queued again",
                             installation.step, "warning")
            events.record(session, events.INSTALLATION_REQUESTED, events.job_data(installation), installation_id)
            requeued += 1
    return requeued


def check_health(config, database, deployer) -> int:
    """Check every active installation; record and announce changes. Returns how many changed."""
    stale_after = timedelta(seconds=config.TELEMETRY_STALE_SECONDS)
    with database.session() as session:
        rows = session.scalars(select(Installation).where(
            Installation.installed_version.is_not(None),
            Installation.status.in_((COMPLETED, FAILED, CANCELLED)))).all()
    changed = 0
    for installation in rows:
        spec = DeploySpec(name=folder_name(installation.plugin_name, installation.plugin_id), key="",
                          configuration=installation.configuration, disabled=not installation.auto_start,
                          integrity=installation.integrity or "")
        try:
            health = deployer.check(Target(installation.environment, installation.namespace), spec)
        except Exception as exc:  # noqa: BLE001 - an unreadable deployment is unhealthy
            health = Health("unhealthy", [f"check failed: {exc}"])
        current, problems = health.status, list(health.problems)
        now = utcnow()
        if current == "healthy" and installation.last_telemetry_at is not None \
                and now - installation.last_telemetry_at > stale_after:
            current = "degraded"
            problems.append(f"no telemetry since {representations.iso(installation.last_telemetry_at)}")
        with database.session() as session, session.begin():
            row = session.scalars(select(Installation).where(Installation.id == installation.id)
                                  .with_for_update()).first()
            if row is None or row.operation != installation.operation or row.status in BUSY:
                continue
            previous = row.health
            row.health_checked_at = now
            row.health_details = problems
            if previous == current:
                continue
            row.health = current
            changed += 1
            services.add_log(session, row.id, f"Health changed from {previous} to {current}"
                             + (f": {'; '.join(problems)}" if problems else ""), "health",
                             "info" if current == "healthy" else "warning")
            events.record(session, events.PLUGIN_HEALTH_CHANGED, events.plugin_health_changed(row, previous, current),
                          row.plugin_id)
    return changed
