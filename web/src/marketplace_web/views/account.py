"""Signing in with an API key or the identity provider (kept on the server, never in the cookie); signing out."""

import time

from flask import Blueprint, current_app, g, redirect, render_template, request, url_for

from ..api import MarketplaceError, client_for
from ..oidc import OidcError
from .common import safe_next

# A sign-in at the identity provider must come back within this many seconds.
OIDC_PENDING_SECONDS = 600

bp = Blueprint("account", __name__)


@bp.route("/sign-in", methods=["GET", "POST"])
def sign_in():
    """The key is checked with GET /me; the session keeps it server-side, under a new session id."""
    target = safe_next(request.values.get("next"))
    error = None
    if request.method == "POST":
        key = (request.form.get("api_key") or "").strip()
        if not key:
            error = "Enter your API key."
        else:
            try:
                account = client_for(key).accounts.me()
            except MarketplaceError as failure:
                if failure.status in (401, 403):
                    error = "That API key was not accepted: check it, or ask an administrator for a new one."
                else:
                    raise
            else:
                _begin(g.web_session, account, key)
                return redirect(target, 303)
    status = 400 if error else 200
    return _sign_in_page(error, target, status)


def _provider():
    return current_app.extensions.get("web_oidc")


def _sign_in_page(error: str | None, target: str, status: int):
    provider = _provider()
    return render_template("account/sign_in.html", error=error, next=target,
                           oidc_name=provider.name if provider else None), status


def _public_url(path: str) -> str:
    """An absolute URL of the portal as the browser sees it (through the gateway, which forwards these)."""
    proto = (request.headers.get("X-Forwarded-Proto") or request.scheme).split(",")[0].strip()
    host = (request.headers.get("X-Forwarded-Host") or request.host).split(",")[0].strip()
    return f"{proto}://{host}{path}"


def _redirect_uri() -> str:
    configured = current_app.extensions["web_config"].OIDC_REDIRECT_URI
    return configured or _public_url(url_for("account.oidc_callback"))


def _begin(session, account: dict, credential: str) -> None:
    session.rotate()
    session.set("api_key", credential)
    session.set("account", {"id": account.get("id"), "name": account.get("name"),
                            "email": account.get("email"), "role": account.get("role")})
    session.pop("csrf")


@bp.get("/sign-in/oidc")
def oidc_start():
    """Off to the identity provider, with state, nonce and the PKCE verifier kept in the server-side session."""
    provider = _provider()
    target = safe_next(request.args.get("next"))
    if provider is None:
        return _sign_in_page("Signing in with an identity provider is not configured here.", target, 404)
    try:
        url, pending = provider.start(_redirect_uri())
    except OidcError as failure:
        return _sign_in_page(failure.message, target, 502)
    session = g.web_session
    session.ensure()
    session.set("oidc_pending", {**pending, "next": target})
    return redirect(url, 303)


@bp.get("/sign-in/oidc/callback")
def oidc_callback():
    """The provider's answer: the state must match, the code is exchanged, the ID token checked."""
    provider = _provider()
    session = g.web_session
    pending = session.pop("oidc_pending") or {}
    target = safe_next(pending.get("next"))
    if provider is None:
        return _sign_in_page("Signing in with an identity provider is not configured here.", target, 404)
    if request.args.get("error"):
        reason = request.args.get("error_description") or request.args.get("error")
        return _sign_in_page(f"The identity provider did not sign you in: {reason[:200]}.", target, 400)
    state = request.args.get("state") or ""
    if not pending or state != pending.get("state"):
        return _sign_in_page("This sign-in link is not the one this browser started (state mismatch): "
                             "sign in again.", target, 400)
    if pending.get("started", 0) + OIDC_PENDING_SECONDS < time.time():
        return _sign_in_page("The sign-in took too long: sign in again.", target, 400)
    code = request.args.get("code")
    if not code:
        return _sign_in_page("The identity provider sent no authorization code: sign in again.", target, 400)
    try:
        tokens = provider.exchange(code, pending)
    except OidcError as failure:
        return _sign_in_page(failure.message, target, 400)
    try:
        account = client_for(tokens["id_token"]).accounts.me()
    except MarketplaceError as failure:
        if failure.status in (401, 403):
            who = tokens.get("email") or tokens.get("sub")
            return _sign_in_page(f"The marketplace has no account for {who}, or does not accept this identity "
                                 f"provider's tokens: ask an administrator ({failure.message}).", target, 403)
        raise
    _begin(session, account, tokens["id_token"])
    session.set("oidc", tokens)
    return redirect(target, 303)


@bp.post("/sign-out")
def sign_out():
    """Ends the session here, then at the identity provider too when it was used and has an end-session endpoint."""
    tokens = g.web_session.get("oidc")
    g.web_session.end()
    g.account = None
    home = url_for("plugins.home")
    provider = _provider()
    if tokens and provider is not None:
        ending = provider.end_session_url(tokens.get("id_token"), _public_url(home))
        if ending:
            return redirect(ending, 303)
    return redirect(home, 303)
