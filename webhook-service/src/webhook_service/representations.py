"""How the webhook service's results read in API bodies: list pages and the recover summary.

Subscriptions and deliveries themselves are still dumped from their rows by the response schemas
(WebhookSchema, DeliverySchema name each column with `attribute=`); building those bodies here as well
waits for the schemas to drop the column names (issue 15's part A owns schemas.py).
"""

from datetime import datetime

from marketplace_shared.api import response_metadata
from marketplace_shared.pagination import links_block, pagination_block

from .services import iso


def listing(items: list, page: int, limit: int, total: int) -> dict:
    """A page of subscriptions or deliveries, in the spec's list shape."""
    return {"data": items, "pagination": pagination_block(page, limit, total),
            "links": links_block(page, limit, total), "metadata": response_metadata()}


def recover_result(count: int, since: datetime, until: datetime | None) -> dict:
    """POST /webhooks/{id}/recover: how many failed deliveries were queued again, for which window."""
    return {"recovered": count, "since": iso(since), "until": iso(until) if until else None}
