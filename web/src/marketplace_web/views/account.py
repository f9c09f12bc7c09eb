"""Signing in with an API key (kept on the server, never in the cookie) and signing out."""

from flask import Blueprint, g, redirect, render_template, request, url_for

from ..api import MarketplaceError, client_for
from .common import safe_next

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
                session = g.web_session
                session.rotate()
                session.set("api_key", key)
                session.set("account", {"id": account.get("id"), "name": account.get("name"),
                                        "email": account.get("email"), "role": account.get("role")})
                session.pop("csrf")
                return redirect(target, 303)
    status = 400 if error else 200
    return render_template("account/sign_in.html", error=error, next=target), status


@bp.post("/sign-out")
def sign_out():
    g.web_session.end()
    g.account = None
    return redirect(url_for("plugins.home"), 303)
