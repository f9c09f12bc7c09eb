"""What the webhook service does with other services' events: HANDLERS = {event type: [function]}."""

from collections.abc import Callable

from sqlalchemy import event as orm_event
from sqlalchemy.orm import Session

from . import services

# Called (in the consumer's thread) once new deliveries are committed; the worker adds the dispatcher's wake().
delivery_listeners: list[Callable[[], None]] = []


def _notify_listeners(_session) -> None:
    for listener in delivery_listeners:
        listener()


def on_plugin_event(session: Session, event: dict) -> None:
    """Learn plugin owners, and queue a delivery for every subscription that may receive the event."""
    services.learn_plugin_owner(session, event)
    if services.create_deliveries(session, event) and delivery_listeners:
        orm_event.listen(session, "after_commit", _notify_listeners, once=True)


HANDLERS: dict[str, list] = {"plugin.#": [on_plugin_event]}
