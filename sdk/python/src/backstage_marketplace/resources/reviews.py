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
             page: int | None = None, limit: int | None = None, **extra: Any) -> Page:
        """``GET /plugins/{pluginId}/reviews``: sort ``recent`` | ``helpful`` | ``rating``, filter by ``rating``."""
        params = camel_keys({"sort": sort, "order": order, "rating": rating, "page": page, "limit": limit, **extra})
        return self._page(f"/plugins/{seg(plugin_id)}/reviews", params)

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
