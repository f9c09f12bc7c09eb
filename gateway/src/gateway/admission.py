"""The gateway's one admission and header policy, called by the Flask hooks and by the fast path alike.

admit(): credentials -> principal -> rate limit -> public-write check, answered as an Admission.
response_headers(): what every answer carries (rate limit, security, HSTS, CORS, no-store).
"""

import hmac
from dataclasses import dataclass

from marketplace_shared.api import API_PREFIX, SAFE_METHODS
from marketplace_shared.errors import RATE_LIMITED, ApiError, unauthorized

from .auth import ANONYMOUS_IDENTITY, Principal, credential_from
from .config import WEB
from .ratelimit import Decision
from .routing import GATEWAY, is_public_write
from .spooling import JSON_UNREADABLE, KEY_ABSENT, KEY_FOUND, SpooledBody

# The web portal's shared secret (config PORTAL_TOKEN), on every API call it makes for a visitor.
PORTAL_TOKEN_HEADER = "X-Marketplace-Portal-Token"
PORTAL_TOKEN_ENVIRON = "HTTP_" + PORTAL_TOKEN_HEADER.upper().replace("-", "_")
CORS_ALLOWED_HEADERS = "Authorization, Content-Type, X-API-Key, api-key, X-Request-Id"
CORS_EXPOSED_HEADERS = ("X-Request-Id, X-RateLimit-Limit, X-RateLimit-Remaining, X-RateLimit-Reset, "
                        "RateLimit, RateLimit-Policy, Retry-After, Location")
CORS_ALLOWED_METHODS = "GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS"
NO_STORE_HEADS = ("/admin/", "/me", "/api-keys")
SECURITY_HEADERS = (("X-Content-Type-Options", "nosniff"), ("X-Frame-Options", "DENY"),
                    ("Referrer-Policy", "no-referrer"))
CONTENT_SECURITY_POLICY = "default-src 'none'; frame-ancestors 'none'"
HSTS = "max-age=31536000; includeSubDomains"
# How response_headers() pairs meet a response's own headers: every other name replaces the response's.
ADDED = "Vary"  # added beside the response's own
DEFAULTED = "Content-Security-Policy"  # kept when the response has one
# Every name response_headers() may set, lower-cased.
POLICY_NAMES = frozenset(name.lower() for name in (
    "X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset", "RateLimit-Policy", "RateLimit", "Retry-After",
    *(name for name, _value in SECURITY_HEADERS), DEFAULTED, "Strict-Transport-Security", "Cache-Control",
    "Access-Control-Allow-Origin", "Access-Control-Expose-Headers", "Access-Control-Allow-Methods",
    "Access-Control-Allow-Headers", "Access-Control-Max-Age"))


@dataclass(slots=True)
class Admission:
    """What admit() decided: who calls, the rate decision, and the error to answer with (None: go on)."""

    principal: Principal | None
    decision: Decision | None
    error: ApiError | None = None
    spooled: SpooledBody | None = None

    @property
    def identity(self):
        return self.principal.identity if self.principal is not None else ANONYMOUS_IDENTITY


class EnvironHeaders:
    """Just enough of a header mapping for credential_from(), straight over the WSGI environ."""

    __slots__ = ("environ",)

    def __init__(self, environ):
        self.environ = environ

    def get(self, name: str, default=None):
        return self.environ.get("HTTP_" + name.upper().replace("-", "_"), default)


def rate_limited(decision: Decision) -> ApiError:
    return ApiError(429, RATE_LIMITED, "Rate limit exceeded, try again later",
                    {"limit": decision.limit, "policy": decision.policy,
                     "retryAfter": int(decision.headers()["Retry-After"])})


def is_portal_call(gateway, environ) -> bool:
    """Whether the web portal made this call: it sends PORTAL_TOKEN in PORTAL_TOKEN_HEADER.

    A missing or wrong token makes an ordinary call (no error): the portal's trust is all it would gain.
    The header never reaches a service: proxy.py drops every X-Marketplace-* header a client sends.
    """
    sent = environ.get(PORTAL_TOKEN_ENVIRON)
    if gateway.portal_token is None or sent is None:
        return False
    return hmac.compare_digest(sent.encode("latin-1"), gateway.portal_token)


def client_address(gateway, environ, via_portal: bool) -> str:
    """Who the call is for. The portal passes on the X-Forwarded-For the gateway gave it with the page request
    (ending with that request's peer), so the visitor is resolved as it was for the page: the last hop as
    the peer, TRUSTED_PROXIES deciding which hops before it are proxies."""
    peer, forwarded_for = environ.get("REMOTE_ADDR"), environ.get("HTTP_X_FORWARDED_FOR")
    if via_portal and forwarded_for:
        hops = [hop.strip() for hop in forwarded_for.split(",") if hop.strip()]
        if hops:
            return gateway.addresses.client_address(hops[-1], ", ".join(hops[:-1]))
    return gateway.addresses.client_address(peer, forwarded_for)


