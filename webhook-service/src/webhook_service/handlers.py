"""What the webhook service does with other services' events: HANDLERS = {event type: [function]}.

The worker's builder binds them to the dispatcher of its process (`build_handlers(dispatcher)`);
`HANDLERS` is the same binding without one (the deliveries then wait for any dispatcher's poll).
"""

from functools import partial

from sqlalchemy import event as orm_event
from sqlalchemy.orm import Session

from . import services


def on_plugin_event(session: Session, event: dict, dispatcher=None) -> None:
    """Learn plugin owners, and queue a delivery for every subscription that may receive the event.

    With a dispatcher in this process the new deliveries are leased to it and handed over as soon
    as the transaction commits (no polling, no second look at the table); if this process dies
    first, the lease runs out and any dispatcher sends them.
    """
    services.learn_plugin_owner(session, event)
    lease = dispatcher.handoff_lease() if dispatcher is not None else None
    deliveries = services.create_deliveries(session, event, lease_seconds=lease)
    if not deliveries or dispatcher is None:
        return
    if lease is None:
        orm_event.listen(session, "after_commit", lambda _session: dispatcher.wake(), once=True)
        return
    jobs = dispatcher.jobs_for(deliveries, lease)
    orm_event.listen(session, "after_commit", lambda _session: dispatcher.accept(jobs), once=True)


def build_handlers(dispatcher=None) -> dict[str, list]:
    """The handlers, handing new deliveries to `dispatcher` (the one running in this process, if any)."""
    return {"plugin.#": [partial(on_plugin_event, dispatcher=dispatcher)]}


HANDLERS = build_handlers()
