"""Configuration read from the environment: one class per service extends BaseConfig."""

import os
from pathlib import Path

# The repository root, so that the default SQLite files land in one `var/` folder.
REPO_ROOT = Path(__file__).resolve().parents[3]


def env(name: str, default: str | None = None) -> str | None:
    """Return the environment variable, or the default when it is unset or empty."""
    value = os.environ.get(name)
    return value if value not in (None, "") else default


def env_int(name: str, default: int) -> int:
    return int(env(name, str(default)))


def env_float(name: str, default: float) -> float:
    return float(env(name, str(default)))


def env_bool(name: str, default: bool) -> bool:
    return env(name, "true" if default else "false").lower() in ("1", "true", "yes", "on")


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in env(name, default).split(",") if item.strip()]


def default_sqlite_url(service: str) -> str:
    var_dir = Path(env("VAR_DIR", str(REPO_ROOT / "var")))
    var_dir.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{var_dir / service}.db"


class BaseConfig:
    """Settings every service reads; a service subclass adds its own."""

    SERVICE_NAME = "service"

    def __init__(self, **overrides):
        name = self.SERVICE_NAME
        self.DATABASE_URL = env("DATABASE_URL") or default_sqlite_url(name)
        self.AMQP_URL = env("AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/")
        # A prefix on the exchange and every queue keeps parallel test runs and `make run` apart.
        self.EVENT_PREFIX = env("EVENT_PREFIX", "")
        self.EVENT_EXCHANGE = self.EVENT_PREFIX + env("EVENT_EXCHANGE", "marketplace.events")
        self.INTERNAL_TOKEN_SECRET = env("INTERNAL_TOKEN_SECRET", "dev-internal-secret-change-me-in-production")
        self.MAX_CONTENT_LENGTH = env_int("MAX_CONTENT_LENGTH", 50 * 1024 * 1024)
        self.LOG_LEVEL = env("LOG_LEVEL", "INFO")
        self.CONSUMER_PREFETCH = env_int("CONSUMER_PREFETCH", 20)
        self.CONSUMER_MAX_ATTEMPTS = env_int("CONSUMER_MAX_ATTEMPTS", 5)
        self.CONSUMER_RETRY_DELAY_MS = env_int("CONSUMER_RETRY_DELAY_MS", 2000)
        self.OUTBOX_POLL_SECONDS = env_float("OUTBOX_POLL_SECONDS", 0.05)
        # On PostgreSQL the relay is woken by NOTIFY and reads its outbox unprompted only this often.
        self.OUTBOX_IDLE_POLL_SECONDS = env_float("OUTBOX_IDLE_POLL_SECONDS", 2.0)
        for key, value in overrides.items():
            setattr(self, key, value)
        if "EVENT_PREFIX" in overrides and "EVENT_EXCHANGE" not in overrides:
            self.EVENT_EXCHANGE = self.EVENT_PREFIX + env("EVENT_EXCHANGE", "marketplace.events")

    @property
    def queue_name(self) -> str:
        return f"{self.EVENT_PREFIX}{self.SERVICE_NAME}"
