"""Portal settings, read from the environment."""

from pathlib import Path

from marketplace_shared.config import REPO_ROOT, env, env_bool, env_float, env_int


class Config:
    SERVICE_NAME = "web"

    def __init__(self, **overrides):
        # The portal is a client of the public API: every call goes through the gateway.
        self.GATEWAY_URL = env("GATEWAY_URL", "http://127.0.0.1:8080")
        self.API_TIMEOUT = env_float("WEB_API_TIMEOUT", 10.0)
        # The secret shared with the gateway (its PORTAL_TOKEN), sent on every API call: the gateway then
        # believes the visitor's address the portal forwards and counts an anonymous visitor's calls as theirs.
        self.PORTAL_TOKEN = env("PORTAL_TOKEN")
        self.LOG_LEVEL = env("LOG_LEVEL", "INFO")
        self.VAR_DIR = env("VAR_DIR", str(REPO_ROOT / "var"))
        # Sessions: Redis when REDIS_URL is set (several hosts), else one file per session under VAR_DIR.
        self.REDIS_URL = env("REDIS_URL")
        self.SESSION_DIR = env("WEB_SESSION_DIR")
        self.SESSION_TTL_SECONDS = env_int("WEB_SESSION_TTL_SECONDS", 8 * 3600)
        self.SESSION_COOKIE_NAME = env("WEB_SESSION_COOKIE", "mkp_session")
        # None: Secure when the request came over HTTPS (directly or as X-Forwarded-Proto from the gateway).
        secure = env("WEB_SESSION_COOKIE_SECURE")
        self.SESSION_COOKIE_SECURE = None if secure is None else env_bool("WEB_SESSION_COOKIE_SECURE", False)
        self.MAX_CONTENT_LENGTH = env_int("MAX_CONTENT_LENGTH", 50 * 1024 * 1024)
        self.PAGE_SIZE = env_int("WEB_PAGE_SIZE", 12)
        # Signing in with the identity provider (OpenID Connect, authorization code + PKCE): on when both are set.
        self.OIDC_ISSUER = env("OIDC_ISSUER")
        self.OIDC_CLIENT_ID = env("OIDC_CLIENT_ID")
        self.OIDC_CLIENT_SECRET = env("OIDC_CLIENT_SECRET")  # none for a public client
        self.OIDC_SCOPES = env("OIDC_SCOPES", "openid profile email")
        self.OIDC_PROVIDER_NAME = env("OIDC_PROVIDER_NAME", "your identity provider")
        # The callback URL registered at the provider; default: <the portal's public URL>/sign-in/oidc/callback.
        self.OIDC_REDIRECT_URI = env("OIDC_REDIRECT_URI")
        self.SESSION_STORE = None  # a store object, given by tests
        for key, value in overrides.items():
            setattr(self, key, value)
        if self.SESSION_DIR is None:
            self.SESSION_DIR = str(Path(self.VAR_DIR) / "web-sessions")
