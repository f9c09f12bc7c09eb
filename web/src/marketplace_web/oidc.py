"""Signing in with the identity provider: OpenID Connect authorization code flow with PKCE (S256).

The provider is found through `<OIDC_ISSUER>/.well-known/openid-configuration`. `state`, `nonce` and the
PKCE verifier wait in the server-side session; the callback exchanges the code and checks the ID token
(signature through the provider's JWKS, issuer, audience, nonce, expiry) with PyJWT. Tokens stay in the
server-side session; the portal's API calls carry the ID token as their bearer, which the gateway checks
against the same issuer and JWKS with JWT_AUDIENCE = the portal's client id. When it expires the refresh
token is used (if the provider returns a new ID token), else the person is signed out.
"""

import base64
import hashlib
import secrets
import threading
import time
from urllib.parse import urlencode, urlsplit

import jwt
import requests

ALGORITHMS = ["RS256", "RS384", "RS512", "ES256", "ES384", "PS256", "PS384"]
# Seconds of clock difference forgiven, and how early before expiry a token is refreshed.
LEEWAY = 30
REFRESH_MARGIN = 30
_DISCOVERY_TTL = 300


class OidcError(Exception):
    """A sign-in that cannot go on; `message` is for the person."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


def _b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def pkce_pair() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    return verifier, _b64url(hashlib.sha256(verifier.encode()).digest())


class Provider:
    def __init__(self, config, http: requests.Session | None = None):
        self.issuer = config.OIDC_ISSUER.rstrip("/")
        parts = urlsplit(self.issuer)
        # The pages' CSP lets forms end here (sign-out); an end-session endpoint elsewhere is not used.
        self.origin = f"{parts.scheme}://{parts.netloc}"
        self.client_id = config.OIDC_CLIENT_ID
        self.client_secret = config.OIDC_CLIENT_SECRET
        self.scopes = config.OIDC_SCOPES
        self.name = config.OIDC_PROVIDER_NAME
        self.timeout = config.API_TIMEOUT
        self.http = http or requests.Session()
        self.http.trust_env = False
        self._lock = threading.Lock()
        self._metadata: tuple[float, dict] | None = None
        self._keys: jwt.PyJWKSet | None = None

    # -- discovery and keys ----------------------------------------------------
    def _get_json(self, url: str) -> dict:
        try:
            response = self.http.get(url, timeout=self.timeout)
            response.raise_for_status()
            body = response.json()
        except (requests.RequestException, ValueError) as exc:
            raise OidcError(f"The identity provider cannot be reached right now ({exc.__class__.__name__}).") from exc
        if not isinstance(body, dict):
            raise OidcError("The identity provider answered with something that is not JSON.")
        return body

    def metadata(self) -> dict:
        with self._lock:
            cached = self._metadata
        if cached is not None and cached[0] > time.monotonic():
            return cached[1]
        body = self._get_json(f"{self.issuer}/.well-known/openid-configuration")
        for field in ("authorization_endpoint", "token_endpoint", "jwks_uri"):
            if not isinstance(body.get(field), str):
                raise OidcError(f"The identity provider's configuration has no {field}.")
        if body.get("issuer", "").rstrip("/") != self.issuer:
            raise OidcError("The identity provider's configuration names another issuer.")
        with self._lock:
            self._metadata = (time.monotonic() + _DISCOVERY_TTL, body)
        return body

    def _signing_key(self, token: str):
        try:
            kid = jwt.get_unverified_header(token).get("kid")
        except jwt.PyJWTError as exc:
            raise OidcError("The identity provider's ID token is not a valid JWT.") from exc
        for attempt in range(2):
            if self._keys is None or attempt:
                try:
                    self._keys = jwt.PyJWKSet.from_dict(self._get_json(self.metadata()["jwks_uri"]))
                except jwt.PyJWTError as exc:
                    raise OidcError("The identity provider's signing keys cannot be read.") from exc
            for key in self._keys.keys:
                if kid is None or key.key_id == kid:
                    return key.key
        raise OidcError("The ID token is signed with a key the identity provider does not publish.")

    # -- the flow ----------------------------------------------------------------
    def start(self, redirect_uri: str) -> tuple[str, dict]:
        """The provider's authorization URL, and what the session keeps until the callback."""
        state, nonce = secrets.token_urlsafe(24), secrets.token_urlsafe(24)
        verifier, challenge = pkce_pair()
        query = {"response_type": "code", "client_id": self.client_id, "redirect_uri": redirect_uri,
                 "scope": self.scopes, "state": state, "nonce": nonce, "code_challenge": challenge,
                 "code_challenge_method": "S256"}
        endpoint = self.metadata()["authorization_endpoint"]
        separator = "&" if "?" in endpoint else "?"
        pending = {"state": state, "nonce": nonce, "verifier": verifier, "redirect_uri": redirect_uri,
                   "started": time.time()}
        return endpoint + separator + urlencode(query), pending

    def _token_request(self, form: dict) -> dict:
        form = {**form, "client_id": self.client_id}
        auth = None
        if self.client_secret:
            auth = (self.client_id, self.client_secret)  # client_secret_basic
        try:
            response = self.http.post(self.metadata()["token_endpoint"], data=form, auth=auth, timeout=self.timeout,
                                      headers={"Accept": "application/json"})
        except requests.RequestException as exc:
            raise OidcError(f"The identity provider cannot be reached right now ({exc.__class__.__name__}).") from exc
        try:
            body = response.json()
        except ValueError:
            body = {}
        if response.status_code != 200 or not isinstance(body, dict) or "error" in body:
            reason = body.get("error_description") or body.get("error") if isinstance(body, dict) else None
            raise OidcError(f"The identity provider refused the sign-in: {reason or response.status_code}.")
        return body

    def exchange(self, code: str, pending: dict) -> dict:
        """The code for tokens; returns the session's token record (the ID token checked)."""
        body = self._token_request({"grant_type": "authorization_code", "code": code,
                                    "redirect_uri": pending["redirect_uri"], "code_verifier": pending["verifier"]})
        id_token = body.get("id_token")
        if not isinstance(id_token, str):
            raise OidcError("The identity provider returned no ID token.")
        claims = self.verify(id_token, pending["nonce"])
        return self._record(body, claims)

    def refresh(self, tokens: dict) -> dict | None:
        """New tokens for an expiring record, or None when the provider gives no new ID token."""
        if not tokens.get("refresh_token"):
            return None
        try:
            body = self._token_request({"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]})
        except OidcError:
            return None
        id_token = body.get("id_token")
        if not isinstance(id_token, str):
            return None
        try:
            claims = self.verify(id_token, None)
        except OidcError:
            return None
        if claims.get("sub") != tokens.get("sub"):
            return None
        return self._record({**body, "refresh_token": body.get("refresh_token") or tokens["refresh_token"]}, claims)

    def verify(self, id_token: str, nonce: str | None) -> dict:
        key = self._signing_key(id_token)
        try:
            claims = jwt.decode(id_token, key, algorithms=ALGORITHMS, audience=self.client_id, issuer=self.issuer,
                                leeway=LEEWAY, options={"require": ["exp", "iat", "sub", "iss", "aud"]})
        except jwt.ExpiredSignatureError as exc:
            raise OidcError("The identity provider's ID token has expired: sign in again.") from exc
        except jwt.InvalidSignatureError as exc:
            raise OidcError("The ID token's signature is not valid.") from exc
        except jwt.InvalidAudienceError as exc:
            raise OidcError("The ID token was issued for another application.") from exc
        except jwt.InvalidIssuerError as exc:
            raise OidcError("The ID token was issued by another identity provider.") from exc
        except jwt.PyJWTError as exc:
            raise OidcError(f"The ID token is not valid ({exc.__class__.__name__}).") from exc
        if nonce is not None and not secrets.compare_digest(str(claims.get("nonce", "")), nonce):
            raise OidcError("The ID token does not belong to this sign-in (nonce mismatch): sign in again.")
        if isinstance(claims.get("azp"), str) and claims["azp"] != self.client_id:
            raise OidcError("The ID token was issued for another application.")
        return claims

    @staticmethod
    def _record(body: dict, claims: dict) -> dict:
        return {"id_token": body["id_token"], "access_token": body.get("access_token"),
                "refresh_token": body.get("refresh_token"), "expires_at": float(claims["exp"]),
                "sub": claims.get("sub"), "name": claims.get("name"), "email": claims.get("email")}

    def end_session_url(self, id_token: str | None, after: str) -> str | None:
        try:
            endpoint = self.metadata().get("end_session_endpoint")
        except OidcError:
            return None
        if not isinstance(endpoint, str):
            return None
        parts = urlsplit(endpoint)
        if f"{parts.scheme}://{parts.netloc}" != self.origin:
            return None
        query = {"client_id": self.client_id, "post_logout_redirect_uri": after}
        if id_token:
            query["id_token_hint"] = id_token
        return endpoint + ("&" if "?" in endpoint else "?") + urlencode(query)


def provider_from(config) -> Provider | None:
    if not (config.OIDC_ISSUER and config.OIDC_CLIENT_ID):
        return None
    return Provider(config)


def keep_fresh(session, provider: Provider | None) -> bool:
    """Before each page: an ID token about to expire is refreshed, or the person signed out. False if signed out."""
    tokens = session.get("oidc")
    if not tokens:
        return True
    if provider is None:
        session.end()
        return False
    if tokens.get("expires_at", 0) - REFRESH_MARGIN > time.time():
        return True
    renewed = provider.refresh(tokens)
    if renewed is None:
        session.end()
        return False
    session.set("oidc", renewed)
    session.set("api_key", renewed["id_token"])
    return True
