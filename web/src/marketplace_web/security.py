"""CSRF tokens for every form, and the headers every page carries (CSP without inline scripts)."""

import hmac
import secrets

from flask import abort, g, request

CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
# Scripts and styles only from the portal's own files; images also as data: URIs (none from elsewhere:
# the API's image URLs are on this host).
CONTENT_SECURITY_POLICY = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
                           "font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; "
                           "form-action 'self'; frame-ancestors 'none'")
# Swagger UI sets style attributes from its script.
DOCS_CONTENT_SECURITY_POLICY = CONTENT_SECURITY_POLICY.replace("style-src 'self'", "style-src 'self' 'unsafe-inline'")
HEADERS = {"X-Content-Type-Options": "nosniff", "X-Frame-Options": "DENY",
           "Referrer-Policy": "same-origin", "Cross-Origin-Opener-Policy": "same-origin"}


def csrf_token() -> str:
    """The visitor's token (a session is started for it when they have none)."""
    session = g.web_session
    token = session.get("csrf")
    if not token:
        session.ensure()
        token = secrets.token_urlsafe(32)
        session.set("csrf", token)
    return token


def check_csrf() -> None:
    if request.method not in UNSAFE_METHODS:
        return
    expected = g.web_session.get("csrf")
    sent = request.form.get(CSRF_FIELD) or request.headers.get(CSRF_HEADER) or ""
    if not expected or not hmac.compare_digest(str(expected), str(sent)):
        abort(400, description="The form has expired or did not come from this site: reload the page and try again.")
