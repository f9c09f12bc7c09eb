"""Events the review service publishes, and its own copy of the fields it reads from others."""

from sqlalchemy.orm import Session

from marketplace_shared.outbox import record_event

from .models import OutboxEvent

SOURCE = "review-service"

# Consumed (see docs/events.md).
PLUGIN_PUBLISHED = "plugin.published"      # pluginId, name, displayName, ownerId, version, category
PLUGIN_UNPUBLISHED = "plugin.unpublished"  # pluginId, ownerId
PLUGIN_INSTALLED = "plugin.installed"      # pluginId, accountId, installationId, version, ...

# Published.
RATING_CHANGED = "review.rating_changed"   # pluginId, sequence, average, count, distribution, topReviews
PUBLISHED = (RATING_CHANGED,)


def record(session: Session, event_type: str, data: dict, subject: str | None = None) -> dict:
    """Write one of the review service's events to its outbox, in the caller's transaction."""
    return record_event(session, OutboxEvent, event_type, SOURCE, data, subject)


def rating_changed(plugin, summary: dict) -> dict:
    """The plugin's new rating summary (average, count, distribution, topReviews) and its sequence number."""
    return {"pluginId": plugin.id, "sequence": plugin.rating_sequence, **summary}
