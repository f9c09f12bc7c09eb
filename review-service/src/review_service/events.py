"""Events the review service publishes, and its own copy of the fields it reads from others."""

from datetime import UTC, datetime

# Consumed (see docs/events.md).
PLUGIN_PUBLISHED = "plugin.published"      # pluginId, name, displayName, ownerId, version, category
PLUGIN_UNPUBLISHED = "plugin.unpublished"  # pluginId, ownerId
PLUGIN_INSTALLED = "plugin.installed"      # pluginId, accountId, installationId, version, ...

# Published.
RATING_CHANGED = "review.rating_changed"   # pluginId, sequence, average, count, distribution, topReviews


def event_time(event: dict) -> datetime:
    """The envelope's `time` as a naive UTC datetime (now when it is missing or unreadable)."""
    raw = event.get("time")
    try:
        moment = datetime.fromisoformat(str(raw).replace("Z", "+00:00"))
    except ValueError:
        return datetime.now(UTC).replace(tzinfo=None)
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC).replace(tzinfo=None)
    return moment
