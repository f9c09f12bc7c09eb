"""Who is calling: API keys and optional external JWTs, resolved to accounts through a short-lived cache.

The hot path never touches the database while an entry is cached (AUTH_CACHE_SECONDS). Each entry
remembers the credentials generation this process had seen when it was looked up; a revoke or an
account change bumps that generation in the rate-limit store, every signed-in hit reads it in the
same round trip, and an entry older than it is looked up again: a revoked key is refused at once by
every worker and replica.
"""

import logging
import threading
import time
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime

import jwt

from marketplace_shared.clock import utcnow
from marketplace_shared.errors import unauthorized
from marketplace_shared.identity import Identity, issue_token

from . import services
from .models import Account

log = logging.getLogger(__name__)
_CACHE_MAX_ENTRIES = 10_000
ANONYMOUS_IDENTITY = Identity(id="anonymous", role="anonymous")


@dataclass(frozen=True)
class Principal:
    """An authenticated caller: the account, and the key it used (None for a JWT)."""

    account_id: str
    role: str
    name: str
    email: str
    tier: str
    rate_limit_per_hour: int | None
    key_id: str | None = None
    # Epoch seconds; None when the credential does not expire.
    expires_at: float | None = None
    identity: Identity = field(init=False, compare=False)
    # The credentials generation seen before this was looked up (see the module's docstring).
    generation: int = field(default=0, compare=False)

    def __post_init__(self):
        object.__setattr__(self, "identity", Identity(id=self.account_id, role=self.role, name=self.name,
                                                      email=self.email))

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"

    @classmethod
    def of(cls, account: Account, key_id: str | None = None, expires_at: datetime | None = None,
           generation: int = 0) -> "Principal":
        return cls(account_id=account.id, role=account.role, name=account.name, email=account.email,
                   tier=account.tier, rate_limit_per_hour=account.rate_limit_per_hour, key_id=key_id,
                   expires_at=_epoch(expires_at), generation=generation)


def _older(result: object, stamp: int) -> bool:
    """A cached principal looked up before the newest credentials generation this process has read."""
    return isinstance(result, Principal) and result.generation < stamp


def _epoch(value: datetime | None) -> float | None:
    return None if value is None else value.replace(tzinfo=UTC).timestamp()


@dataclass(frozen=True)
class _Rejected:
    message: str


def credential_from(headers) -> str | None:
    """Bearer token, X-API-Key, or the publisher API's `api-key` header, in that order."""
    authorization = headers.get("Authorization")
    if authorization:
        scheme, _, value = authorization.strip().partition(" ")
        if scheme.lower() == "bearer" and value.strip():
            return value.strip()
        raise unauthorized("Unsupported Authorization header: use 'Bearer <key or token>'")
    return (headers.get("X-API-Key") or headers.get("api-key") or "").strip() or None


def _looks_like_jwt(value: str) -> bool:
    return value.startswith("eyJ") and value.count(".") == 2


class JwtVerifier:
    """Verifies tokens of an external identity provider: JWKS (OIDC) or a shared HS256 secret."""

    def __init__(self, config):
        self.issuer = config.JWT_ISSUER
        self.audience = config.JWT_AUDIENCE
        self.secret = config.JWT_SHARED_SECRET
        self.jwks = jwt.PyJWKClient(config.JWT_JWKS_URL, cache_keys=True, lifespan=300, timeout=5) \
            if config.JWT_JWKS_URL else None

    @property
    def enabled(self) -> bool:
        return bool(self.secret or self.jwks)

    def claims(self, token: str) -> dict:
        options = {"require": ["exp"], "verify_aud": bool(self.audience)}
        kwargs = {"audience": self.audience, "issuer": self.issuer, "options": options, "leeway": 30}
        header = jwt.get_unverified_header(token)
        if header.get("alg", "").startswith("HS"):
            if not self.secret:
                raise jwt.InvalidTokenError("HMAC tokens are not accepted")
            return jwt.decode(token, self.secret, algorithms=["HS256", "HS384", "HS512"], **kwargs)
        if self.jwks is None:
            raise jwt.InvalidTokenError("no JWKS configured")
        signing_key = self._signing_key(header)
        return jwt.decode(token, signing_key.key, algorithms=["RS256", "RS384", "RS512", "ES256", "ES384", "PS256"],
                          **kwargs)


    def _signing_key(self, header: dict):
        """The JWKS key the token names; a token without `kid` is accepted when the JWKS has one signing key
        (OIDC Core 10.1: `kid` may be left out then; oidc-provider-mock's ID tokens do)."""
        if header.get("kid") is not None:
            return self.jwks.get_signing_key(header["kid"])
        keys = self.jwks.get_signing_keys()
        if len(keys) != 1:
            raise jwt.InvalidTokenError("the token names no key and the JWKS has several")
        return keys[0]


