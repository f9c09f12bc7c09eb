"""Helpers the views share: the signed-in account, query strings, installed plugins."""

from functools import wraps
from urllib.parse import urlencode

from flask import g, redirect, request, url_for

from ..api import MarketplaceError, client


def signed_in() -> bool:
    return bool(g.get("account"))


def login_required(view):
    @wraps(view)
    def wrapper(*args, **kwargs):
        if not signed_in():
            return redirect(url_for("account.sign_in", next=request.full_path.rstrip("?")))
        return view(*args, **kwargs)
    return wrapper


def query_with(args: dict, **changes) -> str:
    """The query string of `args` with `changes` applied (None removes a key)."""
    merged = {key: value for key, value in args.items() if value not in (None, "")}
    for key, value in changes.items():
        if value in (None, ""):
            merged.pop(key, None)
        else:
            merged[key] = value
    return "?" + urlencode(merged) if merged else "?"


def installed_plugin_ids() -> set[str]:
    """Ids of the plugins the signed-in person has installed (one call, whatever the page shows)."""
    if not signed_in():
        return set()
    try:
        page = client().installations.list(status="completed", limit=100)
    except MarketplaceError:
        return set()
    return {item.get("pluginId") for item in page}


def flash(message: str, kind: str = "success") -> None:
    """A one-time notice for the next page (kept in the server-side session)."""
    session = g.web_session
    session.ensure()
    session.set("notices", [*(session.get("notices") or []), {"message": message, "kind": kind}])


def pop_notices() -> list[dict]:
    """The notices waiting for this page, forgotten once shown (base.html calls it)."""
    session = g.get("web_session")
    if session is None or not session.get("notices"):
        return []
    return session.pop("notices") or []


def safe_next(target: str | None) -> str:
    """A redirect target on this site only."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return url_for("plugins.home")
