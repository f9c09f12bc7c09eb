"""Reviews on a plugin's page: write, edit and delete one's own, vote helpful, report.

The forms live in templates/plugins/includes/reviews.html (included by the plugin page); each one posts
here, and the person goes back to the plugin page (Post/Redirect/Get) with a notice saying what happened.
"""

from flask import Blueprint, g, redirect, render_template, request, url_for

from ..api import MarketplaceError, client
from .common import flash, login_required

bp = Blueprint("reviews", __name__)
REPORT_REASONS = ("spam", "offensive", "off-topic", "misleading", "other")


@bp.app_template_global()
def own_review(plugin: dict) -> dict | None:
    """The signed-in person's review of the plugin (hidden or not), found with one call (`?mine=true`), so it
    shows with its edit and delete buttons wherever it ranks among the plugin's reviews."""
    if not g.get("account") or not plugin.get("id"):
        return None
    cache = g.setdefault("own_reviews", {})
    if plugin["id"] not in cache:
        try:
            cache[plugin["id"]] = client().reviews.mine(plugin["id"])
        except MarketplaceError:
            cache[plugin["id"]] = None  # the page still shows; the review service is out of reach
    return cache[plugin["id"]]


def _back(plugin: str | None, review_id: str | None = None):
    target = url_for("plugins.plugin_detail", name=plugin) if plugin else url_for("plugins.home")
    return redirect(target + (f"#review-{review_id}" if review_id else "#reviews"), 303)


def _plugin_ref() -> str | None:
    ref = (request.form.get("plugin") or "").strip()
    return ref or None


def _rating(value: str | None) -> int | None:
    try:
        rating = int(value or "")
    except ValueError:
        return None
    return rating if 1 <= rating <= 5 else None


def _form_errors(form) -> tuple[dict, dict]:
    values = {"rating": form.get("rating", ""), "title": form.get("title", "").strip(),
              "review": form.get("review", "").strip()}
    errors = {}
    if _rating(values["rating"]) is None:
        errors["rating"] = "Choose a rating from 1 to 5 stars."
    if len(values["title"]) > 120:
        errors["title"] = "At most 120 characters."
    if len(values["review"]) > 5000:
        errors["review"] = "At most 5000 characters."
    return values, errors


def _api_field_errors(error: MarketplaceError) -> dict:
    fields = (error.details or {}).get("fields") or {}
    return {name: "; ".join(messages) if isinstance(messages, list) else str(messages)
            for name, messages in fields.items()}


@bp.post("/plugins/<path:name>/reviews")
@login_required
def create(name: str):
    """Write a review; a form with mistakes comes back with the message next to each field."""
    values, errors = _form_errors(request.form)
    api = client()
    if not errors:
        try:
            review = api.reviews.create(name, rating=int(values["rating"]), title=values["title"],
                                        review=values["review"])
        except MarketplaceError as error:
            if error.status == 409:
                flash("You have already reviewed this plugin: edit your review instead.", "error")
                return _back(name)
            if error.status not in (400, 422):
                raise
            errors = _api_field_errors(error) or {"review": error.message}
        else:
            flash("Thank you: your review is published.")
            return _back(name, review.get("id"))
    plugin = api.plugins.get(name)
    return render_template("reviews/edit.html", plugin=plugin, review=None, values=values, errors=errors), 400


def _review_and_plugin(api, review_id: str) -> tuple[dict, dict]:
    """A review and the plugin it is about (two API calls: the review names its plugin)."""
    review = api.reviews.get(review_id)
    return review, api.plugins.get(review["pluginId"])


@bp.route("/reviews/<review_id>/edit", methods=["GET", "POST"])
@login_required
def edit(review_id: str):
    """Edit one's own review (the API refuses anyone else's)."""
    api = client()
    review, plugin = _review_and_plugin(api, review_id)
    if (review.get("user") or {}).get("id") != g.account.get("id"):
        flash("Only the author may edit a review.", "error")
        return _back(plugin["name"])
    if request.method == "GET":
        values = {"rating": str(review.get("rating", "")), "title": review.get("title") or "",
                  "review": review.get("review") or ""}
        return render_template("reviews/edit.html", plugin=plugin, review=review, values=values, errors={})
    values, errors = _form_errors(request.form)
    if not errors:
        try:
            api.reviews.update(review_id, rating=int(values["rating"]), title=values["title"],
                               review=values["review"])
        except MarketplaceError as error:
            if error.status not in (400, 422):
                raise
            errors = _api_field_errors(error) or {"review": error.message}
        else:
            flash("Your review is updated.")
            return _back(plugin["name"], review_id)
    return render_template("reviews/edit.html", plugin=plugin, review=review, values=values, errors=errors), 400


@bp.post("/reviews/<review_id>/delete")
@login_required
def delete(review_id: str):
    client().reviews.delete(review_id)
    flash("Your review is deleted.")
    return _back(_plugin_ref())


@bp.post("/reviews/<review_id>/helpful")
@login_required
def helpful(review_id: str):
    try:
        client().reviews.helpful(review_id)
    except MarketplaceError as error:
        if error.status not in (400, 403, 409):
            raise
        flash(f"Your vote was not counted: {error.message}", "error")
    else:
        flash("Thanks: your vote is counted.")
    return _back(_plugin_ref(), review_id)


@bp.route("/reviews/<review_id>/report", methods=["GET", "POST"])
@login_required
def report(review_id: str):
    """Flag a review for the moderators, with a reason."""
    api = client()
    review, plugin = _review_and_plugin(api, review_id)
    values = {"reason": request.form.get("reason", ""), "details": request.form.get("details", "").strip()}
    errors = {}
    if request.method == "POST":
        if values["reason"] not in REPORT_REASONS:
            errors["reason"] = "Choose why you report this review."
        elif len(values["details"]) > 400:
            errors["details"] = "At most 400 characters."
        else:
            reason = values["reason"] + (f": {values['details']}" if values["details"] else "")
            try:
                api.reviews.report(review_id, reason)
            except MarketplaceError as error:
                if error.status not in (400, 403, 409):
                    raise
                errors["reason"] = error.message
            else:
                flash("Thank you: the moderators will look at this review.")
                return _back(plugin["name"], review_id)
    status = 400 if errors else 200
    return render_template("reviews/report.html", plugin=plugin, review=review, values=values, errors=errors,
                           reasons=REPORT_REASONS), status
