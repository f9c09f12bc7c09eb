"""The fast path's own connections to the services: kept-alive HTTP/1.1, one per plain-HTTP service and thread.

Why not urllib3 or http.client here: measured on this path, urllib3's pool costs about 0.28 ms of CPU per
exchange and http.client about 0.18 ms; this costs about 0.05 ms, a quarter of the gateway's whole budget
per request. It takes only what the fast path sends (a request with no body or a small one, to a service on
http://); HTTPS services and the Flask path (streamed uploads, the publisher API) keep urllib3.
"""

import logging
import os
import select
import socket
import threading
import time
from urllib.parse import urlsplit

from marketplace_shared.api import metric_child
from marketplace_shared.errors import validation_error

from .proxy import (
    BUFFER_LIMIT,
    CHUNK,
    UPSTREAM_LATENCY,
    UPSTREAM_REQUESTS,
    connection_tokens,
    kept_headers,
    upstream_timeout,
    upstream_unavailable,
)

log = logging.getLogger(__name__)
_MAX_LINE = 65536
_MAX_FIELDS = 100
_METHODS_WITH_BODY = frozenset({"POST", "PUT", "PATCH"})
# Sent again once when a kept-alive connection turns out dead: a POST or PATCH (a cancel, a vote) never is.
_SAFE_TO_REPEAT = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})


class BadResponse(Exception):
    """The service's answer is not HTTP/1.1 we can relay."""


