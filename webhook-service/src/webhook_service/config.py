"""Webhooks settings, read from the environment."""

from marketplace_shared.config import BaseConfig, env, env_bool, env_float, env_int, env_list

from .ssrf import NetworkList


def parse_schedule(text: str) -> list[float]:
    """"5,300,1800" -> [5.0, 300.0, 1800.0]: the delays before each retry, in seconds."""
    return [float(item.strip()) for item in text.split(",") if item.strip()]


class Config(BaseConfig):
    SERVICE_NAME = "webhook-service"

    def __init__(self, **overrides):
        # Subclass settings first, so that overrides (tests) win over the environment.
        self.WEBHOOK_TIMEOUT_SECONDS = env_float("WEBHOOK_TIMEOUT_SECONDS", 10.0)
        self.WEBHOOK_RETRY_SCHEDULE = parse_schedule(env("WEBHOOK_RETRY_SCHEDULE", "5,300,1800,7200,18000,36000,36000"))
        self.WEBHOOK_RETRY_JITTER = env_float("WEBHOOK_RETRY_JITTER", 0.2)
        self.WEBHOOK_RETRY_AFTER_MAX_SECONDS = env_float("WEBHOOK_RETRY_AFTER_MAX_SECONDS", 86400.0)
        self.WEBHOOK_DISABLE_AFTER_SECONDS = env_float("WEBHOOK_DISABLE_AFTER_SECONDS", 5 * 86400.0)
        self.WEBHOOK_POLL_SECONDS = env_float("WEBHOOK_POLL_SECONDS", 0.5)
        self.WEBHOOK_ALLOWED_NETWORKS = env_list("WEBHOOK_ALLOWED_NETWORKS", "")
        # true: WEBHOOK_ALLOWED_NETWORKS are the only addresses a webhook may reach (registration and every send).
        self.WEBHOOK_ALLOWED_NETWORKS_ONLY = env_bool("WEBHOOK_ALLOWED_NETWORKS_ONLY", False)
        self.WEBHOOK_MAX_CONCURRENCY = env_int("WEBHOOK_MAX_CONCURRENCY", 64)
        self.WEBHOOK_ENDPOINT_CONCURRENCY = env_int("WEBHOOK_ENDPOINT_CONCURRENCY", 8)
        self.WEBHOOK_LEASE_SECONDS = env_float("WEBHOOK_LEASE_SECONDS", self.WEBHOOK_TIMEOUT_SECONDS + 5)
        self.WEBHOOK_SECRET_GRACE_SECONDS = env_int("WEBHOOK_SECRET_GRACE_SECONDS", 86400)
        self.WEBHOOK_RESPONSE_BODY_LIMIT = env_int("WEBHOOK_RESPONSE_BODY_LIMIT", 1024)
        self.WEBHOOK_RETENTION_DAYS = env_int("WEBHOOK_RETENTION_DAYS", 30)
        super().__init__(**overrides)

    # A property, so that the list handed to the URL checks always carries the current `only` setting,
    # however either setting was changed (environment, overrides, a test assigning one).
    @property
    def WEBHOOK_ALLOWED_NETWORKS(self) -> NetworkList:  # noqa: N802 - a setting's name
        return NetworkList(self._allowed_networks, only=self.WEBHOOK_ALLOWED_NETWORKS_ONLY)

    @WEBHOOK_ALLOWED_NETWORKS.setter
    def WEBHOOK_ALLOWED_NETWORKS(self, value) -> None:  # noqa: N802
        self._allowed_networks = list(value)
