"""Read models fed by other services' events, telemetry, and the statistics computed from them."""

import math
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from marketplace_shared.clock import utcnow
from marketplace_shared.identity import Identity

from .models import Download, HealthSample, Installation, Plugin, RatingSnapshot, TelemetryReport

WINDOW = timedelta(days=30)
MAX_REVIEWS = 5


def apply_rating(session: Session, data: dict, at: datetime) -> bool:
    """Take a review.rating_changed snapshot unless a newer one was already applied."""
    plugin = session.get(Plugin, data.get("pluginId") or "", with_for_update=True)
    sequence = int(data.get("sequence", 0))
    if plugin is None or sequence <= plugin.rating_sequence:
        return False
    plugin.rating_sequence = sequence
    plugin.rating_average = round(float(data.get("average") or 0.0), 2)
    plugin.rating_count = int(data.get("count") or 0)
    distribution = data.get("distribution") or {}
    plugin.rating_distribution = {str(k): int(distribution.get(str(k), 0)) for k in range(1, 6)}
    plugin.top_reviews = list(data.get("topReviews") or [])[:MAX_REVIEWS]
    session.add(RatingSnapshot(plugin_id=plugin.id, average=plugin.rating_average, count=plugin.rating_count, at=at))
    return True


def apply_installation_event(session: Session, event_type: str, data: dict, at: datetime) -> None:
    """Track one installation's state from plugin.installed/updated/uninstalled/error/health_changed."""
    installation_id = data.get("installationId")
    plugin_id = data.get("pluginId")
    if not installation_id or not plugin_id:
        return
    record = session.get(Installation, installation_id, with_for_update=True)
    if record is None:
        record = Installation(installation_id=installation_id, plugin_id=plugin_id, active=False)
        session.add(record)
    record.account_id = data.get("accountId") or record.account_id
    stale = record.last_event_at is not None and at < record.last_event_at
    if event_type in ("plugin.installed", "plugin.updated"):
        record.installed_at = min(record.installed_at or at, at)
        if not stale:
            record.active = True
            record.version = data.get("version") or record.version
    elif event_type == "plugin.uninstalled":
        record.installed_at = record.installed_at or at
        if not stale:
            record.active = False
    elif event_type == "plugin.error":
        if not stale:
            record.last_error = data.get("error")
    elif event_type == "plugin.health_changed":
        current = data.get("current")
        session.add(HealthSample(plugin_id=plugin_id, healthy=current == "healthy", at=at))
        if not stale:
            record.health = current
    if not stale:
        record.last_event_at = at
    session.flush()
    refresh_installation_counts(session, plugin_id)


def refresh_installation_counts(session: Session, plugin_id: str) -> None:
    plugin = session.get(Plugin, plugin_id)
    if plugin is None:
        return
    plugin.installations = session.scalar(select(func.count()).select_from(Installation).where(
        Installation.plugin_id == plugin_id, Installation.installed_at.is_not(None))) or 0
    plugin.active_installations = session.scalar(select(func.count()).select_from(Installation).where(
        Installation.plugin_id == plugin_id, Installation.active.is_(True))) or 0
    plugin.popularity = plugin.installations + plugin.downloads_total


def record_telemetry(session: Session, plugin: Plugin, identity: Identity, report: dict) -> TelemetryReport:
    reporter = report.get("installationId") or identity.id
    row = TelemetryReport(plugin_id=plugin.id, reporter=reporter, account_id=identity.id,
                          active_users=report["activeUsers"], api_calls=report["apiCalls"],
                          requests=report["requests"], errors=report["errors"],
                          response_times=[round(float(v), 3) for v in report["responseTimesMs"]],
                          healthy=report["healthy"], at=utcnow())
    session.add(row)
    session.add(HealthSample(plugin_id=plugin.id, healthy=report["healthy"], at=row.at))
    return row


