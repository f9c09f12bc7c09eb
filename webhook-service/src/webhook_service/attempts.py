"""What happens after a send: each attempt recorded, the next one scheduled or the delivery finished, a
subscription that keeps failing disabled; and old deliveries forgotten. The dispatcher calls these."""

import random
from collections import Counter
from datetime import datetime, timedelta

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from marketplace_shared.clock import utcnow

from . import events
from .models import FAILED, PENDING, SUCCEEDED, Delivery, DeliveryAttempt, Webhook
from .sender import SendResult


def retry_delay(config, round_attempts: int, retry_after: float | None,
                rng: random.Random | None = None) -> float | None:
    """Seconds until the next try after `round_attempts` failed attempts, or None when the schedule is spent."""
    schedule = config.WEBHOOK_RETRY_SCHEDULE
    if round_attempts - 1 >= len(schedule):
        return None
    base = schedule[round_attempts - 1]
    jitter = config.WEBHOOK_RETRY_JITTER
    delay = base * (1 + (rng or random).uniform(-jitter, jitter)) if jitter else base
    if retry_after is not None:
        # The receiver said when it can take more: never sooner, within reason.
        delay = max(delay, min(retry_after, config.WEBHOOK_RETRY_AFTER_MAX_SECONDS))
    return delay


def disable_webhook(session: Session, config, webhook: Webhook, reason: str, now: datetime) -> None:
    """Switch a subscription off and tell its owner (a `webhook.disabled` event)."""
    if webhook.disabled:
        return
    webhook.disabled = True
    webhook.active = False
    webhook.disabled_reason = reason
    webhook.disabled_at = now
    events.record(session, events.WEBHOOK_DISABLED, events.webhook_disabled(webhook, reason), webhook.id)


def record_attempts(session: Session, config, outcomes: list, rng: random.Random | None = None) -> None:
    """Record a batch of (job, result, attempted_at): successes in three statements, the rest one by one."""
    ids = [job.delivery_id for job, _, _ in outcomes]
    repeated = {delivery_id for delivery_id, count in Counter(ids).items() if count > 1}
    rows = {row.id: row for row in session.execute(
        select(Delivery.id, Delivery.webhook_id, Delivery.event_type, Delivery.attempt_count, Delivery.round_attempts)
        .where(Delivery.id.in_(ids)))}
    slow = [outcome for outcome in outcomes
            if outcome[0].delivery_id in rows and (not outcome[1].success or outcome[0].delivery_id in repeated)]
    if slow:
        loaded = load_for_recording(session, [job.delivery_id for job, _, _ in slow])
        with session.no_autoflush:
            for job, result, attempted_at in slow:
                record_attempt(session, config, job.delivery_id, result, attempted_at, rng)
        session.flush()
        del loaded
    now = utcnow()
    attempts, updates, recovered = [], [], set()
    for job, result, attempted_at in outcomes:
        row = rows.get(job.delivery_id)
        if row is None or not result.success or job.delivery_id in repeated:
            continue
        attempts.append({"delivery_id": row.id, "number": row.attempt_count + 1, "attempted_at": attempted_at,
                         "success": True, "status_code": result.status_code, "duration_ms": result.duration_ms,
                         "response_body": result.body, "error": None})
        updates.append({"id": row.id, "status": SUCCEEDED, "attempt_count": row.attempt_count + 1,
                        "round_attempts": row.round_attempts + 1, "next_attempt_at": None, "delivered_at": now,
                        "last_attempt_at": attempted_at, "last_status_code": result.status_code, "last_error": None})
        if row.event_type != events.PING:
            recovered.add(row.webhook_id)
    if attempts:
        session.execute(insert(DeliveryAttempt), attempts)
        session.execute(update(Delivery), updates)
    if recovered:
        session.execute(update(Webhook).where(Webhook.id.in_(recovered), Webhook.failing_since.is_not(None))
                        .values(failing_since=None), execution_options={"synchronize_session": False})


def load_for_recording(session: Session, delivery_ids: list[str]) -> list:
    """Bring a batch's deliveries and subscriptions into the session at once (record_attempt then finds them).

    Keep the returned list while recording: the session only holds its objects weakly.
    """
    deliveries = session.scalars(select(Delivery).where(Delivery.id.in_(delivery_ids))).all()
    webhook_ids = {delivery.webhook_id for delivery in deliveries}
    webhooks = session.scalars(select(Webhook).where(Webhook.id.in_(webhook_ids))).all() if webhook_ids else []
    return [*deliveries, *webhooks]


def record_attempt(session: Session, config, delivery_id: str, result: SendResult, attempted_at: datetime,
                   rng: random.Random | None = None) -> Delivery | None:
    """Log an attempt and decide what comes next: done, a retry, failed, or the subscription disabled."""
    delivery = session.get(Delivery, delivery_id)
    if delivery is None:
        return None  # the subscription was deleted meanwhile
    webhook = session.get(Webhook, delivery.webhook_id)
    now = utcnow()
    delivery.attempt_count += 1
    delivery.round_attempts += 1
    session.add(DeliveryAttempt(
        delivery_id=delivery.id, number=delivery.attempt_count, attempted_at=attempted_at, success=result.success,
        status_code=result.status_code, duration_ms=result.duration_ms, response_body=result.body,
        error=result.error))
    delivery.last_attempt_at = attempted_at
    delivery.last_status_code = result.status_code
    delivery.last_error = result.error
    is_ping = delivery.event_type == events.PING
    if result.success:
        delivery.status = SUCCEEDED
        delivery.delivered_at = now
        delivery.next_attempt_at = None
        if not is_ping:
            webhook.failing_since = None
        return delivery
    if result.status_code == 410:
        delivery.status = FAILED
        delivery.next_attempt_at = None
        disable_webhook(session, config, webhook, "The receiver answered 410 Gone", now)
        return delivery
    delay = None if is_ping else retry_delay(config, delivery.round_attempts, result.retry_after, rng)
    if delay is None:
        delivery.status = FAILED
        delivery.next_attempt_at = None
    else:
        delivery.next_attempt_at = now + timedelta(seconds=delay)
    if not is_ping:
        if webhook.failing_since is None:
            webhook.failing_since = attempted_at
        elif (now - webhook.failing_since).total_seconds() >= config.WEBHOOK_DISABLE_AFTER_SECONDS:
            days = config.WEBHOOK_DISABLE_AFTER_SECONDS / 86400
            disable_webhook(session, config, webhook, f"Every delivery failed for {days:g} days", now)
    return delivery


def purge_old_deliveries(session: Session, config) -> int:
    """Forget finished deliveries older than the retention period."""
    cutoff = utcnow() - timedelta(days=config.WEBHOOK_RETENTION_DAYS)
    old = select(Delivery.id).where(Delivery.status != PENDING, Delivery.created_at < cutoff)
    session.execute(DeliveryAttempt.__table__.delete().where(DeliveryAttempt.delivery_id.in_(old)))
    return session.execute(Delivery.__table__.delete().where(Delivery.status != PENDING,
                                                             Delivery.created_at < cutoff)).rowcount
