"""Sending one webhook request: checked address, no redirects, a time limit, a short answer kept.

`HttpSender` is the real one (urllib3, a keep-alive pool per checked address); `FakeSender`
answers from a script in tests.
"""

import email.utils
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import UTC, datetime

import urllib3
from urllib3.exceptions import HTTPError, NewConnectionError
from urllib3.exceptions import TimeoutError as UrllibTimeoutError

from .ssrf import Resolver, Target, UnsafeUrl, check_url, parse_networks

READ_LIMIT = 64 * 1024
# How long a checked URL (its resolved, allowed address) is reused: we still connect only to that address.
CHECK_CACHE_SECONDS = 5.0


@dataclass
class SendResult:
    status_code: int | None = None
    body: str | None = None
    error: str | None = None
    retry_after: float | None = None
    duration_ms: int = 0

    @property
    def success(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or an HTTP date), or None."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


class HttpSender:
    """POSTs to checked addresses only; redirects are answers, not instructions."""

    def __init__(self, timeout: float, allowed_networks: list[str], resolver: Resolver | None = None,
                 body_limit: int = 1024, pool_size: int = 8, max_pools: int = 512):
        self.timeout = timeout
        self.allowed = parse_networks(allowed_networks)
        self.resolver = resolver
        self.body_limit = body_limit
        self.pool_size = pool_size
        self.max_pools = max_pools
        self._pools: OrderedDict[tuple, urllib3.HTTPConnectionPool] = OrderedDict()
        self._checked: dict[str, tuple[Target, float]] = {}
        self._lock = threading.Lock()

    def _check(self, url: str) -> Target:
        now = time.monotonic()
        cached = self._checked.get(url)
        if cached is not None and cached[1] > now:
            return cached[0]
        target = check_url(url, self.allowed, self.resolver)
        if len(self._checked) > 4096:
            self._checked.clear()
        self._checked[url] = (target, now + CHECK_CACHE_SECONDS)
        return target

    def _pool(self, target: Target) -> urllib3.HTTPConnectionPool:
        key = (target.scheme, target.address, target.port, target.host)
        with self._lock:
            pool = self._pools.get(key)
            if pool is not None:
                self._pools.move_to_end(key)
                return pool
            common = {"maxsize": self.pool_size, "block": False, "retries": False,
                      "timeout": urllib3.Timeout(total=self.timeout)}
            if target.scheme == "https":
                pool = urllib3.HTTPSConnectionPool(target.address, target.port, server_hostname=target.host,
                                                   assert_hostname=target.host, cert_reqs="CERT_REQUIRED", **common)
            else:
                pool = urllib3.HTTPConnectionPool(target.address, target.port, **common)
            self._pools[key] = pool
            while len(self._pools) > self.max_pools:
                _, old = self._pools.popitem(last=False)
                old.close()
            return pool

    def send(self, url: str, headers: dict, body: bytes) -> SendResult:
        started = time.perf_counter()
        result = SendResult()
        try:
            target = self._check(url)
            response = self._pool(target).urlopen(
                "POST", target.path, body=body, headers={"Host": target.host_header, **headers},
                redirect=False, retries=False, assert_same_host=False, preload_content=False,
                release_conn=False)
            try:
                result.status_code = response.status
                result.retry_after = parse_retry_after(response.headers.get("Retry-After"))
                raw = response.read(READ_LIMIT, decode_content=True)
                result.body = raw[: self.body_limit * 4].decode("utf-8", "replace")[: self.body_limit]
                if response.length_remaining not in (0, None) or not _finished(response):
                    response.close()  # too long to drain: drop this connection
            finally:
                response.release_conn()
        except UnsafeUrl as exc:
            result.error = f"refused: {exc}"
        except NewConnectionError as exc:  # a subclass of the timeout error, but not a timeout
            result.error = f"could not connect: {exc.__class__.__name__}: {exc}"[:500]
        except UrllibTimeoutError:
            result.error = f"timed out after {self.timeout:g}s"
        except (HTTPError, OSError) as exc:
            result.error = f"{exc.__class__.__name__}: {exc}"[:500]
        result.duration_ms = round((time.perf_counter() - started) * 1000)
        return result

    def close(self) -> None:
        with self._lock:
            for pool in self._pools.values():
                pool.close()
            self._pools.clear()


def _finished(response) -> bool:
    try:
        return response.read(1) == b""
    except (HTTPError, OSError):
        return False


@dataclass
class FakeSender:
    """Answers with scripted results in order (the last one repeats) and records every request."""

    results: list[SendResult] = field(default_factory=lambda: [SendResult(status_code=200, body="ok")])
    requests: list[tuple[str, dict, bytes]] = field(default_factory=list)

    def send(self, url: str, headers: dict, body: bytes) -> SendResult:
        self.requests.append((url, headers, body))
        index = min(len(self.requests) - 1, len(self.results) - 1)
        return self.results[index]

    def close(self) -> None:
        pass
