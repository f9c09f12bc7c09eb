"""Forwarding to the services: the routing table, client addresses, and a pooled urllib3 forwarder.

urllib3 pools (keep-alive, no retries, connect/read timeouts) were measured faster than `requests`,
which also scans the environment for proxy settings on every call.
"""

import ipaddress
import json
import logging
import os
import tempfile
import time
from functools import lru_cache
from urllib.parse import parse_qs, quote, urlsplit

import urllib3
from flask import Response, g, request
from prometheus_client import Counter, Histogram
from urllib3.exceptions import ConnectTimeoutError, HTTPError, NewConnectionError, ProtocolError, ReadTimeoutError
from urllib3.util.retry import Retry
from werkzeug.http import parse_options_header
from werkzeug.sansio.multipart import Data, Epilogue, Field, File, MultipartDecoder, NeedData

from marketplace_shared.api import API_PREFIX, REQUEST_ID_HEADER
from marketplace_shared.errors import GATEWAY_TIMEOUT, PAYLOAD_TOO_LARGE, SERVICE_UNAVAILABLE, ApiError
from marketplace_shared.identity import HEADER as IDENTITY_HEADER

log = logging.getLogger(__name__)

GATEWAY = "gateway"
PUBLISHER_PREFIX = "/addons/api"
_CHUNK = 64 * 1024
# Bodies up to this size are read whole and the connection goes straight back to the pool.
_BUFFER_LIMIT = 256 * 1024
HOP_BY_HOP = frozenset({"connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te", "trailer",
                        "trailers", "transfer-encoding", "upgrade", "proxy-connection"})
# Credentials end at the gateway: services trust only its signed identity token.
_CREDENTIAL_HEADERS = frozenset({"authorization", "x-api-key", "api-key"})
# Anything a client might send hoping a service takes it for an identity, and the X-Forwarded-* we set.
_SKIP_REQUEST_PREFIXES = ("x-marketplace-", "x-user", "x-account", "x-auth", "x-identity", "x-remote-user",
                          "x-forwarded-", "remote-user", "x-consumer", "x-jwt", "x-role")
_SKIP_REQUEST_HEADERS = HOP_BY_HOP | _CREDENTIAL_HEADERS | {"host", "forwarded", "content-length", "expect",
                                                            "x-request-id"}
# No retries (a POST must never be sent twice), built once rather than per request.
NO_RETRIES = Retry(total=False, redirect=False, raise_on_redirect=False)
_RESPONSE_DROP = HOP_BY_HOP | {"server", "date", "x-ratelimit-limit", "x-ratelimit-remaining", "x-ratelimit-reset",
                               "ratelimit", "ratelimit-policy", "retry-after"}

UPSTREAM_REQUESTS = Counter("gateway_upstream_requests_total", "Requests forwarded to a service",
                            ["upstream", "method", "status"])
UPSTREAM_LATENCY = Histogram("gateway_upstream_duration_seconds", "Time until a service's response headers",
                             ["upstream"], buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5,
                                                    5, 10, 30))


# -- routing ---------------------------------------------------------------
WEB = "web"
# The gateway's own probes; everything else outside the APIs is the portal's when WEB_URL is set.
_GATEWAY_OWN_PATHS = frozenset({"/healthz", "/readyz", "/metrics"})
# Set by the Forwarder of a gateway configured with WEB_URL (one gateway app per process).
_portal = {"enabled": False}


def is_portal_path(path: str) -> bool:
    """Pages and static files: anything but the two APIs and the gateway's probes."""
    if path in _GATEWAY_OWN_PATHS or path == "/api" or path.startswith("/api/"):
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


# -- forwarding ----------------------------------------------------------------
class UpstreamError(ApiError):
    pass


class BodyTooLarge(Exception):
    pass


def upstream_unavailable(name: str) -> UpstreamError:
    return UpstreamError(503, SERVICE_UNAVAILABLE, f"The {name} service is unavailable, try again later",
                         {"service": name})


def upstream_timeout(name: str) -> UpstreamError:
    return UpstreamError(504, GATEWAY_TIMEOUT, f"The {name} service did not answer in time", {"service": name})


def payload_too_large(limit: int) -> ApiError:
    return ApiError(413, PAYLOAD_TOO_LARGE, "Request body is too large", {"maxBytes": limit})


