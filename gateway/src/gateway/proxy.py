"""The forwarder: a pooled urllib3 connection per service, streamed bodies, the service's answer relayed.

urllib3 pools (keep-alive, no retries, connect/read timeouts) were measured faster than `requests`,
which also scans the environment for proxy settings on every call.
"""

import logging
import os
import time
from urllib.parse import quote, urlsplit

import urllib3
from flask import Response, g, request
from prometheus_client import Counter, Histogram
from urllib3.exceptions import ConnectTimeoutError, HTTPError, NewConnectionError, ProtocolError, ReadTimeoutError
from urllib3.util.retry import Retry

from marketplace_shared.api import REQUEST_ID_HEADER
from marketplace_shared.errors import GATEWAY_TIMEOUT, PAYLOAD_TOO_LARGE, SERVICE_UNAVAILABLE, ApiError
from marketplace_shared.identity import HEADER as IDENTITY_HEADER

from . import routing
from .routing import WEB, ClientAddresses

log = logging.getLogger(__name__)

CHUNK = 64 * 1024
# Bodies up to this size are read whole and the connection goes straight back to the pool.
BUFFER_LIMIT = 256 * 1024
HOP_BY_HOP = frozenset({"connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te", "trailer",
                        "trailers", "transfer-encoding", "upgrade", "proxy-connection"})
# Credentials end at the gateway: services trust only its signed identity token.
_CREDENTIAL_HEADERS = frozenset({"authorization", "x-api-key", "api-key"})
# Anything a client might send hoping a service takes it for an identity, and the X-Forwarded-* we set.
_SKIP_REQUEST_PREFIXES = ("x-marketplace-", "x-user", "x-account", "x-auth", "x-identity", "x-remote-user",
                          "x-forwarded-", "remote-user", "x-consumer", "x-jwt", "x-role")
_SKIP_REQUEST_HEADERS = HOP_BY_HOP | _CREDENTIAL_HEADERS | {"host", "forwarded", "content-length", "expect",
                                                            "x-request-id"}
USER_AGENT = "marketplace-gateway"
# No retries (a POST must never be sent twice), built once rather than per request.
NO_RETRIES = Retry(total=False, redirect=False, raise_on_redirect=False)
_RESPONSE_DROP = HOP_BY_HOP | {"server", "date", "x-ratelimit-limit", "x-ratelimit-remaining", "x-ratelimit-reset",
                               "ratelimit", "ratelimit-policy", "retry-after"}

UPSTREAM_REQUESTS = Counter("gateway_upstream_requests_total", "Requests forwarded to a service",
                            ["upstream", "method", "status"])
UPSTREAM_LATENCY = Histogram("gateway_upstream_duration_seconds", "Time until a service's response headers",
                             ["upstream"], buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5,
                                                    5, 10, 30))


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
        routing.enable_portal(WEB in self.bases)

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
        # What urllib3 would add otherwise, set here so that both ways to a service send the same request.
        headers.setdefault("accept-encoding", "identity")
        headers.setdefault("user-agent", USER_AGENT)
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
            return read_chunks(file, length, self.max_body)
        length = req.content_length
        if length is not None:
            if length > self.max_body:
                raise payload_too_large(self.max_body)
            headers["Content-Length"] = str(length)
            return read_chunks(req.stream, length, self.max_body) if length else None
        if "chunked" in req.environ.get("HTTP_TRANSFER_ENCODING", "").lower():
            return read_chunks(req.stream, None, self.max_body)
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
    return kept_headers(upstream.headers.items(), upstream.headers.get("Connection"))


def kept_headers(pairs, connection: str | None) -> list[tuple[str, str]]:
    """The service's response headers minus hop-by-hop ones and its request id (the gateway sets its own)."""
    dropped = connection_tokens(connection)
    return [(key, value) for key, value in pairs
            if (lower := key.lower()) not in _RESPONSE_DROP and lower != "x-request-id" and lower not in dropped]


def _buffered_body(name: str, method: str, upstream) -> bytes | None:
    """The whole body when there is none to stream or it is small; None when it should be streamed."""
    length = upstream.headers.get("Content-Length")
    if not (method == "HEAD" or upstream.status in (204, 304)
            or (length is not None and int(length) <= BUFFER_LIMIT)):
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


def read_chunks(stream, length: int | None, limit: int):
    """Yield the body in chunks; stop a body that turns out larger than the limit."""
    remaining = length
    total = 0
    while remaining is None or remaining > 0:
        chunk = stream.read(CHUNK if remaining is None else min(CHUNK, remaining))
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
        yield from upstream.stream(CHUNK, decode_content=False)
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


def raw_response(name: str, method: str, upstream) -> tuple[int, list[tuple[str, str]], object]:
    """The service's answer as WSGI parts (status, headers, body iterable), for the fast path in app.py."""
    headers = _kept_headers(upstream)
    data = _buffered_body(name, method, upstream)
    if data is None:
        return upstream.status, headers, _stream(name, upstream)
    if upstream.headers.get("Content-Length") is None and method != "HEAD" and upstream.status not in (204, 304):
        headers.append(("Content-Length", str(len(data))))
    return upstream.status, headers, [data] if data else []
