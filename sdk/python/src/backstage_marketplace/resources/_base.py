"""What every resource shares: a reference to the client and path quoting."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast
from urllib.parse import quote

from ..pagination import Item, Page

if TYPE_CHECKING:
    from ..client import MarketplaceClient


def seg(value: Any) -> str:
    """One path segment, escaped (ids never contain '/', but names given by people might)."""
    return quote(str(value), safe="")


class Resource:
    def __init__(self, client: MarketplaceClient):
        self._client = client

    def _item(self, method: str, path: str, **kwargs: Any) -> Item:
        """The ``data`` member of a response that holds one resource."""
        return cast(Item, self._client.data(method, path, **kwargs))

    def _items(self, method: str, path: str, **kwargs: Any) -> list[Item]:
        """The ``data`` member of a response that holds a plain list."""
        return cast("list[Item]", self._client.data(method, path, **kwargs))

    def _page(self, path: str, params: dict[str, Any]) -> Page:
        """GET a paginated list; the page knows how to fetch the pages after it."""

        def fetch(number: int) -> Page:
            return Page(self._client.get_json(path, params={**params, "page": number}), fetch)

        return Page(self._client.get_json(path, params=params), fetch)
