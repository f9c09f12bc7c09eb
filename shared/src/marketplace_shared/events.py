"""The integration event envelope (CloudEvents 1.0, JSON) that every service publishes."""

import uuid
from datetime import datetime

from .clock import parse_iso, utc_now_iso
from .logs import current_request_id


def new_event(event_type: str, source: str, data: dict, subject: str | None = None) -> dict:
    event = {
        "specversion": "1.0",
        "id": f"evt_{uuid.uuid4().hex}",
        "source": source,
        "type": event_type,
        "time": utc_now_iso(),
        "datacontenttype": "application/json",
        "data": data,
    }
    if subject:
        event["subject"] = subject
    request_id = current_request_id.get()
    if request_id:
        # CloudEvents extension attribute names are lower-case alphanumerics.
        event["requestid"] = request_id
    return event


def topic_matches(pattern: str, routing_key: str) -> bool:
    """AMQP topic matching: `*` is one word, `#` is zero or more words."""
    return _match(pattern.split("."), routing_key.split("."))


def _match(pattern: list[str], words: list[str]) -> bool:
    if not pattern:
        return not words
    head, rest = pattern[0], pattern[1:]
    if head == "#":
        return any(_match(rest, words[i:]) for i in range(len(words) + 1))
    if not words:
        return False
    return (head == "*" or head == words[0]) and _match(rest, words[1:])


def event_time(event: dict) -> datetime | None:
    """The envelope's `time` as a naive UTC datetime (how the services store times); None when unreadable."""
    return parse_iso(event.get("time"))
