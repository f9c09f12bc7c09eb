"""The events subscribers can receive, and the ones this service publishes."""

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


def subscribed(events: list[str], event_type: str) -> bool:
    """Whether a subscription's event list covers this event type."""
    return event_type in events or (WILDCARD in events and event_type in PUBLIC_EVENTS)
