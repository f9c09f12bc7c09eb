"""Pages of results: the spec's ``data`` / ``pagination`` / ``links`` / ``metadata`` blocks."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any, overload

Item = dict[str, Any]


class Page:
    """One page of a list. Iterate it for its items; :meth:`iter_all` walks this page and every later one.

    ``page["data"]`` and the other top-level keys still work, so code written against the raw JSON
    keeps running; ``page[0]`` is the first item.
    """

    def __init__(self, body: dict[str, Any], fetch: Callable[[int], Page] | None = None):
        self.raw = body
        self.data: list[Item] = list(body.get("data") or [])
        self.pagination: dict[str, Any] = dict(body.get("pagination") or {})
        self.links: dict[str, Any] = dict(body.get("links") or {})
        self.metadata: dict[str, Any] = dict(body.get("metadata") or {})
        self._fetch = fetch

    @property
    def page(self) -> int:
        """This page's number (1-based)."""
        return int(self.pagination.get("page", 1))

    @property
    def limit(self) -> int:
        return int(self.pagination.get("limit", len(self.data)))

    @property
    def total(self) -> int:
        """How many items all pages hold together."""
        return int(self.pagination.get("total", len(self.data)))

    @property
    def total_pages(self) -> int:
        return int(self.pagination.get("totalPages", 1 if self.data else 0))

    @property
    def has_next(self) -> bool:
        if "hasNextPage" in self.pagination:
            return bool(self.pagination["hasNextPage"])
        return bool(self.links.get("next"))

    @property
    def has_prev(self) -> bool:
        return bool(self.pagination.get("hasPrevPage", self.page > 1))

    def next_page(self) -> Page | None:
        """The following page, or None on the last one."""
        if not self.has_next or self._fetch is None:
            return None
        return self._fetch(self.page + 1)

    def iter_all(self) -> Iterator[Item]:
        """Every item of this page and of each following page, fetched lazily."""
        page: Page | None = self
        while page is not None:
            yield from page.data
            if not page.data:
                return
            page = page.next_page()

    def __iter__(self) -> Iterator[Item]:
        return iter(self.data)

    def __len__(self) -> int:
        return len(self.data)

    def __bool__(self) -> bool:
        return bool(self.data)

    @overload
    def __getitem__(self, key: str) -> Any: ...

    @overload
    def __getitem__(self, key: int) -> Item: ...

    def __getitem__(self, key: str | int) -> Any:
        if isinstance(key, str):
            return self.raw[key]
        return self.data[key]

    def __repr__(self) -> str:
        return f"<Page {self.page}/{self.total_pages} items={len(self.data)} total={self.total}>"


class LogPage:
    """A batch of installation log lines and the cursor to ask for the lines after them."""

    def __init__(self, body: dict[str, Any]):
        self.raw = body
        self.data: list[Item] = list(body.get("data") or [])
        block = body.get("pagination") or {}
        self.next_cursor: str | None = (body.get("nextCursor") or body.get("cursor")
                                        or block.get("nextCursor") or block.get("cursor"))
        self.has_more = bool(body.get("hasMore", block.get("hasMore", False)))

    def __iter__(self) -> Iterator[Item]:
        return iter(self.data)

    def __len__(self) -> int:
        return len(self.data)

    def __getitem__(self, key: str | int) -> Any:
        if isinstance(key, str):
            return self.raw[key]
        return self.data[key]