def admit(gateway, environ, method: str, path: str, target: str | None, spool=None) -> Admission:
    """Decide one request. `spool()` reads a publisher upload's body for its api_key when no header has one.

    A credential that is not valid is 401, counted in a budget of its own per address (`failed_auth`), never
    in the anonymous one. The error is answered only after the hit is counted.
    Routes the gateway serves itself (and unknown paths) check who may call them in their views.
    """
    principal, pending, spooled, failed = None, None, None, False
    try:
        credential = credential_from(EnvironHeaders(environ))
    except ApiError as error:
        credential, pending, failed = None, error, True
    if credential is None and pending is None and spool is not None:
        try:
            spooled = spool()
        except ApiError as error:
            pending = error
        else:
            if spooled.outcome == KEY_FOUND:
                credential = spooled.api_key
            elif spooled.outcome == KEY_ABSENT:
                pending = unauthorized("An api_key is required in the 'json' part")
    if credential:
        try:
            principal = gateway.authenticator.authenticate(credential)
        except ApiError as error:
            pending, failed = error, True
    # The web portal's pages and static files spend no API budget; the API calls a page makes do, as the visitor's.
    limiter = gateway.limiter if target != WEB else None
    via_portal = is_portal_call(gateway, environ)
    address = client_address(gateway, environ, via_portal)
    decision = limiter.hit(principal, address, failed, via_portal) if limiter is not None else None
    if principal is not None:
        # The credentials generation came with the hit: a principal cached before a revoke is looked up again.
        generation = decision.generation if limiter is not None else gateway.counters.generation()
        if generation is not None and generation > principal.generation:
            try:
                principal = gateway.authenticator.authenticate(credential, generation)
            except ApiError as error:
                principal, pending = None, error
                decision = limiter.hit(None, address, True) if limiter is not None else None
    if decision is not None and not decision.allowed:
        return Admission(principal, decision, rate_limited(decision), spooled)
    if pending is not None:
        return Admission(principal, decision, pending, spooled)
    # A publisher upload whose json part cannot be read goes on: the catalog explains what is wrong.
    if principal is None and target is not None and target != GATEWAY and method not in SAFE_METHODS \
            and not is_public_write(method, path) and (spooled is None or spooled.outcome != JSON_UNREADABLE):
        return Admission(None, decision, unauthorized("Authentication required: send an API key or a bearer token"),
                         spooled)
    return Admission(principal, decision, None, spooled)


def response_headers(gateway, environ, decision: Decision | None) -> list[tuple[str, str]]:
    """The headers the gateway puts on every answer it gives or forwards, as (name, value) pairs.

    Each replaces the response's header of that name, except ADDED (added) and DEFAULTED (only when absent).
    """
    pairs = list(decision.headers().items()) if decision is not None else []
    pairs += SECURITY_HEADERS
    pairs.append((DEFAULTED, CONTENT_SECURITY_POLICY))
    if environ.get("wsgi.url_scheme") in ("https", "wss") or (
            gateway.addresses.is_trusted(environ.get("REMOTE_ADDR"))
            and environ.get("HTTP_X_FORWARDED_PROTO", "").lower() == "https"):
        pairs.append(("Strict-Transport-Security", HSTS))
    path = environ.get("PATH_INFO", "")
    if path.startswith(API_PREFIX) and path[len(API_PREFIX):].startswith(NO_STORE_HEADS):
        pairs.append(("Cache-Control", "no-store"))
    origin = environ.get("HTTP_ORIGIN")
    if origin and (gateway.cors_any or origin in gateway.cors_origins):
        pairs.append(("Access-Control-Allow-Origin", "*" if gateway.cors_any else origin))
        if not gateway.cors_any:
            pairs.append((ADDED, "Origin"))
        pairs.append(("Access-Control-Expose-Headers", CORS_EXPOSED_HEADERS))
        if environ.get("REQUEST_METHOD") == "OPTIONS":
            pairs.append(("Access-Control-Allow-Methods", CORS_ALLOWED_METHODS))
            pairs.append(("Access-Control-Allow-Headers",
                          environ.get("HTTP_ACCESS_CONTROL_REQUEST_HEADERS") or CORS_ALLOWED_HEADERS))
            pairs.append(("Access-Control-Max-Age", "600"))
    return pairs


def apply_to_list(headers: list[tuple[str, str]], pairs: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """response_headers() applied to a WSGI header list (the fast path's)."""
    for name, _value in headers:
        if name.lower() in POLICY_NAMES:
            break
    else:
        return headers + pairs  # the usual case: the service sent none of them
    replaced = {name.lower() for name, _value in pairs if name != ADDED}
    kept, has_csp = [], False
    for header in headers:
        lower = header[0].lower()
        if lower == "content-security-policy":
            has_csp = True
        elif lower in replaced:
            continue
        kept.append(header)
    kept += [pair for pair in pairs if not (has_csp and pair[0] == DEFAULTED)]
    return kept


def apply_to_response(headers, pairs: list[tuple[str, str]]) -> None:
    """response_headers() applied to a werkzeug Headers (the Flask path's)."""
    for name, value in pairs:
        if name == ADDED:
            headers.add(name, value)
        elif name == DEFAULTED:
            headers.setdefault(name, value)
        else:
            headers[name] = value
