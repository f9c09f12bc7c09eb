"""Gateway settings, read from the environment."""

from pathlib import Path

from marketplace_shared.config import REPO_ROOT, BaseConfig, env, env_bool, env_float, env_int, env_list

WEB = "web"


def _per_hour(value: str) -> str:
    """'100' means 100 per hour; anything else is a `limits` string such as '100/hour' or '10/minute'."""
    value = value.strip()
    return f"{value}/hour" if value.isdigit() else value


class Config(BaseConfig):
    SERVICE_NAME = "gateway"

    def __init__(self, **overrides):
        self.CATALOG_URL = env("CATALOG_URL", "http://127.0.0.1:8081")
        self.INSTALL_URL = env("INSTALL_URL", "http://127.0.0.1:8082")
        self.REVIEW_URL = env("REVIEW_URL", "http://127.0.0.1:8083")
        self.WEBHOOK_URL = env("WEBHOOK_URL", "http://127.0.0.1:8084")
        # The web portal: when set, `/`, its pages, `/static/` and the docs page go there (not rate-limited).
        self.WEB_URL = env("WEB_URL")
        self.UPSTREAM_CONNECT_TIMEOUT = env_float("UPSTREAM_CONNECT_TIMEOUT", 2.0)
        self.UPSTREAM_READ_TIMEOUT = env_float("UPSTREAM_READ_TIMEOUT", 30.0)
        # Keep-alive connections kept per upstream and per worker process.
        self.UPSTREAM_POOL_SIZE = env_int("UPSTREAM_POOL_SIZE", 16)
        self.VAR_DIR = env("VAR_DIR", str(REPO_ROOT / "var"))
        self.REDIS_URL = env("REDIS_URL")
        self.RATE_LIMIT_ENABLED = env_bool("RATE_LIMIT_ENABLED", True)
        self.RATE_LIMIT_ANONYMOUS = _per_hour(env("RATE_LIMIT_ANONYMOUS", "100/hour"))
        self.RATE_LIMIT_AUTHENTICATED = _per_hour(env("RATE_LIMIT_AUTHENTICATED", "1000/hour"))
        # Requests with a credential that is not valid, per client address; unset: as many as RATE_LIMIT_ANONYMOUS.
        failed = env("RATE_LIMIT_FAILED_AUTH")
        self.RATE_LIMIT_FAILED_AUTH = _per_hour(failed) if failed else None
        # The secret the web portal sends on its API calls (X-Marketplace-Portal-Token). A call carrying it is
        # the portal's: its X-Forwarded-For names the visitor, and an anonymous visitor's calls count in a
        # budget per visitor address, since a page costs a few calls and browsing a few dozen pages must fit.
        self.PORTAL_TOKEN = env("PORTAL_TOKEN")
        self.RATE_LIMIT_PORTAL_VISITOR = _per_hour(env("RATE_LIMIT_PORTAL_VISITOR", "1000/hour"))
        # Without Redis, counters live in this SQLite file, shared by the workers of one host.
        self.RATE_LIMIT_SQLITE_PATH = env("RATE_LIMIT_SQLITE_PATH")
        self.RATE_LIMIT_KEY_PREFIX = env("RATE_LIMIT_KEY_PREFIX", "gateway")
        self.AUTH_CACHE_SECONDS = env_float("AUTH_CACHE_SECONDS", 5.0)
        self.KEY_LAST_USED_INTERVAL = env_float("KEY_LAST_USED_INTERVAL", 60.0)
        self.INTERNAL_TOKEN_TTL = env_int("INTERNAL_TOKEN_TTL", 60)
        self.MARKETPLACE_ADMIN_API_KEY = env("MARKETPLACE_ADMIN_API_KEY")
        self.ADMIN_EMAIL = env("ADMIN_EMAIL", "admin@marketplace.local")
        self.TRUSTED_PROXIES = env_list("TRUSTED_PROXIES", "")
        self.CORS_ORIGINS = env_list("CORS_ORIGINS", "*")
        # Optional external identity provider: RS256/ES256 via JWKS, or HS256 with a shared secret.
        self.JWT_ISSUER = env("JWT_ISSUER") or env("OIDC_ISSUER")
        self.JWT_JWKS_URL = env("JWT_JWKS_URL") or env("OIDC_JWKS_URL")
        self.JWT_AUDIENCE = env("JWT_AUDIENCE") or env("OIDC_AUDIENCE")
        self.JWT_SHARED_SECRET = env("JWT_SHARED_SECRET")
        self.OPENAPI_CACHE_SECONDS = env_float("OPENAPI_CACHE_SECONDS", 30.0)
        super().__init__(**overrides)
        if self.RATE_LIMIT_SQLITE_PATH is None:
            self.RATE_LIMIT_SQLITE_PATH = str(Path(self.VAR_DIR) / "gateway-ratelimit.db")

    @property
    def upstreams(self) -> dict[str, str]:
        upstreams = {"catalog": self.CATALOG_URL, "install": self.INSTALL_URL,
                     "review": self.REVIEW_URL, "webhook": self.WEBHOOK_URL}
        if self.WEB_URL:
            upstreams[WEB] = self.WEB_URL
        return upstreams
