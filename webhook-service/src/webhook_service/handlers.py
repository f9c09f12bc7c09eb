"""What the webhook service does with other services' events: HANDLERS = {event type: [function]}."""

from sqlalchemy import event as orm_event
from sqlalchemy.orm import Session

from . import services

# The worker's dispatcher, when one runs in this process (worker.build_dispatcher attaches it).
dispatcher = None


def attach(new_dispatcher) -> None:
    global dispatcher
    dispatcher = new_dispatcher


def detach(old_dispatcher) -> None:
    global dispatcher
    if dispatcher is old_dispatcher:
        dispatcher = None


def on_plugin_event(session: Session, event: dict) -> None:
    """Learn plugin owners, and queue a delivery for every subscription that may receive the event.

    With a dispatcher in this process the new deliveries are leased to it and handed over as soon
    as the transaction commits (no polling, no second look at the table); if this process dies
    first, the lease runs out and any dispatcher sends them.
    """
    services.learn_plugin_owner(session, event)
    current = dispatcher
    lease = current.handoff_lease() if current is not None else None
    deliveries = services.create_deliveries(session, event, lease_seconds=lease)
    if not deliveries or current is None:
        return
    if lease is None:
        orm_event.listen(session, "after_commit", lambda _session: current.wake(), once=True)
        return
    jobs = current.jobs_for(deliveries, lease)
    orm_event.listen(session, "after_commit", lambda _session: current.accept(jobs), once=True)


HANDLERS: dict[str, list] = {"plugin.#": [on_plugin_event]}
