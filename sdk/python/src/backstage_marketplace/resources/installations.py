"""``client.installations`` (status, logs, wait, cancel, upgrade, uninstall) and ``client.environments``."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from .._util import camel_keys
from ..errors import InstallationFailed, InstallationTimeout
from ..pagination import Item, LogPage, Page
from ._base import Resource, seg

#: Statuses after which an installation no longer changes by itself.
FINAL_STATUSES = frozenset({"completed", "failed", "cancelled", "uninstalled"})
#: Final statuses that mean it did not do what was asked.
FAILED_STATUSES = frozenset({"failed", "cancelled"})


def installation_id(installation: str | Mapping[str, Any]) -> str:
    """The id of an installation given as an id or as the resource returned by the API."""
    if isinstance(installation, Mapping):
        return str(installation.get("installationId") or installation.get("id"))
    return installation


class InstallationsResource(Resource):
    """Follow and manage installations started with ``client.plugins.install``."""

    def get(self, installation: str | Mapping[str, Any]) -> Item:
        """``GET /installations/{installationId}``: status, progress and, on failure, the error."""
        return self._item("GET", f"/installations/{seg(installation_id(installation))}")

    def list(self, *, plugin_id: str | None = None, environment: str | None = None, namespace: str | None = None,
             status: str | None = None, page: int | None = None, limit: int | None = None, **extra: Any) -> Page:
        """``GET /installations``: the caller's installations (all of them for admins), filtered.

        ``plugin_id`` takes a plugin id or name; ``status`` one status or several separated by commas.
        """
        params = camel_keys({"plugin": plugin_id, "environment": environment, "namespace": namespace,
                             "status": status, "page": page, "limit": limit, **extra})
        return self._page("/installations", params)

    def iter_all(self, *, limit: int = 100, **filters: Any) -> Iterator[Item]:
        """Every installation matching the filters of :meth:`list`, page after page."""
        return self.list(limit=limit, **filters).iter_all()

    def logs(self, installation: str | Mapping[str, Any], *, cursor: str | None = None,
             limit: int | None = None) -> LogPage:
        """``GET /installations/{installationId}/logs``: log lines after ``cursor`` (from the start without one).

        Pass the returned page's ``next_cursor`` to get only the lines written since.
        """
        params = camel_keys({"cursor": cursor, "limit": limit})
        return LogPage(self._client.get_json(f"/installations/{seg(installation_id(installation))}/logs",
                                             params=params))

    def iter_logs(self, installation: str | Mapping[str, Any], *, cursor: str | None = None,
                  limit: int | None = None) -> Iterator[Item]:
        """Every log line written so far (follows the cursor until no more lines come)."""
        while True:
            batch = self.logs(installation, cursor=cursor, limit=limit)
            yield from batch.data
            if not batch.data or not batch.next_cursor or batch.next_cursor == cursor:
                return
            cursor = batch.next_cursor

    def cancel(self, installation: str | Mapping[str, Any]) -> Item:
        """``POST /installations/{installationId}/cancel``: stop at the next step and roll back.

        Raises :class:`~backstage_marketplace.Conflict` once the installation has finished.
        """
        return self._item("POST", f"/installations/{seg(installation_id(installation))}/cancel")

    def upgrade(self, installation: str | Mapping[str, Any], version: str | None = None, *,
                configuration: Mapping[str, Any] | None = None, **fields: Any) -> Item:
        """``PATCH /installations/{installationId}``: move to another version (and/or configuration)."""
        body = camel_keys({"version": version, "configuration": configuration, **fields})
        return self._item("PATCH", f"/installations/{seg(installation_id(installation))}", json=body)

    def uninstall(self, installation: str | Mapping[str, Any]) -> Item | None:
        """``DELETE /installations/{installationId}``: remove the plugin from its environment."""
        return self._item("DELETE", f"/installations/{seg(installation_id(installation))}")

    def wait(self, installation: str | Mapping[str, Any], *, poll_interval: float = 1.0,
             timeout: float | None = 600.0, progress: Callable[[Item], None] | None = None,
             on_log: Callable[[Item], None] | None = None, raise_on_failure: bool = False) -> Item:
        """Poll until the installation reaches a final status and return it.

        :param poll_interval: seconds between polls.
        :param timeout: give up after this many seconds with :class:`InstallationTimeout` (None: never).
        :param progress: called with the installation each time its status or progress changes.
        :param on_log: called with each new log line (``{"timestamp", "level", "message", …}``), in order.
        :param raise_on_failure: raise :class:`InstallationFailed` when it ends ``failed`` or ``cancelled``.
        """
        ident = installation_id(installation)
        deadline = None if timeout is None else time.monotonic() + timeout
        cursor: str | None = None
        seen: tuple[Any, ...] | None = None
        while True:
            current = self.get(ident)
            if on_log is not None:
                cursor = self._drain_logs(ident, cursor, on_log)
            state = (current.get("status"), repr(current.get("progress")))
            if progress is not None and state != seen:
                progress(current)
            seen = state
            if current.get("status") in FINAL_STATUSES:
                if on_log is not None:  # lines written between the last poll and the end
                    self._drain_logs(ident, cursor, on_log)
                if raise_on_failure and current.get("status") in FAILED_STATUSES:
                    error = current.get("error") or {}
                    reason = error.get("message") if isinstance(error, dict) else None
                    raise InstallationFailed(f"installation {ident} {current.get('status')}"
                                             + (f": {reason}" if reason else ""), installation=current)
                return current
            if deadline is not None and time.monotonic() >= deadline:
                raise InstallationTimeout(f"installation {ident} still {current.get('status')} after {timeout}s",
                                          installation=current)
            self._client._sleep(poll_interval)

    def _drain_logs(self, ident: str, cursor: str | None, on_log: Callable[[Item], None]) -> str | None:
        while True:
            batch = self.logs(ident, cursor=cursor)
            for line in batch.data:
                on_log(line)
            if not batch.data or not batch.next_cursor or batch.next_cursor == cursor:
                return batch.next_cursor or cursor
            cursor = batch.next_cursor


class EnvironmentsResource(Resource):
    """``/environments``: where plugins are installed, with their Backstage and Node versions (admin)."""

    def list(self, *, page: int | None = None, limit: int | None = None) -> Page:
        """``GET /environments``."""
        return self._page("/environments", camel_keys({"page": page, "limit": limit}))

    def create(self, name: str, *, backstage_version: str | None = None, node_version: str | None = None,
               **fields: Any) -> Item:
        """``POST /environments``."""
        body = camel_keys({"name": name, "backstage_version": backstage_version, "node_version": node_version,
                           **fields})
        return self._item("POST", "/environments", json=body)

    def update(self, name: str, **fields: Any) -> Item:
        """``PATCH /environments/{name}`` with snake_case fields (``backstage_version=…``)."""
        return self._item("PATCH", f"/environments/{seg(name)}", json=camel_keys(fields))
