"""Small helpers: query values, camelCase keys, rate-limit header parsing."""

from __future__ import annotations

import re
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from typing import Any


def camel(name: str) -> str:
    """``deployment_strategy`` -> ``deploymentStrategy`` (names already in camelCase are kept)."""
    head, *rest = name.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


def camel_keys(values: Mapping[str, Any]) -> dict[str, Any]:
    """Top-level keys in camelCase, None values dropped."""
    return {camel(key): value for key, value in values.items() if value is not None}


def query_value(value: Any) -> Any:
    """How a Python value is written in a query string: booleans lower-case, lists comma-separated."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, tuple, set, frozenset)):
        return ",".join(str(item) for item in value)
    if isinstance(value, datetime):
        return iso(value)
    return value


def clean_params(params: Mapping[str, Any] | None) -> dict[str, Any]:
    return {key: query_value(value) for key, value in (params or {}).items() if value is not None}


def iso(moment: datetime) -> str:
    """ISO 8601 UTC with a ``Z`` (naive datetimes are taken as UTC)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")


def parse_time(value: str | None) -> datetime | None:
    """An ISO 8601 timestamp (``Z`` or offset), an HTTP date, or epoch seconds; None when unreadable."""
    if not value:
        return None
    value = value.strip()
    if re.fullmatch(r"\d+(\.\d+)?", value):
        return datetime.fromtimestamp(float(value), tz=timezone.utc)
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        try:
            parsed = parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=timezone.utc)
    return parsed


def _int(value: str | None) -> int | None:
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


@dataclass(frozen=True)
class RateLimit:
    """The quota reported by the last response (``X-RateLimit-*`` headers)."""

    limit: int | None
    remaining: int | None
    reset: datetime | None

    @classmethod
    def from_headers(cls, headers: Mapping[str, str]) -> RateLimit | None:
        if "X-RateLimit-Limit" not in headers and "X-RateLimit-Reset" not in headers:
            return None
        return cls(limit=_int(headers.get("X-RateLimit-Limit")),
                   remaining=_int(headers.get("X-RateLimit-Remaining")),
                   reset=reset_time(headers.get("X-RateLimit-Reset")))


def reset_time(value: str | None, now: float | None = None) -> datetime | None:
    """``X-RateLimit-Reset`` as a moment: ISO 8601 (the spec), epoch seconds, or seconds from now."""
    if not value:
        return None
    value = value.strip()
    if re.fullmatch(r"\d+(\.\d+)?", value):
        number = float(value)
        now = time.time() if now is None else now
        # Small numbers are a delay (IETF style), large ones an epoch time (GitHub style).
        return datetime.fromtimestamp(number if number > 1e9 else now + number, tz=timezone.utc)
    return parse_time(value)


def retry_after_seconds(value: str | None, now: float | None = None) -> float | None:
    """``Retry-After``: delta seconds or an HTTP date; None when absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    moment = parse_time(value)
    if moment is None:
        return None
    now = time.time() if now is None else now
    return max(0.0, moment.timestamp() - now)