class _Connection:
    """One kept-alive HTTP/1.1 connection to a service, used by one request at a time."""

    __slots__ = ("sock", "reader", "poller")

    def __init__(self, address, connect_timeout: float, read_timeout: float):
        self.sock = socket.create_connection(address, timeout=connect_timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.sock.settimeout(read_timeout)
        self.reader = self.sock.makefile("rb")
        self.poller = select.poll()
        self.poller.register(self.sock, select.POLLIN)

    def idle_and_open(self) -> bool:
        """Nothing to read: the service has neither closed it nor sent anything unasked."""
        return not self.poller.poll(0)

    def close(self) -> None:
        self.reader.close()
        self.sock.close()


class Upstreams:
    """One kept-alive connection per plain-HTTP service and per thread, for the fast path's small requests.

    urllib3's pool costs about 0.25 ms of CPU per request here (HTTPHeaderDict, Retry and Timeout objects,
    http.client's email-based header parser); this costs about 0.05 ms. The Flask path keeps urllib3 for
    streamed uploads. Responses are framed as RFC 9112 says: no body, chunked, Content-Length, or until close.
    """

    def __init__(self, config, bases: dict[str, tuple[str, str]]):
        self.connect_timeout = config.UPSTREAM_CONNECT_TIMEOUT
        self.read_timeout = config.UPSTREAM_READ_TIMEOUT
        self.services = {}  # name -> ((host, port), Host header, base path)
        for name, (url, base_path) in bases.items():
            parts = urlsplit(url)
            if parts.scheme == "http" and parts.hostname:
                self.services[name] = ((parts.hostname, parts.port or 80), parts.netloc.rpartition("@")[2],
                                       base_path)
        self._local = threading.local()

    def _kept(self) -> dict:
        local = self._local
        if getattr(local, "pid", None) != os.getpid():  # never reuse a socket inherited across a fork
            local.connections, local.pid = {}, os.getpid()
        return local.connections

    def _release(self, name: str, connection: _Connection) -> None:
        previous = self._kept().get(name)
        if previous is not None:
            previous.close()
        self._kept()[name] = connection

    def exchange(self, name: str, method: str, target: str, body: bytes | None, headers: dict):
        """(status, headers, body iterable) of the service's answer, or 503/504 as an ApiError."""
        address, host, base_path = self.services[name]
        request = _request_bytes(method, base_path + target, host, headers, body)
        started = time.perf_counter()
        try:
            connection, version, status, fields = self._send(name, method, address, request,
                                                              body is None and method in _SAFE_TO_REPEAT)
        finally:
            metric_child(UPSTREAM_LATENCY, name).observe(time.perf_counter() - started)
        metric_child(UPSTREAM_REQUESTS, name, method, str(status)).inc()
        return (status, *self._body(name, method, connection, version, status, fields))

    def _send(self, name: str, method: str, address, request: bytes, may_retry: bool):
        connection = self._kept().pop(name, None)
        if connection is not None and not connection.idle_and_open():
            connection.close()
            connection = None
        while True:
            fresh = connection is None
            try:
                if fresh:
                    connection = _Connection(address, self.connect_timeout, self.read_timeout)
                connection.sock.sendall(request)
                return (connection, *_read_head(connection.reader))
            except (OSError, EOFError, BadResponse, ValueError) as exc:
                if connection is not None:
                    connection.close()
                # A kept-alive connection the service had just closed: one fresh try for a request safe to repeat.
                if not fresh and may_retry and isinstance(exc, (ConnectionError, EOFError)):
                    connection = None
                    continue
                timed_out = isinstance(exc, TimeoutError)
                UPSTREAM_REQUESTS.labels(name, method, "504" if timed_out else "503").inc()
                log.warning("%s %s: %r", name, "timed out" if timed_out else "failed", exc)
                raise (upstream_timeout if timed_out else upstream_unavailable)(name) from None

    def _body(self, name: str, method: str, connection: _Connection, version: bytes, status: int, fields):
        """(kept headers, body iterable); small bodies are read whole and the connection kept at once."""
        length = coding = connection_field = None
        for key, value in fields:
            lower = key.lower()
            if lower == "content-length":
                length = value
            elif lower == "transfer-encoding":
                coding = value.lower()
            elif lower == "connection":
                connection_field = value if connection_field is None else f"{connection_field}, {value}"
        headers = kept_headers(fields, connection_field)
        tokens = connection_tokens(connection_field)
        reusable = "close" not in tokens and (version == b"HTTP/1.1" or "keep-alive" in tokens)
        reader = connection.reader
        if method == "HEAD" or status in (204, 304):
            chunks = []
        elif coding is not None:
            # Chunked when it is the last coding; any other framing ends with the connection.
            chunked = coding.rpartition(",")[2].strip() == "chunked"
            reusable = reusable and chunked
            chunks = _chunks(reader) if chunked else _until_close(reader)
        elif length is not None:
            try:
                size = int(length)
                if size < 0:
                    raise ValueError(length)
                if size > BUFFER_LIMIT:
                    return headers, self._stream(name, connection, reusable, _sized(reader, size))
                data = reader.read(size)
            except (OSError, ValueError) as exc:
                connection.close()
                log.warning("%s: %r", name, exc)
                raise upstream_timeout(name) from None
            if len(data) != size:
                connection.close()
                raise upstream_timeout(name)
            chunks = [data] if data else []
        else:
            reusable, chunks = False, _until_close(reader)
        if not isinstance(chunks, list):
            return headers, self._stream(name, connection, reusable, chunks)
        if reusable:
            self._release(name, connection)
        else:
            connection.close()
        return headers, chunks

    def _stream(self, name: str, connection: _Connection, reusable: bool, chunks):
        completed = False
        try:
            yield from chunks
            completed = True
        except (OSError, EOFError, BadResponse, ValueError) as exc:
            # The status line has gone out already: all we can do is cut the response short.
            log.warning("%s broke off a streamed response: %r", name, exc)
        finally:
            if completed and reusable:
                self._release(name, connection)
            else:
                connection.close()


def _request_bytes(method: str, target: str, host: str, headers: dict, body: bytes | None) -> bytes:
    lines = [f"{method} {target} HTTP/1.1", f"Host: {host}"]
    if body is None and method in _METHODS_WITH_BODY:
        lines.append("Content-Length: 0")  # where urllib3 puts it on the Flask path
    lines += [f"{key}: {value}" for key, value in headers.items()]
    head = "\r\n".join(lines)
    if head.count("\n") != len(lines) - 1 or head.count("\r") != len(lines) - 1:
        raise validation_error("A request header holds a line break")
    return head.encode("latin-1") + b"\r\n\r\n" + (body or b"")


def _read_line(reader) -> bytes:
    line = reader.readline(_MAX_LINE)
    if not line:
        raise EOFError("the service closed the connection")
    if not line.endswith(b"\n"):
        raise BadResponse("a line too long")
    return line


def _read_head(reader) -> tuple[bytes, int, list[tuple[str, str]]]:
    """(HTTP version, status, header fields) of the service's final answer; interim 1xx answers are skipped."""
    while True:
        line = _read_line(reader)
        version, _, rest = line.partition(b" ")
        if not version.startswith(b"HTTP/1."):
            raise BadResponse(line[:80])
        status = int(rest[:3])
        if status < 100:
            raise BadResponse(line[:80])
        fields = _read_fields(reader)
        if status >= 200:
            return version, status, fields


def _read_fields(reader) -> list[tuple[str, str]]:
    fields = []
    for _ in range(_MAX_FIELDS):
        line = _read_line(reader)
        if line in (b"\r\n", b"\n"):
            return fields
        text = line.decode("latin-1")
        if text[0] in " \t" and fields:  # an obsolete folded line continues the field before it
            name, value = fields[-1]
            fields[-1] = (name, f"{value} {text.strip()}")
            continue
        name, colon, value = text.partition(":")
        if not colon:
            raise BadResponse(line[:80])
        fields.append((name, value.strip()))
    raise BadResponse("too many header fields")


def _sized(reader, remaining: int):
    while remaining > 0:
        chunk = reader.read1(min(CHUNK, remaining))
        if not chunk:
            raise EOFError("the body ended before its Content-Length")
        remaining -= len(chunk)
        yield chunk


def _until_close(reader):
    while chunk := reader.read1(CHUNK):
        yield chunk


def _chunks(reader):
    """A chunked body, decoded; trailer fields are dropped."""
    while True:
        size = int(_read_line(reader).split(b";", 1)[0], 16)
        if size < 0:
            raise BadResponse("a negative chunk size")
        if size == 0:
            break
        yield from _sized(reader, size)
        if _read_line(reader) not in (b"\r\n", b"\n"):
            raise BadResponse("a chunk longer than its size")
    _read_fields(reader)