class Forwarder:
    """One keep-alive pool per service and per process (pools are never shared across a fork)."""

    def __init__(self, config, addresses: ClientAddresses):
        self.config = config
        self.addresses = addresses
        self.timeout = urllib3.Timeout(connect=config.UPSTREAM_CONNECT_TIMEOUT, read=config.UPSTREAM_READ_TIMEOUT)
        self.max_body = config.MAX_CONTENT_LENGTH
        self.bases = {}
        for name, url in config.upstreams.items():
            parts = urlsplit(url)
            self.bases[name] = (url, parts.path.rstrip("/"))
        self._pools: dict[str, urllib3.connectionpool.HTTPConnectionPool] = {}
        self._pid = None
        _portal["enabled"] = WEB in self.bases

    def pool(self, name: str):
        if self._pid != os.getpid():
            self._pools, self._pid = {}, os.getpid()
        pool = self._pools.get(name)
        if pool is None:
            pool = urllib3.connection_from_url(self.bases[name][0], maxsize=self.config.UPSTREAM_POOL_SIZE,
                                               block=False, timeout=self.timeout, retries=NO_RETRIES)
            self._pools[name] = pool
        return pool

    def get_json(self, name: str, path: str, timeout: float = 3.0):
        """A small GET for the gateway's own use (the services' OpenAPI documents)."""
        response = self.pool(name).urlopen("GET", self.bases[name][1] + path, retries=NO_RETRIES, redirect=False,
                                           timeout=urllib3.Timeout(connect=min(timeout, 2.0), read=timeout),
                                           headers={"Accept": "application/json"})
        if response.status != 200:
            raise HTTPError(f"{name} answered {response.status} for {path}")
        return response.json()

    # -- the request ---------------------------------------------------------
    def outgoing_headers(self, environ, host: str, request_id: str, identity_token: str) -> dict[str, str]:
        """The client's headers minus hop-by-hop, credential and identity ones, plus X-Forwarded-* and ours."""
        dropped = connection_tokens(environ.get("HTTP_CONNECTION"))
        headers = {}
        for key, value in environ.items():
            if not key.startswith("HTTP_"):
                continue
            lower = key[5:].lower().replace("_", "-")
            if lower in _SKIP_REQUEST_HEADERS or lower.startswith(_SKIP_REQUEST_PREFIXES) or lower in dropped:
                continue
            headers[lower] = value
        if environ.get("CONTENT_TYPE"):
            headers["content-type"] = environ["CONTENT_TYPE"]
        remote = environ.get("REMOTE_ADDR") or "unknown"
        trusted = self.addresses.is_trusted(remote)
        incoming_for = environ.get("HTTP_X_FORWARDED_FOR")
        headers["X-Forwarded-For"] = f"{incoming_for}, {remote}" if trusted and incoming_for else remote
        headers["X-Forwarded-Proto"] = (trusted and environ.get("HTTP_X_FORWARDED_PROTO")) or environ.get(
            "wsgi.url_scheme", "http")
        headers["X-Forwarded-Host"] = (trusted and environ.get("HTTP_X_FORWARDED_HOST")) or host
        headers[REQUEST_ID_HEADER] = request_id
        headers[IDENTITY_HEADER] = identity_token
        return headers

    def _request_body(self, req, headers: dict, spooled=None):
        """The body to send: the spooled file, or the client's stream read in chunks (never whole)."""
        if spooled is not None:
            file, length = spooled
            file.seek(0)
            headers["Content-Length"] = str(length)
            return _read_chunks(file, length, self.max_body)
        length = req.content_length
        if length is not None:
            if length > self.max_body:
                raise payload_too_large(self.max_body)
            headers["Content-Length"] = str(length)
            return _read_chunks(req.stream, length, self.max_body) if length else None
        if "chunked" in req.environ.get("HTTP_TRANSFER_ENCODING", "").lower():
            return _read_chunks(req.stream, None, self.max_body)
        return None

    def forward(self, name: str, identity_token: str, spooled=None) -> Response:
        req = request._get_current_object()
        headers = self.outgoing_headers(req.environ, req.host, g.request_id, identity_token)
        body = self._request_body(req, headers, spooled)
        upstream = self.send(name, req.method, request_target(req.environ), body, headers)
        return self._response(name, req.method, upstream)

    def send(self, name: str, method: str, target: str, body, headers: dict):
        """The service's response (headers read, body not yet), or 503/504/413 as an ApiError."""
        pool = self.pool(name)
        url = self.bases[name][1] + target
        started = time.perf_counter()
        try:
            upstream = self._send(pool, name, method, url, body, headers)
        except BodyTooLarge:
            raise payload_too_large(self.max_body) from None
        finally:
            UPSTREAM_LATENCY.labels(name).observe(time.perf_counter() - started)
        UPSTREAM_REQUESTS.labels(name, method, str(upstream.status)).inc()
        return upstream

    def _send(self, pool, name, method, url, body, headers):
        for attempt in (1, 2):
            try:
                return pool.urlopen(method, url, body=body, headers=headers, retries=NO_RETRIES, redirect=False,
                                    assert_same_host=False, preload_content=False, decode_content=False,
                                    timeout=self.timeout)
            except NewConnectionError as exc:
                UPSTREAM_REQUESTS.labels(name, method, "503").inc()
                log.warning("%s unreachable: %s", name, exc)
                raise upstream_unavailable(name) from None
            except (ConnectTimeoutError, ReadTimeoutError):
                UPSTREAM_REQUESTS.labels(name, method, "504").inc()
                log.warning("%s timed out", name)
                raise upstream_timeout(name) from None
            except (ProtocolError, HTTPError, OSError) as exc:
                if _caused_by(exc, BodyTooLarge):
                    raise BodyTooLarge() from None
                # A kept-alive connection the service had just closed: one fresh try when nothing was sent.
                if attempt == 1 and body is None and _is_reset(exc):
                    continue
                UPSTREAM_REQUESTS.labels(name, method, "503").inc()
                log.warning("%s failed: %r", name, exc)
                raise upstream_unavailable(name) from None
        raise upstream_unavailable(name)  # pragma: no cover - the loop always returns or raises

    def _response(self, name: str, method: str, upstream) -> Response:
        headers = _kept_headers(upstream)
        content_type = next((value for key, value in headers if key.lower() == "content-type"), None)
        data = _buffered_body(name, method, upstream)
        if data is not None:
            response = Response(data, status=upstream.status, headers=headers, content_type=content_type)
            length = upstream.headers.get("Content-Length")
            if method == "HEAD" and length is not None:
                response.headers["Content-Length"] = length
        else:
            response = Response(_stream(name, upstream), status=upstream.status, headers=headers,
                                content_type=content_type, direct_passthrough=True)
        if content_type is None:
            response.headers.pop("Content-Type", None)
        return response


