"""Time in one place: now as the tables store it (naive UTC), the API's ISO 8601 strings, and reading them back."""

from datetime import UTC, datetime

import marshmallow as ma


def utcnow() -> datetime:
    """Naive UTC, the way every table of the marketplace stores times."""
    return datetime.now(UTC).replace(tzinfo=None)


def iso(moment: datetime | None) -> str | None:
    """`2026-01-31T12:00:00.123Z` (milliseconds, UTC); a naive datetime is taken as UTC; None stays None."""
    if moment is None:
        return None
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC).replace(tzinfo=None)
    return moment.isoformat(timespec="milliseconds") + "Z"  # a third of strftime's cost


def utc_now_iso() -> str:
    """Now, formatted as iso() does (error envelopes, event envelopes)."""
    return iso(datetime.now(UTC))


def iso_seconds(epoch: int) -> str:
    """A Unix time in whole seconds as `2026-01-31T12:00:00Z` (the rate-limit headers)."""
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_iso(value) -> datetime | None:
    """An ISO 8601 string as a naive UTC datetime; None when it is missing or unreadable."""
    if not isinstance(value, str) or not value:
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC).replace(tzinfo=None)
    return moment


class UtcDateTime(ma.fields.DateTime):
    """A marshmallow field: naive UTC in the database, iso() on the wire; offsets are converted on input."""

    def _serialize(self, value, attr, obj, **kwargs):
        return iso(value)

    def _deserialize(self, value, attr, data, **kwargs):
        moment: datetime = super()._deserialize(value, attr, data, **kwargs)
        if moment.tzinfo is not None:
            moment = moment.astimezone(UTC).replace(tzinfo=None)
        return moment
