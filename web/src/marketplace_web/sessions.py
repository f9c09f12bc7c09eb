"""Server-side sessions: the cookie carries only a random id; the API key stays on the server.

Stores: Redis (several portal hosts), a directory of files (one host, any number of gunicorn
workers), memory (tests). Each keeps a session for `ttl` seconds after its last change.
"""

import hashlib
import json
import os
import secrets
import tempfile
import threading
import time
from pathlib import Path


def new_session_id() -> str:
    return secrets.token_urlsafe(32)


def _key(session_id: str) -> str:
    # Stores see a digest, so a leaked store listing does not hand out cookies.
    return hashlib.sha256(session_id.encode()).hexdigest()


class MemoryStore:
    def __init__(self, ttl: int):
        self.ttl = ttl
        self._data: dict[str, tuple[float, dict]] = {}
        self._lock = threading.Lock()

    def load(self, session_id: str) -> dict | None:
        with self._lock:
            item = self._data.get(_key(session_id))
        if item is None or item[0] < time.time():
            return None
        return json.loads(json.dumps(item[1]))

    def save(self, session_id: str, data: dict) -> None:
        with self._lock:
            self._data[_key(session_id)] = (time.time() + self.ttl, json.loads(json.dumps(data)))

    def delete(self, session_id: str) -> None:
        with self._lock:
            self._data.pop(_key(session_id), None)


class FileStore:
    def __init__(self, directory: str, ttl: int):
        self.ttl = ttl
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)

    def _path(self, session_id: str) -> Path:
        return self.directory / _key(session_id)

    def load(self, session_id: str) -> dict | None:
        path = self._path(session_id)
        try:
            if path.stat().st_mtime + self.ttl < time.time():
                path.unlink(missing_ok=True)
                return None
            return json.loads(path.read_text())
        except (OSError, ValueError):
            return None

    def save(self, session_id: str, data: dict) -> None:
        fd, tmp = tempfile.mkstemp(dir=self.directory)
        with os.fdopen(fd, "w") as file:
            json.dump(data, file)
        os.replace(tmp, self._path(session_id))

    def delete(self, session_id: str) -> None:
        self._path(session_id).unlink(missing_ok=True)


class RedisStore:
    def __init__(self, url: str, ttl: int, prefix: str = "web:session:"):
        import redis

        self.client = redis.Redis.from_url(url)
        self.ttl = ttl
        self.prefix = prefix

    def load(self, session_id: str) -> dict | None:
        raw = self.client.get(self.prefix + _key(session_id))
        return json.loads(raw) if raw else None

    def save(self, session_id: str, data: dict) -> None:
        self.client.set(self.prefix + _key(session_id), json.dumps(data), ex=self.ttl)

    def delete(self, session_id: str) -> None:
        self.client.delete(self.prefix + _key(session_id))


def store_from(config):
    if config.SESSION_STORE is not None:
        return config.SESSION_STORE
    if config.REDIS_URL:
        return RedisStore(config.REDIS_URL, config.SESSION_TTL_SECONDS)
    return FileStore(config.SESSION_DIR, config.SESSION_TTL_SECONDS)


class Session:
    """The visitor's session for one request: loaded lazily, saved at the end when it changed."""

    def __init__(self, store, session_id: str | None):
        self.store = store
        self.id = session_id
        self._data: dict | None = None
        self.changed = False
        self.ended = False

    @property
    def data(self) -> dict:
        if self._data is None:
            loaded = self.store.load(self.id) if self.id else None
            if loaded is None:
                self.id = None
            self._data = loaded or {}
        return self._data

    def get(self, key, default=None):
        return self.data.get(key, default)

    def set(self, key, value) -> None:
        self.data[key] = value
        self.changed = True

    def pop(self, key, default=None):
        value = self.data.pop(key, default)
        self.changed = True
        return value

    def ensure(self) -> None:
        """Give the visitor a session (and so a cookie) if they have none yet."""
        if self.data is not None and self.id is None:
            self.id = new_session_id()
            self.changed = True

    def rotate(self) -> None:
        """A new id for the same data (at sign-in: an id seen before signing in is worth nothing after)."""
        data = self.data
        if self.id:
            self.store.delete(self.id)
        self.id = new_session_id()
        self._data = data
        self.changed = True

    def end(self) -> None:
        if self.id:
            self.store.delete(self.id)
        self.id, self._data, self.ended, self.changed = None, {}, True, False

    def commit(self) -> None:
        if self.changed and self.id:
            self.store.save(self.id, self._data or {})
            self.changed = False
