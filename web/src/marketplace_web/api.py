"""The public API as the signed-in visitor: an SDK client per request, sharing one connection pool.

The visitor's API key goes with every call, and so does their address (X-Forwarded-For). The portal's
PORTAL_TOKEN, shared with the gateway, tells the gateway that the call is the portal's, wherever the portal
runs: it believes the forwarded address, so that anonymous calls count against the visitor's own budget,
not against one shared by everyone who browses the portal.
"""

import requests
from flask import current_app, g, request
from requests.adapters import HTTPAdapter

from backstage_marketplace import MarketplaceClient
from backstage_marketplace.errors import MarketplaceError

__all__ = ["MarketplaceError", "client", "client_for", "error_message"]

PORTAL_TOKEN_HEADER = "X-Marketplace-Portal-Token"  # what the gateway reads (and never forwards)


class Clients:
    def __init__(self, config):
        self.config = config
        # One pool for every request's client (a requests adapter is safe to share between threads).
        self.adapter = HTTPAdapter(pool_connections=4, pool_maxsize=32, max_retries=0)

    def make(self, api_key: str | None, forwarded_for: str | None, request_id: str | None) -> MarketplaceClient:
        session = requests.Session()
        session.trust_env = False
        session.mount("http://", self.adapter)
        session.mount("https://", self.adapter)
        if self.config.PORTAL_TOKEN:
            session.headers[PORTAL_TOKEN_HEADER] = self.config.PORTAL_TOKEN
        if forwarded_for:
            session.headers["X-Forwarded-For"] = forwarded_for
        if request_id:
            session.headers["X-Request-Id"] = request_id
        return MarketplaceClient(api_key=api_key or None, base_url=self.config.GATEWAY_URL, session=session,
                                 timeout=self.config.API_TIMEOUT, max_retries=1, max_retry_wait=2.0,
                                 user_agent="marketplace-web")


def client_address() -> str:
    """The X-Forwarded-For the portal sends on: the chain the gateway gave it with the page request, as it is.

    The portal's own peer is the gateway, which wrote that chain (ending with the page request's peer), so
    the portal adds no hop: the gateway then resolves the visitor exactly as it did for the page. Without a
    chain (the portal called directly, in tests), the peer is the visitor.
    """
    forwarded = request.headers.get("X-Forwarded-For", "").strip()
    return forwarded or request.remote_addr or ""


def client_for(api_key: str | None) -> MarketplaceClient:
    clients: Clients = current_app.extensions["web_clients"]
    return clients.make(api_key, client_address(), g.get("request_id"))


def client() -> MarketplaceClient:
    """The API as the current visitor (anonymous when not signed in)."""
    existing = g.get("api_client")
    if existing is None:
        existing = g.api_client = client_for(g.web_session.get("api_key"))
    return existing


def error_message(error: MarketplaceError) -> str:
    return f"{error.message} ({error.code})"
