"""How the review service's rows read in API bodies and events: a review, a report, a list page."""

from marketplace_shared.clock import iso
from marketplace_shared.identity import Identity
from marketplace_shared.pagination import page_body

from .models import Plugin, Review, ReviewReport


def public_review(review: Review) -> dict:
    """The spec's review shape (Get Plugin Details `rating.reviews`), as carried in topReviews."""
    return {
        "id": review.id,
        "rating": review.rating,
        "title": review.title,
        "review": review.text,
        "user": {"id": review.account_id, "name": review.user_name, "avatar": review.user_avatar},
        "createdAt": iso(review.created_at),
        "helpful": review.helpful_count,
    }


def review_view(review: Review, viewer: Identity | None) -> dict:
    """What the API returns: the spec's shape plus the plugin, edit time, verified install and state."""
    view = public_review(review) | {
        "pluginId": review.plugin_id,
        "updatedAt": iso(review.updated_at),
        "verifiedInstall": review.verified_install,
        "hidden": review.hidden,
    }
    if viewer is not None and viewer.is_admin:
        view["moderation"] = {"reports": review.report_count, "hiddenReason": review.hidden_reason,
                              "hiddenBy": review.hidden_by, "hiddenAt": iso(review.hidden_at)}
    return view


def review_body(review: Review, viewer: Identity | None) -> dict:
    """The answer about one review."""
    return {"data": review_view(review, viewer)}


def review_page(reviews, viewer: Identity | None, page: int, limit: int, total: int) -> dict:
    """One page of a plugin's reviews, with the spec's pagination, links and metadata."""
    return page_body([review_view(review, viewer) for review in reviews], page, limit, total)


def moderation_page(rows: list[tuple[Review, Plugin]], admin: Identity, page: int, limit: int, total: int) -> dict:
    """One page of the administrators' queue: each review with its plugin's id, name and display name."""
    items = [review_view(review, admin) | {"plugin": {"id": plugin.id, "name": plugin.name,
                                                      "displayName": plugin.display_name}}
             for review, plugin in rows]
    return page_body(items, page, limit, total)


def report_body(report: ReviewReport) -> dict:
    """The answer to a report."""
    return {"data": {"reviewId": report.review_id, "reason": report.reason, "createdAt": iso(report.created_at)}}