def _kept_headers(upstream) -> list[tuple[str, str]]:
    """The service's response headers minus hop-by-hop ones and its request id (the gateway sets its own)."""
    dropped = connection_tokens(upstream.headers.get("Connection"))
    return [(key, value) for key, value in upstream.headers.items()
            if (lower := key.lower()) not in _RESPONSE_DROP and lower != "x-request-id" and lower not in dropped]


def _buffered_body(name: str, method: str, upstream) -> bytes | None:
    """The whole body when there is none to stream or it is small; None when it should be streamed."""
    length = upstream.headers.get("Content-Length")
    if not (method == "HEAD" or upstream.status in (204, 304)
            or (length is not None and int(length) <= _BUFFER_LIMIT)):
        return None
    try:
        data = upstream.read()
    except (ReadTimeoutError, ProtocolError, HTTPError, OSError):
        upstream.close()
        upstream.release_conn()
        raise upstream_timeout(name) from None
    upstream.release_conn()
    return data


def request_target(environ) -> str:
    """The path and query exactly as the client sent them (percent-encoding preserved)."""
    path = quote(environ.get("PATH_INFO", "").encode("latin-1"), safe="/:@!$&'()*+,;=-._~%")
    query = environ.get("QUERY_STRING")
    return f"{path}?{query}" if query else path


def connection_tokens(value: str | None) -> frozenset[str]:
    if not value:
        return frozenset()
    return frozenset(token.strip().lower() for token in value.split(","))


def _read_chunks(stream, length: int | None, limit: int):
    """Yield the body in chunks; stop a body that turns out larger than the limit."""
    remaining = length
    total = 0
    while remaining is None or remaining > 0:
        chunk = stream.read(_CHUNK if remaining is None else min(_CHUNK, remaining))
        if not chunk:
            break
        total += len(chunk)
        if total > limit:
            raise BodyTooLarge()
        if remaining is not None:
            remaining -= len(chunk)
        yield chunk


def _stream(name: str, upstream):
    completed = False
    try:
        yield from upstream.stream(_CHUNK, decode_content=False)
        completed = True
    except (ReadTimeoutError, ProtocolError, HTTPError, OSError) as exc:
        # The status line has gone out already: all we can do is cut the response short.
        log.warning("%s broke off a streamed response: %r", name, exc)
    finally:
        if not completed:
            upstream.close()
        upstream.release_conn()


