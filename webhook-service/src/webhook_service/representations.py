"""How the webhook service's rows read in API bodies: subscriptions, deliveries with their attempts, list pages."""

from datetime import datetime

from marketplace_shared.clock import iso
from marketplace_shared.pagination import page_body

from .models import Delivery, DeliveryAttempt, Webhook


def webhook_view(webhook: Webhook) -> dict:
    """A subscription, without its secret."""
    return {
        "id": webhook.id,
        "url": webhook.url,
        "events": webhook.events,
        "description": webhook.description,
        "pluginIds": webhook.plugin_ids,
        "active": webhook.active,
        "disabled": webhook.disabled,
        "disabledReason": webhook.disabled_reason,
        "disabledAt": iso(webhook.disabled_at),
        "failingSince": iso(webhook.failing_since),
        "ownerId": webhook.owner_id,
        "previousSecretExpiresAt": iso(webhook.previous_secret_expires_at),
        "createdAt": iso(webhook.created_at),
        "updatedAt": iso(webhook.updated_at),
    }


def webhook_body(webhook: Webhook, with_secret: bool = False) -> dict:
    """The answer about one subscription; `with_secret` only right after the secret was set (create, rotate)."""
    view = webhook_view(webhook)
    if with_secret:
        view["secret"] = webhook.secret
    return {"data": view}


def attempt_view(attempt: DeliveryAttempt) -> dict:
    return {
        "number": attempt.number,
        "attemptedAt": iso(attempt.attempted_at),
        "success": attempt.success,
        "statusCode": attempt.status_code,
        "durationMs": attempt.duration_ms,
        "responseBody": attempt.response_body,
        "error": attempt.error,
    }


def delivery_view(delivery: Delivery) -> dict:
    """A delivery with every attempt made so far."""
    return {
        "id": delivery.id,
        "webhookId": delivery.webhook_id,
        "eventId": delivery.event_id,
        "event": delivery.event_type,
        "status": delivery.status,
        "attemptCount": delivery.attempt_count,
        "nextAttemptAt": iso(delivery.next_attempt_at),
        "lastAttemptAt": iso(delivery.last_attempt_at),
        "deliveredAt": iso(delivery.delivered_at),
        "lastStatusCode": delivery.last_status_code,
        "lastError": delivery.last_error,
        "createdAt": iso(delivery.created_at),
        "payload": delivery.payload,
        "attempts": [attempt_view(attempt) for attempt in delivery.attempts],
    }


def delivery_body(delivery: Delivery) -> dict:
    return {"data": delivery_view(delivery)}


def webhook_page(webhooks: list[Webhook], page: int, limit: int, total: int) -> dict:
    return page_body([webhook_view(webhook) for webhook in webhooks], page, limit, total)


def delivery_page(deliveries: list[Delivery], page: int, limit: int, total: int) -> dict:
    return page_body([delivery_view(delivery) for delivery in deliveries], page, limit, total)


def recover_result(count: int, since: datetime, until: datetime | None) -> dict:
    """POST /webhooks/{id}/recover: how many failed deliveries were queued again, for which window."""
    return {"data": {"recovered": count, "since": iso(since), "until": iso(until)}}
