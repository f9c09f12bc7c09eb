"""The events subscribers can receive, and the ones this service publishes (built here only)."""

from sqlalchemy.orm import Session

from marketplace_shared.outbox import record_event

from .models import OutboxEvent

SOURCE = "webhook-service"

# The spec's five installation events plus the catalog's two public ones (docs/events.md).
INSTALLATION_EVENTS = ("plugin.installed", "plugin.updated", "plugin.uninstalled", "plugin.error",
                       "plugin.health_changed")
CATALOG_EVENTS = ("plugin.published", "plugin.version_published")
PUBLIC_EVENTS = INSTALLATION_EVENTS + CATALOG_EVENTS
WILDCARD = "plugin.*"
SUBSCRIBABLE_EVENTS = (*PUBLIC_EVENTS, WILDCARD)

# Sent by POST /webhooks/{id}/ping, whatever the subscription's events.
PING = "webhook.ping"

# Published when a subscription is switched off for failing or for a 410: {webhookId, ownerId, url, reason}.
WEBHOOK_DISABLED = "webhook.disabled"
PUBLISHED = (WEBHOOK_DISABLED,)


def record(session: Session, event_type: str, data: dict, subject: str | None = None) -> dict:
    """Write one of the webhook service's events to its outbox, in the caller's transaction."""
    return record_event(session, OutboxEvent, event_type, SOURCE, data, subject)


def webhook_disabled(webhook, reason: str) -> dict:
    return {"webhookId": webhook.id, "ownerId": webhook.owner_id, "url": webhook.url, "reason": reason}


def subscribed(events: list[str], event_type: str) -> bool:
    """Whether a subscription's event list covers this event type."""
    return event_type in events or (WILDCARD in events and event_type in PUBLIC_EVENTS)
