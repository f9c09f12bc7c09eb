"""What every resource shares: a reference to the client and path quoting."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from ..pagination import Page

if TYPE_CHECKING:
    from ..client import MarketplaceClient


def seg(value: Any) -> str:
    """One path segment, escaped (ids never contain '/', but names given by people might)."""
    return quote(str(value), safe="")


class Resource:
    def __init__(self, client: MarketplaceClient):
        self._client = client

    def _page(self, path: str, params: dict[str, Any]) -> Page:
        """GET a paginated list; the page knows how to fetch the pages after it."""

        def fetch(number: int) -> Page:
            return Page(self._client.get_json(path, params={**params, "page": number}), fetch)

        return Page(self._client.get_json(path, params=params), fetch)
