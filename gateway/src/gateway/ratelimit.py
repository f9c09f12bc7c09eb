"""Rate limits with the `limits` library, counted in Redis or, without it, in a SQLite file per host.

Both storages answer a hit with the new count and the window's end in one round trip, so a request
costs one Redis call or one SQLite statement. Windows are fixed and start at a caller's first hit.
"""

import logging
import math
import os
import sqlite3
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime

# Imported here, not lazily by `limits` in a request thread: two threads importing it at once
# would let one see a half-initialised module (limits then reports "redis version 0.0.0").
import redis  # noqa: F401
from limits import RateLimitItem, RateLimitItemPerHour, parse
from limits.storage import RedisStorage, Storage

log = logging.getLogger(__name__)


class SQLiteStorage(Storage):
    """A `limits` storage in one SQLite file: exact across the processes of a host (one atomic UPSERT per hit)."""

    STORAGE_SCHEME = ["gateway-sqlite"]
    _CLEANUP_SECONDS = 60.0

    def __init__(self, uri: str, wrap_exceptions: bool = False, **options):
        super().__init__(uri, wrap_exceptions=wrap_exceptions, **options)
        self.path = uri.split("://", 1)[1]
        self._local = threading.local()
        self._last_cleanup = 0.0
        with self._connection() as connection:
            connection.execute("CREATE TABLE IF NOT EXISTS rate_counters "
                               "(key TEXT PRIMARY KEY, count INTEGER NOT NULL, expires_at REAL NOT NULL)")

    @property
    def base_exceptions(self):
        return sqlite3.Error

    def _connection(self) -> sqlite3.Connection:
        connection = getattr(self._local, "connection", None)
        if connection is None or self._local.pid != os.getpid():
            connection = sqlite3.connect(self.path, timeout=30, isolation_level=None, check_same_thread=False)
            connection.execute("PRAGMA journal_mode=WAL")
            # Counters need no durability across a power cut; they do need atomicity, which WAL keeps.
            connection.execute("PRAGMA synchronous=OFF")
            self._local.connection, self._local.pid = connection, os.getpid()
        return connection

    def incr_with_expiry(self, key: str, expiry: int, amount: int = 1) -> tuple[int, float]:
        """Add `amount` to the key's counter (starting a new window if the last one ended): (count, window end)."""
        now = time.time()
        connection = self._connection()
        count, expires_at = connection.execute(
            "INSERT INTO rate_counters (key, count, expires_at) VALUES (?1, ?2, ?3) "
            "ON CONFLICT (key) DO UPDATE SET "
            "count = CASE WHEN expires_at <= ?4 THEN excluded.count ELSE count + excluded.count END, "
            "expires_at = CASE WHEN expires_at <= ?4 THEN excluded.expires_at ELSE expires_at END "
            "RETURNING count, expires_at", (key, amount, now + expiry, now)).fetchone()
        if now - self._last_cleanup > self._CLEANUP_SECONDS:
            self._last_cleanup = now
            connection.execute("DELETE FROM rate_counters WHERE expires_at <= ?", (now,))
        return count, expires_at

    def incr(self, key: str, expiry: int, amount: int = 1) -> int:
        return self.incr_with_expiry(key, expiry, amount)[0]

    def get(self, key: str) -> int:
        row = self._connection().execute("SELECT count FROM rate_counters WHERE key = ? AND expires_at > ?",
                                         (key, time.time())).fetchone()
        return row[0] if row else 0

    def get_expiry(self, key: str) -> float:
        now = time.time()
        row = self._connection().execute("SELECT expires_at FROM rate_counters WHERE key = ? AND expires_at > ?",
                                         (key, now)).fetchone()
        return row[0] if row else now

    def check(self) -> bool:
        try:
            self._connection().execute("SELECT 1").fetchone()
            return True
        except sqlite3.Error:
            return False

    def reset(self) -> int | None:
        return self._connection().execute("DELETE FROM rate_counters").rowcount

    def clear(self, key: str) -> None:
        self._connection().execute("DELETE FROM rate_counters WHERE key = ?", (key,))


