"""Administration: verify and feature plugins, accounts and their keys (a new key shown once), the review
moderation queue. Administrators only; the API checks the role again on every call."""

from functools import wraps
from urllib.parse import quote

from flask import Blueprint, abort, g, redirect, render_template, request, url_for

from ..api import MarketplaceError, client
from .common import flash, login_required
from .publisher import field_errors

bp = Blueprint("admin", __name__, url_prefix="/admin")
ROLES = ("user", "publisher", "admin")
TIERS = ("authenticated", "enterprise")


def admin_required(view):
    @wraps(view)
    @login_required
    def wrapper(*args, **kwargs):
        if (g.account or {}).get("role") != "admin":
            abort(403, description="This page is for administrators.")
        return view(*args, **kwargs)
    return wrapper


def _page_number(name: str = "page") -> int:
    try:
        return max(1, min(int(request.args.get(name, "1")), 100000))
    except ValueError:
        return 1


def _seg(value: str) -> str:
    return quote(str(value), safe="")


@bp.get("")
@admin_required
def dashboard():
    return render_template("admin/dashboard.html")


# -- plugins: verify and feature ----------------------------------------------------------------------
@bp.get("/plugins")
@admin_required
def plugins():
    search = request.args.get("search", "").strip()
    page = client().plugins.list(search=search or None, sort="updated", page=_page_number(), limit=25)
    return render_template("admin/plugins.html", page=page, search=search)


@bp.post("/plugins/<path:name>/flags")
@admin_required
def set_flags(name: str):
    """Set `verified` or `featured` (one button each, so one change at a time)."""
    flag, value = request.form.get("flag"), request.form.get("value")
    if flag not in ("verified", "featured") or value not in ("true", "false"):
        abort(400, description="Choose verified or featured, on or off.")
    updated = client().publisher.update_plugin(name, {flag: value == "true"})
    state = "on" if value == "true" else "off"
    flash(f"{updated.get('displayName') or updated.get('name') or name}: {flag} is {state}.")
    return redirect(url_for("admin.plugins", search=request.form.get("search") or None), 303)


# -- accounts and keys --------------------------------------------------------------------------------
@bp.route("/accounts", methods=["GET", "POST"])
@admin_required
def accounts():
    """Every account, and a form to create one."""
    api = client()
    values = {"name": request.form.get("name", "").strip(), "email": request.form.get("email", "").strip(),
              "role": request.form.get("role", "user"), "tier": request.form.get("tier", "authenticated")}
    errors: dict[str, str] = {}
    if request.method == "POST":
        if not values["name"]:
            errors["name"] = "Required."
        if "@" not in values["email"]:
            errors["email"] = "An email address."
        if values["role"] not in ROLES:
            errors["role"] = "Choose a role."
        if values["tier"] not in TIERS:
            errors["tier"] = "Choose a tier."
        if not errors:
            try:
                created = api.accounts.create(values["name"], values["email"], values["role"], tier=values["tier"])
            except MarketplaceError as error:
                if error.status not in (400, 409, 422):
                    raise
                errors = field_errors(error)
                if error.status == 409 and "_form" in errors:
                    errors = {"email": error.message}
            else:
                flash(f"Account {created.get('name')} created: give it a key below.")
                return redirect(url_for("admin.account", account_id=created["id"]), 303)
    role = request.args.get("role") if request.args.get("role") in ROLES else None
    search = request.args.get("search", "").strip() or None
    page = api.accounts.list(page=_page_number(), limit=25, role=role, search=search)
    status = 400 if errors else 200
    return render_template("admin/accounts.html", page=page, values=values, errors=errors, roles=ROLES, tiers=TIERS,
                           role=role, search=search or ""), status


def _account_page(account_id: str, new_key: dict | None = None, errors: dict | None = None, status: int = 200):
    api = client()
    account = api.accounts.get(account_id)
    keys = api.data("GET", f"/admin/accounts/{_seg(account_id)}/api-keys") or []
    return render_template("admin/account.html", account=account, keys=keys, new_key=new_key, errors=errors or {},
                           roles=ROLES, tiers=TIERS), status, ({"Cache-Control": "no-store"} if new_key else {})


@bp.get("/accounts/<account_id>")
@admin_required
def account(account_id: str):
    return _account_page(account_id)


@bp.post("/accounts/<account_id>")
@admin_required
def update_account(account_id: str):
    changes = {key: request.form.get(key) for key in ("role", "tier") if request.form.get(key)}
    if changes.get("role") not in (None, *ROLES) or changes.get("tier") not in (None, *TIERS) or not changes:
        return _account_page(account_id, errors={"role": "Choose a role and a tier."}, status=400)
    client().accounts.update(account_id, **changes)
    flash("The account is saved.")
    return redirect(url_for("admin.account", account_id=account_id), 303)


@bp.post("/accounts/<account_id>/keys")
@admin_required
def create_key(account_id: str):
    """A new key for the account, shown in this response only (the portal keeps no copy)."""
    name = request.form.get("name", "").strip()
    if len(name) > 200:
        return _account_page(account_id, errors={"key-name": "At most 200 characters."}, status=400)
    created = client().accounts.create_account_key(account_id, name or "portal")
    return _account_page(account_id, new_key=created, status=201)


@bp.post("/accounts/<account_id>/keys/<key_id>/revoke")
@admin_required
def revoke_key(account_id: str, key_id: str):
    client().accounts.revoke_api_key(key_id)
    flash("The key is revoked: it stops working at once.")
    return redirect(url_for("admin.account", account_id=account_id), 303)


# -- review moderation ----------------------------------------------------------------------------------
QUEUE_LIMIT = 25


@bp.get("/reviews")
@admin_required
def moderation():
    """The moderation queue across every plugin: reported reviews (most reported first), then hidden ones.

    `?plugin=` narrows it to one plugin, which also lists that plugin's reviews nobody reported (to hide one of
    them). A call per section (GET /reviews), and one for the plugin menu, whatever the catalog's size.
    """
    api = client()
    choices = api.plugins.list(sort="updated", limit=100)
    chosen = request.args.get("plugin", "").strip() or None
    reported = api.reviews.moderation(status="reported", plugin_id=chosen, sort="reports",
                                      page=_page_number("page"), limit=QUEUE_LIMIT)
    hidden = api.reviews.moderation(status="hidden", plugin_id=chosen, sort="recent",
                                    page=_page_number("hidden_page"), limit=QUEUE_LIMIT)
    quiet = None
    if chosen:
        # Unreported first; a reported one on this page is already in the first section.
        quiet = api.reviews.moderation(status="visible", plugin_id=chosen, sort="reports", order="asc",
                                       page=_page_number("quiet_page"), limit=QUEUE_LIMIT)
    plugin = next((item for item in choices if chosen in (item.get("name"), item.get("id"))), None) if chosen else None
    return render_template("admin/reviews.html", choices=choices, chosen=chosen, plugin=plugin, reported=reported,
                           hidden=hidden, quiet=quiet)


@bp.post("/reviews/<review_id>/<action>")
@admin_required
def moderate(review_id: str, action: str):
    api = client()
    if action == "hide":
        api.reviews.hide(review_id, request.form.get("reason", "").strip() or None)
        flash("The review is hidden from everyone but administrators.")
    elif action == "restore":
        api.reviews.restore(review_id)
        flash("The review is visible again.")
    else:
        abort(404)
    return redirect(url_for("admin.moderation", plugin=request.form.get("plugin") or None), 303)
