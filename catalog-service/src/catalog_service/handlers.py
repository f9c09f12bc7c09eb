"""What the catalog does with other services' events: HANDLERS = {event type: [function]}."""

from sqlalchemy.orm import Session

from marketplace_shared.clock import utcnow
from marketplace_shared.events import event_time

from .stats import apply_installation_event, apply_rating


def on_rating_changed(session: Session, event: dict) -> None:
    apply_rating(session, event.get("data") or {}, event_time(event) or utcnow())


def on_installation_event(session: Session, event: dict) -> None:
    apply_installation_event(session, event["type"], event.get("data") or {}, event_time(event) or utcnow())


HANDLERS: dict[str, list] = {
    "review.rating_changed": [on_rating_changed],
    "plugin.installed": [on_installation_event],
    "plugin.updated": [on_installation_event],
    "plugin.uninstalled": [on_installation_event],
    "plugin.error": [on_installation_event],
    "plugin.health_changed": [on_installation_event],
}
