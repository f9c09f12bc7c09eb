"""More of the fake public API for the reviews, publishing, webhooks and admin pages.

`extend(fake)` adds routes (and state) to the FakeGateway of tests/fake_gateway.py before its first request;
it replaces the fixed reviews list with one that follows the reviews written here.
"""

import itertools

from flask import request

from ..fake_gateway import KEYS, PREFIX, XSS, error, plugin, summary


def _who():
    header = request.headers.get("Authorization", "")
    return KEYS.get(header.removeprefix("Bearer ").strip()) if header else None


def extend(fake) -> None:
    app = fake.app
    ids = itertools.count(2)
    fake.reviews = {"review_1": {"id": "review_1", "pluginId": "plugin_metrics-board", "rating": 4, "title": XSS,
                                 "review": f"Nice {XSS}", "user": {"id": "acct_other", "name": XSS},
                                 "createdAt": "2026-11-02T00:00:00Z", "helpful": 3, "verifiedInstall": True,
                                 "hidden": False, "reports": 0}}
    fake.webhooks, fake.deliveries, fake.accounts, fake.keys = {}, {}, {}, {}
    fake.accounts.update({who["id"]: dict(who, tier="authenticated", active=True, createdAt="2026-01-01T00:00:00Z")
                          for who in KEYS.values()})
    fake.plugins["draft-one"] = plugin("draft-one", status="draft", versions=[], version=None)
    for item in fake.plugins.values():
        item.setdefault("ownerId", "acct_pub")

    def plugin_of(ref):
        return fake.plugins.get(ref) or next((p for p in fake.plugins.values() if p["id"] == ref), None)

    def review_view(review):
        view = {key: value for key, value in review.items() if key != "reports"}
        if (_who() or {}).get("role") == "admin":
            view["moderation"] = {"reports": review["reports"], "hiddenReason": review.get("hiddenReason")}
        return view

    def needs(role=None):
        who = _who()
        if who is None:
            return error(401, "UNAUTHORIZED", "Authentication required")
        order = ["user", "publisher", "admin"]
        if role and order.index(who["role"]) < order.index(role):
            return error(403, "FORBIDDEN", f"Needs the {role} role")
        return None

    # -- reviews ---------------------------------------------------------------------------------
    def list_reviews(plugin_id):
        found = plugin_of(plugin_id)
        admin = (_who() or {}).get("role") == "admin"
        items = [r for r in fake.reviews.values() if found and r["pluginId"] == found["id"]
                 and (admin or not r["hidden"])]
        return {"data": [review_view(r) for r in items],
                "pagination": {"page": 1, "limit": 10, "total": len(items), "totalPages": 1}}

    app.view_functions["reviews"] = list_reviews

    @app.post(f"{PREFIX}/plugins/<plugin_id>/reviews")
    def create_review(plugin_id):
        refused = needs()
        if refused:
            return refused
        body = request.get_json()
        found = plugin_of(plugin_id)
        if any(r["user"]["id"] == _who()["id"] and r["pluginId"] == found["id"] for r in fake.reviews.values()):
            return error(409, "CONFLICT", "You have already reviewed this plugin")
        if body.get("title") == "refused by the api":
            return error(400, "VALIDATION_ERROR", "Invalid request body", {"fields": {"title": ["Not allowed."]}})
        ident = f"review_{next(ids)}"
        fake.reviews[ident] = {"id": ident, "pluginId": found["id"], "rating": body["rating"],
                               "title": body.get("title", ""), "review": body.get("review", ""),
                               "user": {"id": _who()["id"], "name": _who()["name"]},
                               "createdAt": "2026-12-01T00:00:00Z", "helpful": 0, "verifiedInstall": False,
                               "hidden": False, "reports": 0}
        return {"data": review_view(fake.reviews[ident])}, 201

    def one_review(review_id):
        return fake.reviews.get(review_id)

    @app.get(f"{PREFIX}/reviews/<review_id>")
    def get_review(review_id):
        review = one_review(review_id)
        return {"data": review_view(review)} if review else error(404, "REVIEW_NOT_FOUND", "Review not found")

    @app.patch(f"{PREFIX}/reviews/<review_id>")
    def update_review(review_id):
        refused = needs()
        if refused:
            return refused
        review = one_review(review_id)
        if review["user"]["id"] != _who()["id"]:
            return error(403, "FORBIDDEN", "Only the author may edit a review")
        review.update(request.get_json())
        return {"data": review_view(review)}

    @app.delete(f"{PREFIX}/reviews/<review_id>")
    def delete_review(review_id):
        refused = needs()
        if refused:
            return refused
        review = one_review(review_id)
        if review["user"]["id"] != _who()["id"] and _who()["role"] != "admin":
            return error(403, "FORBIDDEN", "Only the author may delete a review")
        del fake.reviews[review_id]
        return "", 204

    @app.post(f"{PREFIX}/reviews/<review_id>/helpful")
    def vote(review_id):
        refused = needs()
        if refused:
            return refused
        review = one_review(review_id)
        if review["user"]["id"] == _who()["id"]:
            return error(403, "FORBIDDEN", "You cannot vote for your own review")
        review["helpful"] += 1
        return {"data": review_view(review)}

    @app.post(f"{PREFIX}/reviews/<review_id>/report")
    def report(review_id):
        refused = needs()
        if refused:
            return refused
        one_review(review_id)["reports"] += 1
        fake.last_report = request.get_json()
        return {"data": {"reviewId": review_id, "reports": one_review(review_id)["reports"]}}, 201

    @app.post(f"{PREFIX}/reviews/<review_id>/hide")
    def hide(review_id):
        refused = needs("admin")
        if refused:
            return refused
        review = one_review(review_id)
        review.update(hidden=True, hiddenReason=(request.get_json(silent=True) or {}).get("reason"))
        return {"data": review_view(review)}

    @app.post(f"{PREFIX}/reviews/<review_id>/restore")
    def restore(review_id):
        refused = needs("admin")
        if refused:
            return refused
        one_review(review_id).update(hidden=False, hiddenReason=None)
        return {"data": review_view(one_review(review_id))}

    fake.summary = summary
    fake.needs = needs
    fake.who = _who
    fake.plugin_of = plugin_of
    fake.next_id = lambda: next(ids)
