"""Reviews routes: thin views over the use cases in services.py."""

from marketplace_shared.api import API_PREFIX, Blueprint
from marketplace_shared.db import request_session
from marketplace_shared.identity import current_identity, require_identity, requires

from . import services
from .representations import moderation_page, report_body, review_body, review_page
from .schemas import (
    ModerationListResponseSchema,
    ModerationQueryArgsSchema,
    ModerationSchema,
    ReportResponseSchema,
    ReportSchema,
    ReviewCreateSchema,
    ReviewListResponseSchema,
    ReviewQueryArgsSchema,
    ReviewResponseSchema,
    ReviewUpdateSchema,
)

blp = Blueprint("reviews", __name__, url_prefix=API_PREFIX, description="Ratings and reviews of plugins")


@blp.route("/plugins/<path:plugin_id>/reviews", methods=["GET"])
@blp.arguments(ReviewQueryArgsSchema(), location="query")
@blp.response(200, ReviewListResponseSchema)
def list_reviews(args, plugin_id):
    """List a plugin's reviews"""
    viewer = current_identity()
    page, limit = args["page"], args["limit"]
    items, total = services.list_reviews(request_session(), plugin_id, viewer, sort=args["sort"],
                                         order=args["order"], rating=args.get("rating"), mine=args["mine"],
                                         page=page, limit=limit)
    return review_page(items, viewer, page, limit, total)


@blp.route("/reviews", methods=["GET"])
@requires("admin")
@blp.arguments(ModerationQueryArgsSchema(), location="query")
@blp.response(200, ModerationListResponseSchema)
def moderation_queue(args):
    """List reviews across every plugin, most reported first (administrators: the moderation queue)"""
    admin = require_identity("admin")
    page, limit = args["page"], args["limit"]
    rows, total = services.moderation_queue(request_session(), status=args.get("status"),
                                            plugin_ref=args.get("pluginId"), sort=args["sort"],
                                            order=args["order"], page=page, limit=limit)
    return moderation_page(rows, admin, page, limit, total)


@blp.route("/plugins/<path:plugin_id>/reviews", methods=["POST"])
@requires("user")
@blp.arguments(ReviewCreateSchema())
@blp.response(201, ReviewResponseSchema)
def create_review(data, plugin_id):
    """Review a plugin (one review per account)"""
    author = require_identity()
    session = request_session()
    review = services.create_review(session, author, plugin_id, data)
    session.commit()
    return review_body(review, author)


@blp.route("/reviews/<review_id>", methods=["GET"])
@blp.response(200, ReviewResponseSchema)
def get_review(review_id):
    """Get a review"""
    viewer = current_identity()
    return review_body(services.get_review(request_session(), review_id, viewer), viewer)


@blp.route("/reviews/<review_id>", methods=["PATCH"])
@requires("user")
@blp.arguments(ReviewUpdateSchema())
@blp.response(200, ReviewResponseSchema)
def update_review(changes, review_id):
    """Edit one's own review"""
    author = require_identity()
    session = request_session()
    review = services.update_review(session, author, review_id, changes)
    session.commit()
    return review_body(review, author)


@blp.route("/reviews/<review_id>", methods=["DELETE"])
@blp.response(204)
def delete_review(review_id):
    """Delete one's own review (administrators: any review)"""
    actor = require_identity()
    session = request_session()
    services.delete_review(session, actor, review_id)
    session.commit()


@blp.route("/reviews/<review_id>/helpful", methods=["POST"])
@blp.response(200, ReviewResponseSchema)
def vote_helpful(review_id):
    """Mark someone else's review as helpful (once per account)"""
    voter = require_identity()
    session = request_session()
    review = services.vote_helpful(session, voter, review_id)
    session.commit()
    return review_body(review, voter)


@blp.route("/reviews/<review_id>/report", methods=["POST"])
@requires("user")
@blp.arguments(ReportSchema())
@blp.response(201, ReportResponseSchema)
def report_review(data, review_id):
    """Report a review to the moderators (once per account)"""
    reporter = require_identity()
    session = request_session()
    report = services.report_review(session, reporter, review_id, data["reason"])
    session.commit()
    return report_body(report)


@blp.route("/reviews/<review_id>/hide", methods=["POST"])
@requires("admin")
@blp.arguments(ModerationSchema(), required=False)
@blp.response(200, ReviewResponseSchema)
def hide_review(data, review_id):
    """Hide a review (administrators)"""
    admin = require_identity("admin")
    session = request_session()
    review = services.hide_review(session, admin, review_id, data.get("reason"))
    session.commit()
    return review_body(review, admin)


@blp.route("/reviews/<review_id>/restore", methods=["POST"])
@requires("admin")
@blp.response(200, ReviewResponseSchema)
def restore_review(review_id):
    """Restore a hidden review (administrators)"""
    admin = require_identity("admin")
    session = request_session()
    review = services.restore_review(session, admin, review_id)
    session.commit()
    return review_body(review, admin)
