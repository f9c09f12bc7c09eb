"""Webhooks: create (the generated secret shown once), list, edit, ping, the delivery log with each attempt,
redeliver. Every signed-in person manages their own subscriptions (an administrator sees everyone's)."""

from flask import Blueprint, redirect, render_template, request, url_for

from ..api import MarketplaceError, client
from .common import flash, login_required
from .publisher import field_errors

bp = Blueprint("webhooks", __name__, url_prefix="/webhooks")
# The events a subscription may ask for (the webhook service's SUBSCRIBABLE_EVENTS).
EVENTS = ("plugin.installed", "plugin.updated", "plugin.uninstalled", "plugin.error", "plugin.health_changed",
          "plugin.published", "plugin.version_published", "plugin.*")
DELIVERY_STATUSES = ("pending", "succeeded", "failed")


def _page_number() -> int:
    try:
        return max(1, min(int(request.args.get("page", "1")), 100000))
    except ValueError:
        return 1


@bp.get("")
@login_required
def webhook_list():
    page = client().webhooks.list(page=_page_number(), limit=20)
    return render_template("webhooks/list.html", page=page)


def _read_form(form) -> tuple[dict, dict]:
    values = {"url": form.get("url", "").strip(), "events": [e for e in form.getlist("events") if e],
              "description": form.get("description", "").strip(), "active": form.get("active") == "on"}
    errors = {}
    if not values["url"]:
        errors["url"] = "Enter the URL that receives the deliveries."
    elif not values["url"].startswith(("http://", "https://")):
        errors["url"] = "An http:// or https:// URL."
    unknown = [event for event in values["events"] if event not in EVENTS]
    if not values["events"] or unknown:
        errors["events"] = "Choose at least one of the listed events."
    return values, errors


@bp.route("/new", methods=["GET", "POST"])
@login_required
def create():
    """Create a subscription; the page after it shows the generated secret, once."""
    values = {"url": "", "events": ["plugin.*"], "description": "", "active": True}
    errors: dict[str, str] = {}
    if request.method == "POST":
        values, errors = _read_form(request.form)
        if not errors:
            try:
                webhook = client().webhooks.create(values["url"], values["events"],
                                                   description=values["description"] or None)
            except MarketplaceError as error:
                if error.status not in (400, 409, 422):
                    raise
                errors = field_errors(error)
            else:
                # Rendered, not redirected: the secret is in this response only and never kept by the portal.
                response = render_template("webhooks/created.html", webhook=webhook)
                return response, 201, {"Cache-Control": "no-store"}
    status = 400 if errors else 200
    return render_template("webhooks/form.html", webhook=None, values=values, errors=errors, events=EVENTS), status


@bp.get("/<webhook_id>")
@login_required
def detail(webhook_id: str):
    """The subscription and its delivery log, newest first, each delivery with its attempts."""
    api = client()
    webhook = api.webhooks.get(webhook_id)
    status = request.args.get("status") or None
    if status not in DELIVERY_STATUSES:
        status = None
    deliveries = api.webhooks.deliveries(webhook_id, status=status, page=_page_number(), limit=20)
    return render_template("webhooks/detail.html", webhook=webhook, deliveries=deliveries, status=status,
                           statuses=DELIVERY_STATUSES)


@bp.route("/<webhook_id>/edit", methods=["GET", "POST"])
@login_required
def edit(webhook_id: str):
    api = client()
    webhook = api.webhooks.get(webhook_id)
    values = {"url": webhook.get("url", ""), "events": webhook.get("events") or [],
              "description": webhook.get("description") or "", "active": bool(webhook.get("active"))}
    errors: dict[str, str] = {}
    if request.method == "POST":
        values, errors = _read_form(request.form)
        if not errors:
            try:
                api.webhooks.update(webhook_id, url=values["url"], events=values["events"],
                                    description=values["description"] or None, active=values["active"])
            except MarketplaceError as error:
                if error.status not in (400, 409, 422):
                    raise
                errors = field_errors(error)
            else:
                flash("The webhook is saved.")
                return redirect(url_for("webhooks.detail", webhook_id=webhook_id), 303)
    status = 400 if errors else 200
    return render_template("webhooks/form.html", webhook=webhook, values=values, errors=errors,
                           events=EVENTS), status


@bp.post("/<webhook_id>/ping")
@login_required
def ping(webhook_id: str):
    delivery = client().webhooks.ping(webhook_id)
    flash(f"A test delivery ({delivery.get('event', 'webhook.ping')}) is on its way: it appears in the log below.")
    return redirect(url_for("webhooks.detail", webhook_id=webhook_id), 303)


@bp.post("/<webhook_id>/deliveries/<delivery_id>/redeliver")
@login_required
def redeliver(webhook_id: str, delivery_id: str):
    client().webhooks.redeliver(webhook_id, delivery_id)
    flash("The delivery is sent again: its new attempt appears in the log.")
    return redirect(url_for("webhooks.detail", webhook_id=webhook_id) + f"#delivery-{delivery_id}", 303)


@bp.post("/<webhook_id>/delete")
@login_required
def delete(webhook_id: str):
    client().webhooks.delete(webhook_id)
    flash("The webhook is deleted.")
    return redirect(url_for("webhooks.webhook_list"), 303)