class RedisCounterStorage(RedisStorage):
    """limits' Redis storage plus a hit that returns the count and the time left in one call."""

    SCRIPT_HIT = """
local current = redis.call("incrby", KEYS[1], ARGV[2])
if tonumber(current) == tonumber(ARGV[2]) then
    redis.call("expire", KEYS[1], ARGV[1])
end
return {current, redis.call("pttl", KEYS[1])}
"""

    def initialize_storage(self, uri: str) -> None:
        super().initialize_storage(uri)
        self.lua_hit = self.get_connection().register_script(self.SCRIPT_HIT)

    def incr_with_expiry(self, key: str, expiry: int, amount: int = 1) -> tuple[int, float]:
        count, ttl_ms = self.lua_hit([self.prefixed_key(key)], [expiry, amount])
        return int(count), time.time() + (int(ttl_ms) / 1000 if int(ttl_ms) > 0 else expiry)


@dataclass(frozen=True)
class Decision:
    policy: str
    limit: int
    remaining: int
    reset: float  # epoch seconds when the window ends
    window: int  # seconds
    allowed: bool

    def headers(self) -> dict[str, str]:
        seconds_left = max(0, math.ceil(self.reset - time.time()))
        headers = {
            "X-RateLimit-Limit": str(self.limit),
            "X-RateLimit-Remaining": str(self.remaining),
            "X-RateLimit-Reset": iso_utc(self.reset),
            # draft-ietf-httpapi-ratelimit-headers: the policy and what is left of it.
            "RateLimit-Policy": f'"{self.policy}";q={self.limit};w={self.window}',
            "RateLimit": f'"{self.policy}";r={self.remaining};t={seconds_left}',
        }
        if not self.allowed:
            headers["Retry-After"] = str(max(1, seconds_left))
        return headers


def iso_utc(epoch: float) -> str:
    return datetime.fromtimestamp(math.ceil(epoch), UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class RateLimiter:
    """Chooses the limit for a caller and counts the hit."""

    def __init__(self, config):
        self.config = config
        self.anonymous = parse(config.RATE_LIMIT_ANONYMOUS)
        self.authenticated = parse(config.RATE_LIMIT_AUTHENTICATED)
        self.prefix = config.RATE_LIMIT_KEY_PREFIX
        self._enterprise: dict[int, RateLimitItem] = {}
        self._storage = None
        self._storage_pid = None
        self._storage_lock = threading.Lock()
        self._last_error_log = 0.0

    @property
    def storage(self):
        if self._storage is not None and self._storage_pid == os.getpid():
            return self._storage
        with self._storage_lock:
            if self._storage is not None and self._storage_pid == os.getpid():
                return self._storage
            if self.config.REDIS_URL:
                self._storage = RedisCounterStorage(self.config.REDIS_URL, socket_timeout=1,
                                                    socket_connect_timeout=1)
            else:
                os.makedirs(os.path.dirname(os.path.abspath(self.config.RATE_LIMIT_SQLITE_PATH)), exist_ok=True)
                self._storage = SQLiteStorage(f"gateway-sqlite://{self.config.RATE_LIMIT_SQLITE_PATH}")
            self._storage_pid = os.getpid()
            return self._storage

    def limit_for(self, principal) -> tuple[str, RateLimitItem, str]:
        """(policy name, limit, counter identity) for a signed-in caller."""
        if principal.tier == "enterprise" and principal.rate_limit_per_hour:
            amount = principal.rate_limit_per_hour
            item = self._enterprise.get(amount)
            if item is None:
                item = self._enterprise.setdefault(amount, RateLimitItemPerHour(amount))
            return "enterprise", item, f"account:{principal.account_id}"
        return "authenticated", self.authenticated, f"account:{principal.account_id}"

    def hit(self, principal, client_address: str) -> Decision:
        if principal is None:
            policy, item, who = "anonymous", self.anonymous, f"address:{client_address}"
        else:
            policy, item, who = self.limit_for(principal)
        window = item.get_expiry()
        try:
            count, reset = self.storage.incr_with_expiry(item.key_for(self.prefix, who), window)
        except Exception:  # noqa: BLE001 - an unreachable counter store must not take the API down
            now = time.time()
            if now - self._last_error_log > 10:
                self._last_error_log = now
                log.exception("rate-limit storage failed; letting requests through")
            return Decision(policy, item.amount, item.amount, now + window, window, True)
        return Decision(policy, item.amount, max(0, item.amount - count), reset, window, count <= item.amount)
