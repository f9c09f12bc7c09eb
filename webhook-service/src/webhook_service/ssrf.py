"""Which webhook URLs may be called: http(s) only, to public addresses (or explicitly allowed ranges).

With `only` set on the allowed networks (WEBHOOK_ALLOWED_NETWORKS_ONLY), those ranges are the only
addresses a webhook may reach: a public address outside them is refused too.

The host is resolved once, every address checked, and the caller connects to a checked address
(never resolving the name again), so a DNS answer that changes in between cannot redirect it.
"""

import ipaddress
import socket
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[[str, int], list[str]]

SHARED_ADDRESS_SPACE = ipaddress.ip_network("100.64.0.0/10")
NAT64 = ipaddress.ip_network("64:ff9b::/96")
METADATA_ADDRESSES = {ipaddress.ip_address(a) for a in (
    "169.254.169.254", "169.254.170.2", "100.100.100.200", "fd00:ec2::254", "192.0.0.192")}


class UnsafeUrl(ValueError):
    """The URL may not be called; the message says why."""


@dataclass(frozen=True)
class Target:
    """A checked URL: connect to `address`, name `host` in the Host header and TLS."""

    scheme: str
    host: str
    port: int
    address: str
    path: str
    host_header: str


class NetworkList(list):
    """Allowed networks (CIDR strings or parsed); `only`: nothing outside them may be called."""

    def __init__(self, items=(), only: bool = False):
        super().__init__(items)
        self.only = only


def system_resolver(host: str, port: int) -> list[str]:
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(info[4][0] for info in infos))


def parse_networks(cidrs: list[str]) -> NetworkList:
    """Parse CIDRs; the result keeps the `only` flag of a NetworkList."""
    return NetworkList((ipaddress.ip_network(cidr.strip(), strict=False) for cidr in cidrs if cidr.strip()),
                       only=getattr(cidrs, "only", False))


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip.teredo is not None:
        return ip.teredo[1]
    if ip in NAT64:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


def forbidden_reason(ip: Address) -> str | None:
    """Why an address is not a public one a webhook may reach, or None when it is."""
    if ip.version == 6:
        if ip.ipv4_mapped is not None:
            return "an IPv4-mapped IPv6 address"
        embedded = _embedded_ipv4(ip)
        if embedded is not None and forbidden_reason(embedded):
            return "an IPv6 address embedding a non-public IPv4 address"
    checks = (
        (ip in METADATA_ADDRESSES, "a cloud metadata address"),
        (ip.is_loopback, "a loopback address"),
        (ip.is_link_local, "a link-local address"),
        (ip.is_multicast, "a multicast address"),
        (ip.version == 4 and ip in SHARED_ADDRESS_SPACE, "a shared (carrier-grade NAT) address"),
        (ip.is_unspecified, "an unspecified address"),
        (ip.is_private, "a private address"),
        (ip.is_reserved, "a reserved address"),
        (not ip.is_global, "not a globally routable address"),
    )
    for hit, reason in checks:
        if hit:
            return reason
    return None


def check_address(address: str, allowed_networks) -> None:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if any(ip.version == network.version and ip in network for network in allowed_networks):
        return
    reason = forbidden_reason(ip)
    if getattr(allowed_networks, "only", False):
        # Say what the address is too: "outside the allowed networks" alone hides a metadata address.
        what = f"{reason}, " if reason else ""
        raise UnsafeUrl(f"the URL's host resolves to {ip}, {what}outside the allowed networks")
    if reason:
        raise UnsafeUrl(f"the URL's host resolves to {ip}, {reason}")


def check_url(url: str, allowed_networks, resolver: Resolver | None = None) -> Target:
    """Parse, resolve and check a webhook URL; raises UnsafeUrl."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError as exc:
        raise UnsafeUrl(f"not a valid URL ({exc})") from exc
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise UnsafeUrl("only http and https URLs are allowed")
    host = parts.hostname
    if not host:
        raise UnsafeUrl("the URL has no host")
    if parts.username is not None or parts.password is not None:
        raise UnsafeUrl("the URL must not contain credentials")
    port = port or (443 if scheme == "https" else 80)
    try:
        literal = ipaddress.ip_address(host)
    except ValueError:
        literal = None
    if literal is not None:
        addresses = [str(literal)]
    else:
        try:
            addresses = (resolver or system_resolver)(host, port)
        except (OSError, UnicodeError) as exc:
            raise UnsafeUrl(f"the URL's host '{host}' could not be resolved") from exc
        if not addresses:
            raise UnsafeUrl(f"the URL's host '{host}' could not be resolved")
    for address in addresses:
        check_address(address, allowed_networks)
    address = addresses[0].split("%", 1)[0]
    mapped = ipaddress.ip_address(address)
    if mapped.version == 6 and mapped.ipv4_mapped is not None:
        address = str(mapped.ipv4_mapped)  # only reachable when explicitly allowed
    bracketed = f"[{host}]" if ":" in host else host
    default_port = 443 if scheme == "https" else 80
    host_header = bracketed if port == default_port else f"{bracketed}:{port}"
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return Target(scheme=scheme, host=host, port=port, address=address, path=path, host_header=host_header)
