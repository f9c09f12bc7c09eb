"""Which service answers a path, which writes need no credentials, and the caller's address."""

import ipaddress
from functools import lru_cache

from marketplace_shared.api import API_PREFIX

from .config import WEB

GATEWAY = "gateway"
PUBLISHER_PREFIX = "/addons/api"
# The gateway's own probes; everything else outside the APIs is the portal's when WEB_URL is set.
GATEWAY_OWN_PATHS = frozenset({"/healthz", "/readyz", "/metrics"})
# Set by the Forwarder of a gateway configured with WEB_URL (one gateway app per process).
_portal = {"enabled": False}


def enable_portal(enabled: bool) -> None:
    """Hand portal paths to the web upstream (the Forwarder of a gateway configured with WEB_URL)."""
    _portal["enabled"] = enabled


def is_portal_path(path: str) -> bool:
    """Pages and static files: anything but the two APIs and the gateway's probes."""
    if path in GATEWAY_OWN_PATHS or path == "/api" or path.startswith("/api/"):
        return False
    return not (path == PUBLISHER_PREFIX or path.startswith(PUBLISHER_PREFIX + "/"))


def route_for(path: str) -> str | None:
    """Which service answers a public path: catalog, install, review, webhook, gateway, web, or None (404)."""
    if path == PUBLISHER_PREFIX or path.startswith(PUBLISHER_PREFIX + "/"):
        return "catalog"
    if not path.startswith(API_PREFIX + "/"):
        return WEB if _portal["enabled"] and is_portal_path(path) else None
    parts = path[len(API_PREFIX) + 1:].split("/")
    head = parts[0]
    if head == "docs" and len(parts) == 1 and _portal["enabled"]:
        return WEB  # the portal's API reference, served from a pinned package (the gateway's own uses a CDN)
    if head == "plugins":
        if len(parts) >= 3 and parts[2] == "install":
            return "install"
        if len(parts) >= 3 and parts[2] == "reviews":
            return "review"
        return "catalog"
    return _HEADS.get(head)


_HEADS = {
    "installations": "install", "environments": "install",
    "reviews": "review",
    "webhooks": "webhook",
    "categories": "catalog", "tags": "catalog",
    "admin": GATEWAY, "me": GATEWAY, "api-keys": GATEWAY, "openapi.json": GATEWAY, "docs": GATEWAY,
}


def is_public_write(method: str, path: str) -> bool:
    """Writes anyone may send: a search (really a read), and the portal's forms (sign-in among them), which
    the portal guards itself with its session and a CSRF token."""
    if _portal["enabled"] and is_portal_path(path):
        return True
    return method == "POST" and path.rstrip("/") == API_PREFIX + "/plugins/search"


# -- client address ----------------------------------------------------------
class ClientAddresses:
    """The caller's address: X-Forwarded-For counts only when the peer is a trusted proxy."""

    def __init__(self, trusted_proxies: list[str]):
        self.networks = [ipaddress.ip_network(cidr.strip(), strict=False) for cidr in trusted_proxies if cidr.strip()]
        self._trusted = lru_cache(maxsize=4096)(self._is_trusted)

    def _is_trusted(self, address: str) -> bool:
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return False
        return any(ip in network for network in self.networks)

    def is_trusted(self, address: str | None) -> bool:
        return bool(self.networks) and address is not None and self._trusted(address)

    def client_address(self, remote: str | None, forwarded_for: str | None) -> str:
        remote = remote or "unknown"
        if not forwarded_for or not self.is_trusted(remote):
            return remote
        # Walk from the nearest hop outwards; the first address we do not trust is the client.
        hops = [hop.strip() for hop in forwarded_for.split(",") if hop.strip()]
        for hop in reversed(hops):
            if not self.is_trusted(hop):
                return hop
        return hops[0] if hops else remote
