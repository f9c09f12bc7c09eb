"""``client.reviews``: ratings and reviews of plugins."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from .._util import camel_keys
from ..pagination import Item, Page
from ._base import Resource, seg


class ReviewsResource(Resource):
    """Read, write and moderate reviews."""

    def list(self, plugin_id: str, *, sort: str | None = None, order: str | None = None, rating: int | None = None,
             mine: bool | None = None, page: int | None = None, limit: int | None = None, **extra: Any) -> Page:
        """``GET /plugins/{pluginId}/reviews``: sort ``recent`` | ``helpful`` | ``rating``, filter by ``rating``;
        ``mine=True`` keeps the caller's own review only."""
        params = camel_keys({"sort": sort, "order": order, "rating": rating, "mine": mine, "page": page,
                             "limit": limit, **extra})
        return self._page(f"/plugins/{seg(plugin_id)}/reviews", params)

    def mine(self, plugin_id: str) -> Item | None:
        """The caller's own review of a plugin (hidden or not), or None: ``GET .../reviews?mine=true``."""
        page = self.list(plugin_id, mine=True, limit=1)
        return page[0] if len(page) else None

    def moderation(self, *, status: str | None = None, plugin_id: str | None = None, sort: str | None = None,
                   order: str | None = None, page: int | None = None, limit: int | None = None,
                   **extra: Any) -> Page:
        """``GET /reviews`` (admin): reviews across plugins, each with its ``plugin``; status ``reported`` |
        ``hidden`` | ``visible``, sort ``reports`` (the default) | ``recent`` | ``helpful`` | ``rating``."""
        params = camel_keys({"status": status, "plugin_id": plugin_id, "sort": sort, "order": order, "page": page,
                             "limit": limit, **extra})
        return self._page("/reviews", params)

    def iter_moderation(self, *, limit: int = 100, **filters: Any) -> Iterator[Item]:
        """Every review of the moderation queue, page after page."""
        return self.moderation(limit=limit, **filters).iter_all()

    def iter_all(self, plugin_id: str, *, limit: int = 100, **filters: Any) -> Iterator[Item]:
        """Every review of a plugin, page after page."""
        return self.list(plugin_id, limit=limit, **filters).iter_all()

    def create(self, plugin_id: str, rating: int, title: str | None = None, review: str | None = None,
               **fields: Any) -> Item:
        """``POST /plugins/{pluginId}/reviews``: one review per account and plugin (a second is a Conflict)."""
        body = camel_keys({"rating": rating, "title": title, "review": review, **fields})
        return self._item("POST", f"/plugins/{seg(plugin_id)}/reviews", json=body)

    def get(self, review_id: str) -> Item:
        """``GET /reviews/{reviewId}``."""
        return self._item("GET", f"/reviews/{seg(review_id)}")

    def update(self, review_id: str, **fields: Any) -> Item:
        """``PATCH /reviews/{reviewId}``: change your own review's ``rating``, ``title`` or ``review``."""
        return self._item("PATCH", f"/reviews/{seg(review_id)}", json=camel_keys(fields))

    def delete(self, review_id: str) -> None:
        """``DELETE /reviews/{reviewId}``: remove your own review."""
        self._client.request("DELETE", f"/reviews/{seg(review_id)}")

    def helpful(self, review_id: str) -> Item:
        """``POST /reviews/{reviewId}/helpful``: vote once (never on your own review)."""
        return self._item("POST", f"/reviews/{seg(review_id)}/helpful")

    def report(self, review_id: str, reason: str, **fields: Any) -> Item:
        """``POST /reviews/{reviewId}/report``: flag a review for the moderators."""
        return self._item("POST", f"/reviews/{seg(review_id)}/report",
                                 json=camel_keys({"reason": reason, **fields}))

    def hide(self, review_id: str, reason: str | None = None) -> Item:
        """``POST /reviews/{reviewId}/hide`` (admin)."""
        return self._item("POST", f"/reviews/{seg(review_id)}/hide", json=camel_keys({"reason": reason}))

    def restore(self, review_id: str) -> Item:
        """``POST /reviews/{reviewId}/restore`` (admin)."""
        return self._item("POST", f"/reviews/{seg(review_id)}/restore")