def growth(current: float, previous: float) -> float:
    """Percent change; 100.0 when something appears from nothing, 0.0 when nothing changes."""
    if previous == 0:
        return 100.0 if current > 0 else 0.0
    return round((current - previous) * 100.0 / previous, 1)


def percentile(values: list[float], fraction: float) -> float:
    """Nearest-rank percentile of sorted values."""
    if not values:
        return 0.0
    rank = max(1, math.ceil(fraction * len(values)))
    return values[rank - 1]


def plugin_stats(session: Session, plugin: Plugin, max_reports: int = 5000) -> dict:
    now = utcnow()
    start, previous_start = now - WINDOW, now - 2 * WINDOW
    report = TelemetryReport

    def api_calls(since: datetime, until: datetime | None = None) -> int:
        until = until or now + timedelta(seconds=1)
        return int(session.scalar(select(func.coalesce(func.sum(report.api_calls), 0)).where(
            report.plugin_id == plugin.id, report.at >= since, report.at < until)) or 0)

    per_reporter = (select(func.max(report.active_users).label("users"))
                    .where(report.plugin_id == plugin.id, report.at >= now - timedelta(days=1))
                    .group_by(report.reporter).subquery())
    daily_active = int(session.scalar(select(func.coalesce(func.sum(per_reporter.c.users), 0))) or 0)

    recent = session.execute(select(report.response_times, report.requests, report.errors)
                             .where(report.plugin_id == plugin.id, report.at >= start)
                             .order_by(report.at.desc()).limit(max_reports)).all()
    times = sorted(t for row in recent for t in (row.response_times or []))
    requests = sum(row.requests for row in recent)
    errors = sum(row.errors for row in recent)
    samples = session.execute(select(HealthSample.healthy, func.count()).where(
        HealthSample.plugin_id == plugin.id, HealthSample.at >= start).group_by(HealthSample.healthy)).all()
    healthy = sum(count for ok, count in samples if ok)
    total_samples = sum(count for _ok, count in samples)

    def new_installs(since: datetime, until: datetime) -> int:
        return session.scalar(select(func.count()).select_from(Installation).where(
            Installation.plugin_id == plugin.id, Installation.installed_at >= since,
            Installation.installed_at < until)) or 0

    baseline = session.scalar(select(RatingSnapshot.average).where(
        RatingSnapshot.plugin_id == plugin.id, RatingSnapshot.at < start)
        .order_by(RatingSnapshot.at.desc(), RatingSnapshot.id.desc()).limit(1))
    return {
        "usage": {
            "installations": plugin.installations,
            "activeInstallations": plugin.active_installations,
            "dailyActiveUsers": daily_active,
            "apiCalls": {"daily": api_calls(now - timedelta(days=1)), "weekly": api_calls(now - timedelta(days=7)),
                         "monthly": api_calls(start)},
        },
        "performance": {
            "averageResponseTime": round(sum(times) / len(times), 1) if times else 0,
            "p95ResponseTime": percentile(times, 0.95),
            "p99ResponseTime": percentile(times, 0.99),
            "errorRate": round(errors / requests, 4) if requests else 0,
            "availability": round(healthy * 100.0 / total_samples, 2) if total_samples else 0,
        },
        "trends": {
            "installationGrowth": growth(new_installs(start, now + timedelta(seconds=1)),
                                         new_installs(previous_start, start)),
            "usageGrowth": growth(api_calls(start), api_calls(previous_start, start)),
            "ratingTrend": round(plugin.rating_average - baseline, 2) if baseline is not None else 0.0,
        },
        "downloads": _download_counts(session, plugin, now),
    }


def _download_counts(session: Session, plugin: Plugin, now: datetime) -> dict:
    def since(days: int) -> int:
        return session.scalar(select(func.count()).select_from(Download).where(
            Download.plugin_id == plugin.id, Download.at >= now - timedelta(days=days))) or 0
    return {"total": plugin.downloads_total, "monthly": since(30), "weekly": since(7), "daily": since(1)}
