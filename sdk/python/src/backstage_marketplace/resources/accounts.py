"""``client.accounts``: who am I, my API keys, and account administration (admin)."""

from __future__ import annotations

import builtins
from datetime import datetime
from typing import Any

from .._util import camel_keys, iso
from ..pagination import Item, Page
from ._base import Resource, seg


class AccountsResource(Resource):
    """The caller's account and keys; the ``admin_*`` methods need an admin key."""

    def me(self) -> Item:
        """``GET /me``: the account the key belongs to."""
        return self._item("GET", "/me")

    def api_keys(self) -> builtins.list[Item]:
        """``GET /me/api-keys``: your keys (never their secret part)."""
        return self._items("GET", "/me/api-keys")

    def create_api_key(self, name: str, *, expires_at: datetime | str | None = None) -> Item:
        """``POST /me/api-keys``: a new key; ``key`` in the result is shown only this once."""
        expires = iso(expires_at) if isinstance(expires_at, datetime) else expires_at
        return self._item("POST", "/me/api-keys", json=camel_keys({"name": name, "expires_at": expires}))

    def revoke_api_key(self, key_id: str) -> None:
        """``DELETE /api-keys/{id}``."""
        self._client.request("DELETE", f"/api-keys/{seg(key_id)}")

    def create(self, name: str, email: str, role: str = "user", **fields: Any) -> Item:
        """``POST /admin/accounts`` (admin): ``role`` user|publisher|admin; optional ``tier``, ``rate_limit_per_hour``.

        The result has the account's ``id``; give it a key with :meth:`create_account_key`.
        """
        body = camel_keys({"name": name, "email": email, "role": role, **fields})
        return self._item("POST", "/admin/accounts", json=body)

    def list(self, *, page: int | None = None, limit: int | None = None, **extra: Any) -> Page:
        """``GET /admin/accounts`` (admin)."""
        return self._page("/admin/accounts", camel_keys({"page": page, "limit": limit, **extra}))

    def get(self, account_id: str) -> Item:
        """``GET /admin/accounts/{id}`` (admin)."""
        return self._item("GET", f"/admin/accounts/{seg(account_id)}")

    def update(self, account_id: str, **fields: Any) -> Item:
        """``PATCH /admin/accounts/{id}`` (admin)."""
        return self._item("PATCH", f"/admin/accounts/{seg(account_id)}", json=camel_keys(fields))

    def create_account_key(self, account_id: str, name: str, *, expires_at: datetime | str | None = None) -> Item:
        """``POST /admin/accounts/{id}/api-keys`` (admin): a key for another account, shown once as ``key``."""
        expires = iso(expires_at) if isinstance(expires_at, datetime) else expires_at
        return self._item("POST", f"/admin/accounts/{seg(account_id)}/api-keys",
                                 json=camel_keys({"name": name, "expires_at": expires}))
