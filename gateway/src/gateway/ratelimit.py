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
from functools import lru_cache

# Imported here, not lazily by `limits` in a request thread: two threads importing it at once
# would let one see a half-initialised module (limits then reports "redis version 0.0.0").
import redis  # noqa: F401
from limits import RateLimitItem, RateLimitItemPerHour, parse
from limits.storage import RedisStorage, Storage

from marketplace_shared.clock import iso_seconds

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
            connection.execute("CREATE TABLE IF NOT EXISTS auth_generation "
                               "(key TEXT PRIMARY KEY, generation INTEGER NOT NULL)")

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

    def incr_with_generation(self, key: str, expiry: int, generation_key: str) -> tuple[int, float, int]:
        """incr_with_expiry() plus the credentials generation, read in the same statement."""
        now = time.time()
        count, expires_at, generation = self._connection().execute(
            "INSERT INTO rate_counters (key, count, expires_at) VALUES (?1, 1, ?2) "
            "ON CONFLICT (key) DO UPDATE SET "
            "count = CASE WHEN expires_at <= ?3 THEN 1 ELSE count + 1 END, "
            "expires_at = CASE WHEN expires_at <= ?3 THEN excluded.expires_at ELSE expires_at END "
            "RETURNING count, expires_at, (SELECT generation FROM auth_generation WHERE key = ?4)",
            (key, now + expiry, now, generation_key)).fetchone()
        return count, expires_at, generation or 0

    def generation(self, generation_key: str) -> int:
        row = self._connection().execute("SELECT generation FROM auth_generation WHERE key = ?",
                                         (generation_key,)).fetchone()
        return row[0] if row else 0

    def bump_generation(self, generation_key: str) -> int:
        return self._connection().execute(
            "INSERT INTO auth_generation (key, generation) VALUES (?, 1) "
            "ON CONFLICT (key) DO UPDATE SET generation = generation + 1 RETURNING generation",
            (generation_key,)).fetchone()[0]

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

    SCRIPT_HIT_GENERATION = """
local current = redis.call("incr", KEYS[1])
if tonumber(current) == 1 then
    redis.call("expire", KEYS[1], ARGV[1])
end
return {current, redis.call("pttl", KEYS[1]), redis.call("get", KEYS[2])}
"""
    def initialize_storage(self, uri: str) -> None:
        super().initialize_storage(uri)
        self.lua_hit = self.get_connection().register_script(self.SCRIPT_HIT)
        self.lua_hit_generation = self.get_connection().register_script(self.SCRIPT_HIT_GENERATION)

    def incr_with_generation(self, key: str, expiry: int, generation_key: str) -> tuple[int, float, int]:
        """incr_with_expiry() plus the credentials generation, in the same round trip."""
        count, ttl_ms, generation = self.lua_hit_generation(
            [self.prefixed_key(key), self.prefixed_key(generation_key)], [expiry])
        return (int(count), time.time() + (int(ttl_ms) / 1000 if int(ttl_ms) > 0 else expiry),
                int(generation or 0))

    def generation(self, generation_key: str) -> int:
        return int(self.get_connection().get(self.prefixed_key(generation_key)) or 0)

    def bump_generation(self, generation_key: str) -> int:
        return int(self.get_connection().incr(self.prefixed_key(generation_key)))

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
    # The credentials generation read with the hit (signed-in callers), None when not read.
    generation: int | None = None

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
    return _iso_second(math.ceil(epoch))


@lru_cache(maxsize=4096)
def _iso_second(second: int) -> str:
    # A caller's window ends at the same second for every hit in it: formatting it once saves most of the
    # time the rate-limit headers take.
    return iso_seconds(second)


class RateLimiter:
    """Chooses the limit for a caller and counts the hit."""

    def __init__(self, config):
        self.config = config
        self.anonymous = parse(config.RATE_LIMIT_ANONYMOUS)
        self.authenticated = parse(config.RATE_LIMIT_AUTHENTICATED)
        self.failed_auth = parse(config.RATE_LIMIT_FAILED_AUTH or config.RATE_LIMIT_ANONYMOUS)
        self.portal_visitor = parse(config.RATE_LIMIT_PORTAL_VISITOR)
        self.prefix = config.RATE_LIMIT_KEY_PREFIX
        # Bumped whenever a credential or an account changes: every worker and replica reads it with each
        # signed-in hit and looks the credential up again when it moved (auth.py).
        self.generation_key = f"{self.prefix}/auth-generation"
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

    def hit(self, principal, client_address: str, failed_credentials: bool = False,
            via_portal: bool = False) -> Decision:
        """Count a request: an address's failed attempts, an anonymous caller's (a portal visitor's when the
        web portal made the call for them), or an account's (which also reads the credentials generation in
        the same round trip)."""
        generation = None
        if failed_credentials:
            policy, item, who = "failed_auth", self.failed_auth, f"failed:{client_address}"
        elif principal is None and via_portal:
            policy, item, who = "portal_visitor", self.portal_visitor, f"visitor:{client_address}"
        elif principal is None:
            policy, item, who = "anonymous", self.anonymous, f"address:{client_address}"
        else:
            policy, item, who = self.limit_for(principal)
        window = item.get_expiry()
        try:
            if principal is None or failed_credentials:
                count, reset = self.storage.incr_with_expiry(item.key_for(self.prefix, who), window)
            else:
                count, reset, generation = self.storage.incr_with_generation(item.key_for(self.prefix, who), window,
                                                                             self.generation_key)
        except Exception:  # noqa: BLE001 - an unreachable counter store must not take the API down
            self._storage_failed()
            now = time.time()
            return Decision(policy, item.amount, item.amount, now + window, window, True)
        return Decision(policy, item.amount, max(0, item.amount - count), reset, window, count <= item.amount,
                        generation)

    def generation(self) -> int | None:
        """The credentials generation alone (rate limiting off), None when the store does not answer."""
        try:
            return self.storage.generation(self.generation_key)
        except Exception:  # noqa: BLE001 - the in-process cache lifetime still bounds a stale credential
            self._storage_failed()
            return None

    def bump_generation(self) -> None:
        """A credential or an account changed: every process looks credentials up again."""
        try:
            self.storage.bump_generation(self.generation_key)
        except Exception:  # noqa: BLE001 - the change is committed; caches still expire on their own
            log.exception("could not bump the credentials generation; other workers notice within "
                          "AUTH_CACHE_SECONDS")

    def _storage_failed(self) -> None:
        now = time.time()
        if now - self._last_error_log > 10:
            self._last_error_log = now
            log.exception("rate-limit storage failed; letting requests through")