def _caused_by(exc: BaseException, kind: type) -> bool:
    seen = set()
    while exc is not None and id(exc) not in seen:
        if isinstance(exc, kind):
            return True
        seen.add(id(exc))
        exc = exc.__cause__ or exc.__context__
    return False


def _is_reset(exc: BaseException) -> bool:
    return _caused_by(exc, ConnectionResetError) or _caused_by(exc, BrokenPipeError) or \
        "RemoteDisconnected" in repr(exc)


# -- the publisher API's key inside a multipart body -----------------------------
_JSON_PART_LIMIT = 1024 * 1024
KEY_FOUND, KEY_ABSENT, JSON_UNREADABLE = "found", "absent", "unreadable"


class SpooledBody:
    """A request body written to a temporary file while the `json` part is picked out of it."""

    def __init__(self):
        self.file = tempfile.TemporaryFile()  # noqa: SIM115 - closed at the end of the request
        self.size = 0
        self.outcome = JSON_UNREADABLE
        self.api_key: str | None = None

    def close(self) -> None:
        self.file.close()


def spool_publisher_body(stream, length: int | None, limit: int, content_type: str | None) -> SpooledBody:
    """Copy the body to disk (bounded by `limit`) and read `api_key` from its form field named `json`.

    The document's scripts send multipart; `requests` sends a plain urlencoded form when a script
    attaches no file, so both are read.
    """
    if length is not None and length > limit:
        raise payload_too_large(limit)
    spooled = SpooledBody()
    mimetype, options = parse_options_header(content_type or "")
    boundary = options.get("boundary") if mimetype == "multipart/form-data" else None
    reader = _JsonPartReader(boundary) if boundary else None
    if mimetype == "application/x-www-form-urlencoded":
        reader = _UrlencodedJsonReader()
    try:
        for chunk in _read_chunks(stream, length, limit):
            spooled.file.write(chunk)
            spooled.size += len(chunk)
            if reader is not None:
                reader.feed(chunk)
        if reader is not None:
            reader.feed(None)
    except BodyTooLarge:
        spooled.close()
        raise payload_too_large(limit) from None
    except BaseException:
        spooled.close()
        raise
    if reader is not None and reader.done:
        try:
            document = json.loads(bytes(reader.data))
        except ValueError:
            document = None
        if isinstance(document, dict):
            key = document.get("api_key")
            if isinstance(key, str) and key.strip():
                spooled.outcome, spooled.api_key = KEY_FOUND, key.strip()
            else:
                spooled.outcome = KEY_ABSENT
    return spooled


class _UrlencodedJsonReader:
    """The `json` field of a small urlencoded form, read as the body is spooled."""

    def __init__(self):
        self.body = bytearray()
        self.data = b""
        self.done = False
        self.failed = False

    def feed(self, chunk: bytes | None) -> None:
        if self.failed or self.done:
            return
        if chunk is not None:
            self.body += chunk
            self.failed = len(self.body) > 2 * _JSON_PART_LIMIT
            return
        values = parse_qs(self.body.decode("latin-1")).get("json")
        if values:
            self.data = values[0].encode("utf-8")
            self.done = True


class _JsonPartReader:
    def __init__(self, boundary: str):
        self.decoder = MultipartDecoder(boundary.encode("latin-1"))
        self.current: str | None = None
        self.data = bytearray()
        self.done = False
        self.failed = False

    def feed(self, chunk: bytes | None) -> None:
        if self.done or self.failed:
            return
        try:
            self.decoder.receive_data(chunk)
            while True:
                event = self.decoder.next_event()
                if isinstance(event, (NeedData, Epilogue)):
                    return
                if isinstance(event, (Field, File)):
                    self.current = event.name
                elif isinstance(event, Data) and self.current == "json":
                    self.data += event.data
                    if len(self.data) > _JSON_PART_LIMIT:
                        self.failed = True
                        return
                    if not event.more_data:
                        self.done = True
                        return
        except ValueError:
            self.failed = True


def raw_response(name: str, method: str, upstream) -> tuple[int, list[tuple[str, str]], object]:
    """The service's answer as WSGI parts (status, headers, body iterable), for the fast path in app.py."""
    headers = _kept_headers(upstream)
    data = _buffered_body(name, method, upstream)
    if data is None:
        return upstream.status, headers, _stream(name, upstream)
    if upstream.headers.get("Content-Length") is None and method != "HEAD" and upstream.status not in (204, 304):
        headers.append(("Content-Length", str(len(data))))
    return upstream.status, headers, [data] if data else []