class Authenticator:
    def __init__(self, config, database):
        self.config = config
        self.database = database
        self.ttl = config.AUTH_CACHE_SECONDS
        self.touch_interval = config.KEY_LAST_USED_INTERVAL
        self.token_secret = config.INTERNAL_TOKEN_SECRET
        self.token_ttl = config.INTERNAL_TOKEN_TTL
        self.admin_key_hash = services.hash_key(config.MARKETPLACE_ADMIN_API_KEY) \
            if config.MARKETPLACE_ADMIN_API_KEY else None
        self.jwt = JwtVerifier(config)
        # credential hash -> (monotonic expiry, Principal | _Rejected)
        self._cache: dict[str, tuple[float, object]] = {}
        self._touched: dict[str, float] = {}
        self._tokens: dict[Identity, tuple[float, str]] = {}
        self._lock = threading.Lock()
        # The newest credentials generation this process has read.
        self.generation = 0
        # Called after a credential or an account changed (the gateway bumps the shared generation).
        self.on_change = None

    # -- authentication ----------------------------------------------------
    def authenticate(self, credential: str, generation: int | None = None) -> Principal:
        """The caller behind a key or token; raises 401 UNAUTHORIZED when it is not valid now.

        `generation`: the shared credentials generation just read; a cached principal older than it is
        looked up again.
        """
        if generation is not None and generation > self.generation:
            self.generation = generation
        stamp = self.generation
        if _looks_like_jwt(credential) and self.jwt.enabled:
            return self._from_jwt(credential, stamp)
        key_hash = services.hash_key(credential)
        if not services.is_well_formed_key(credential) and key_hash != self.admin_key_hash:
            raise unauthorized("Invalid API key")
        now = time.monotonic()
        cached = self._cache.get(key_hash)
        if cached is None or cached[0] <= now or _older(cached[1], stamp):
            cached = (now + self.ttl, self._lookup_key(key_hash, stamp))
            self._remember(key_hash, cached)
        result = cached[1]
        if isinstance(result, _Rejected):
            raise unauthorized(result.message)
        if result.expires_at is not None and result.expires_at <= time.time():
            raise unauthorized("API key has expired")
        self._maybe_touch(result.key_id, now)
        return result

    def _lookup_key(self, key_hash: str, stamp: int) -> object:
        with self.database.session() as session:
            key = services.find_key(session, key_hash)
            if key is None:
                return _Rejected("Invalid API key")
            status = key.status()
            if status == "revoked":
                return _Rejected("API key has been revoked")
            if status == "expired":
                return _Rejected("API key has expired")
            return Principal.of(key.account, key.id, key.expires_at, stamp)

    def _from_jwt(self, token: str, stamp: int) -> Principal:
        cache_key = "jwt:" + services.hash_key(token)
        now = time.monotonic()
        cached = self._cache.get(cache_key)
        if cached is None or cached[0] <= now or _older(cached[1], stamp):
            try:
                claims = self.jwt.claims(token)
            except (jwt.PyJWTError, ValueError) as exc:
                log.info("rejected a bearer token: %s", exc.__class__.__name__)
                raise unauthorized("Invalid or expired token") from exc
            with self.database.session() as session:
                account = services.find_account_for_token(session, claims.get("sub"), claims.get("email"))
                if account is None:
                    result = _Rejected("No account is linked to this token")
                else:
                    result = replace(Principal.of(account, generation=stamp), expires_at=float(claims["exp"]))
            cached = (now + self.ttl, result)
            self._remember(cache_key, cached)
        result = cached[1]
        if isinstance(result, _Rejected):
            raise unauthorized(result.message)
        if result.expires_at is not None and result.expires_at <= time.time():
            raise unauthorized("Invalid or expired token")
        return result

    def _remember(self, key: str, entry: tuple[float, object]) -> None:
        if len(self._cache) >= _CACHE_MAX_ENTRIES:
            self._cache.clear()
        self._cache[key] = entry

    # -- cache invalidation ------------------------------------------------
    def forget_key(self, key_id: str) -> None:
        """After a key was revoked (committed): this process forgets it now, every other one on its next use."""
        self._forget(lambda principal: principal.key_id == key_id)

    def forget_account(self, account_id: str) -> None:
        """After an account changed (committed): as forget_key, for every credential of the account."""
        self._forget(lambda principal: principal.account_id == account_id)

    def _forget(self, matches) -> None:
        for cache_key, (_expiry, result) in list(self._cache.items()):
            if isinstance(result, Principal) and matches(result):
                self._cache.pop(cache_key, None)
        if self.on_change is not None:
            self.on_change()

    # -- last use ----------------------------------------------------------
    def _maybe_touch(self, key_id: str | None, now: float) -> None:
        if key_id is None:
            return
        last = self._touched.get(key_id)
        if last is not None and now - last < self.touch_interval:
            return
        with self._lock:
            last = self._touched.get(key_id)
            if last is not None and now - last < self.touch_interval:
                return
            self._touched[key_id] = now
        # Off the request path: a write per key per minute is cheap, but it need not delay anyone.
        threading.Thread(target=self._touch, args=(key_id,), daemon=True).start()

    def _touch(self, key_id: str) -> None:
        try:
            with self.database.session() as session, session.begin():
                services.touch_key(session, key_id, utcnow(), self.touch_interval * 0.9)
        except Exception:  # noqa: BLE001 - a missed lastUsedAt must never fail anything
            log.warning("could not record the last use of key %s", key_id, exc_info=True)

    # -- the token services trust ------------------------------------------
    def internal_token(self, identity: Identity) -> str:
        """A signed identity token for the services, reused for half its lifetime."""
        now = time.monotonic()
        cached = self._tokens.get(identity)
        if cached is not None and cached[0] > now:
            return cached[1]
        token = issue_token(self.token_secret, identity, self.token_ttl)
        if len(self._tokens) >= _CACHE_MAX_ENTRIES:
            self._tokens.clear()
        self._tokens[identity] = (now + self.token_ttl / 2, token)
        return token

