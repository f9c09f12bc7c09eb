"""What the webhook service does with other services' events: HANDLERS = {event type: [function]}."""

HANDLERS: dict[str, list] = {}
