"""What the catalog does with other services' events: HANDLERS = {event type: [function]}."""

HANDLERS: dict[str, list] = {}
