"""``client.webhooks``: subscriptions, their deliveries, secrets, pings and recovery."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Any

from .._util import camel_keys, iso
from ..pagination import Item, Page
from ._base import Resource, seg


class WebhooksResource(Resource):
    """Manage webhook subscriptions.

    To check the requests you receive, see :func:`~backstage_marketplace.verify_webhook`.
    """

    def create(self, url: str, events: Sequence[str], secret: str | None = None, *, description: str | None = None,
               plugin_ids: Sequence[str] | None = None, active: bool | None = None, **fields: Any) -> Item:
        """``POST /webhooks``. Without a ``secret`` the server generates one (``whsec_…``), returned only here."""
        body = camel_keys({"url": url, "events": list(events), "secret": secret, "description": description,
                           "plugin_ids": list(plugin_ids) if plugin_ids is not None else None, "active": active,
                           **fields})
        return self._item("POST", "/webhooks", json=body)

    def list(self, *, page: int | None = None, limit: int | None = None, **extra: Any) -> Page:
        """``GET /webhooks``: your subscriptions (every one for admins)."""
        return self._page("/webhooks", camel_keys({"page": page, "limit": limit, **extra}))

    def iter_all(self, *, limit: int = 100, **filters: Any) -> Iterator[Item]:
        return self.list(limit=limit, **filters).iter_all()

    def get(self, webhook_id: str) -> Item:
        """``GET /webhooks/{webhookId}``."""
        return self._item("GET", f"/webhooks/{seg(webhook_id)}")

    def update(self, webhook_id: str, **fields: Any) -> Item:
        """``PATCH /webhooks/{webhookId}`` with snake_case fields (``url``, ``events``, ``active``, ``plugin_ids``…)."""
        return self._item("PATCH", f"/webhooks/{seg(webhook_id)}", json=camel_keys(fields))

    def delete(self, webhook_id: str) -> None:
        """``DELETE /webhooks/{webhookId}``."""
        self._client.request("DELETE", f"/webhooks/{seg(webhook_id)}")

    def rotate_secret(self, webhook_id: str, secret: str | None = None, *,
                      grace_period_seconds: int | None = None) -> Item:
        """``POST /webhooks/{webhookId}/rotate-secret``: a new secret; the old one keeps signing for a grace period.

        The result holds the new ``secret`` (generated when none is given), shown only this once.
        """
        body = camel_keys({"secret": secret, "grace_period_seconds": grace_period_seconds}) or None
        return self._item("POST", f"/webhooks/{seg(webhook_id)}/rotate-secret", json=body)

    def ping(self, webhook_id: str) -> Item:
        """``POST /webhooks/{webhookId}/ping``: send a test delivery."""
        return self._item("POST", f"/webhooks/{seg(webhook_id)}/ping")

    def deliveries(self, webhook_id: str, *, status: str | None = None, event: str | None = None,
                   page: int | None = None,
                   limit: int | None = None, **extra: Any) -> Page:
        """``GET /webhooks/{webhookId}/deliveries``: newest first, each with its attempts.

        ``status`` is ``pending``, ``succeeded`` or ``failed``; ``event`` an event type.
        """
        params = camel_keys({"status": status, "event": event, "page": page, "limit": limit, **extra})
        return self._page(f"/webhooks/{seg(webhook_id)}/deliveries", params)

    def delivery(self, webhook_id: str, delivery_id: str) -> Item:
        """``GET /webhooks/{webhookId}/deliveries/{deliveryId}``: one delivery with its attempts."""
        return self._item("GET", f"/webhooks/{seg(webhook_id)}/deliveries/{seg(delivery_id)}")

    def redeliver(self, webhook_id: str, delivery_id: str) -> Item:
        """``POST /webhooks/{webhookId}/deliveries/{deliveryId}/redeliver``."""
        return self._item("POST", f"/webhooks/{seg(webhook_id)}/deliveries/{seg(delivery_id)}/redeliver")

    def recover(self, webhook_id: str, since: datetime | str, until: datetime | str | None = None) -> Item:
        """``POST /webhooks/{webhookId}/recover``: resend every failed delivery created since a moment.

        Returns ``{"recovered": <count>, "since", "until"}``.
        """
        body = {"since": iso(since) if isinstance(since, datetime) else since}
        if until is not None:
            body["until"] = iso(until) if isinstance(until, datetime) else until
        return self._item("POST", f"/webhooks/{seg(webhook_id)}/recover", json=body)
