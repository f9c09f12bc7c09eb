"""Use cases of the review service: plain functions over a session the caller commits."""

import hashlib
import logging
import uuid
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal

from sqlalchemy import func, join, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from marketplace_shared.clock import utcnow
from marketplace_shared.errors import (
    FORBIDDEN,
    PLUGIN_NOT_FOUND,
    ApiError,
    conflict,
    forbidden,
    not_found,
    unauthorized,
)
from marketplace_shared.identity import Identity

from . import events
from .errors import ALREADY_REPORTED, ALREADY_VOTED, OWN_REVIEW, REVIEW_EXISTS, REVIEW_NOT_FOUND
from .models import HelpfulVote, Installation, Plugin, Review, ReviewReport
from .representations import public_review

log = logging.getLogger(__name__)

TOP_REVIEWS = 3
RATINGS = (5, 4, 3, 2, 1)
GRAVATAR_URL = "https://www.gravatar.com/avatar/{hash}?d=identicon"


# -- errors -----------------------------------------------------------------
def plugin_not_found(ref: str) -> ApiError:
    return not_found(PLUGIN_NOT_FOUND, f"Plugin with ID '{ref}' not found")


def review_not_found(review_id: str) -> ApiError:
    return not_found(REVIEW_NOT_FOUND, f"Review with ID '{review_id}' not found")


# -- authors ----------------------------------------------------------------
def avatar_url(email: str, account_id: str) -> str:
    """A Gravatar identicon from the SHA-256 of the lower-cased email (the account id when there is none)."""
    key = (email or "").strip().lower() or account_id
    return GRAVATAR_URL.format(hash=hashlib.sha256(key.encode()).hexdigest())


# -- plugins ----------------------------------------------------------------
def find_plugin(session: Session, ref: str, lock: bool = False) -> Plugin:
    """The published plugin with this id or name, or 404 PLUGIN_NOT_FOUND."""
    plugin = session.get(Plugin, ref, with_for_update=lock or None)
    if plugin is None:
        query = (select(Plugin).where(Plugin.name == ref, Plugin.published.is_(True))
                 .order_by(Plugin.status_changed_at.desc()).limit(1))
        if lock:
            query = query.with_for_update()
        plugin = session.scalars(query).first()
    if plugin is None or not plugin.published:
        raise plugin_not_found(ref)
    return plugin


def _lock_plugin(session: Session, plugin_id: str) -> Plugin:
    # Every change to a plugin's reviews holds its row, so that the aggregate and its sequence are serial.
    return session.get(Plugin, plugin_id, with_for_update=True, populate_existing=True)


def _visible_to(review: Review, viewer: Identity | None) -> bool:
    return not review.hidden or (viewer is not None and (viewer.is_admin or viewer.id == review.account_id))


def _load_review_locked(session: Session, review_id: str, viewer: Identity | None) -> tuple[Review, Plugin]:
    plugin_id = session.scalar(select(Review.plugin_id).where(Review.id == review_id))
    if plugin_id is None:
        raise review_not_found(review_id)
    plugin = _lock_plugin(session, plugin_id)
    review = session.get(Review, review_id, populate_existing=True)
    if review is None or not _visible_to(review, viewer):
        raise review_not_found(review_id)
    return review, plugin


# -- aggregate --------------------------------------------------------------
def rating_summary(session: Session, plugin_id: str) -> dict:
    """average, count, distribution and topReviews over the plugin's visible reviews."""
    visible = (Review.plugin_id == plugin_id, Review.hidden.is_(False))
    counts = dict(session.execute(select(Review.rating, func.count()).where(*visible).group_by(Review.rating)).all())
    distribution = {str(rating): int(counts.get(rating, 0)) for rating in RATINGS}
    count = sum(distribution.values())
    average = 0.0
    if count:
        total = sum(rating * int(counts.get(rating, 0)) for rating in RATINGS)
        average = float((Decimal(total) / Decimal(count)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))
    top = session.scalars(select(Review).where(*visible)
                          .order_by(Review.helpful_count.desc(), Review.created_at.desc(), Review.id)
                          .limit(TOP_REVIEWS)).all()
    return {"average": average, "count": count, "distribution": distribution,
            "topReviews": [public_review(review) for review in top]}


def publish_rating_if_changed(session: Session, plugin: Plugin) -> dict | None:
    """Write review.rating_changed when the summary differs from the last one sent; caller holds the lock."""
    session.flush()
    summary = rating_summary(session, plugin.id)
    if summary == plugin.rating_summary:
        return None
    plugin.rating_sequence = (plugin.rating_sequence or 0) + 1
    plugin.rating_summary = summary
    return events.record(session, events.RATING_CHANGED, events.rating_changed(plugin, summary), plugin.id)


# -- reviews ----------------------------------------------------------------
def create_review(session: Session, author: Identity, plugin_ref: str, data: dict) -> Review:
    """One review per account and plugin; a second one is 409 (edit it instead)."""
    plugin = find_plugin(session, plugin_ref, lock=True)
    existing = session.scalar(select(Review.id).where(Review.plugin_id == plugin.id,
                                                      Review.account_id == author.id))
    if existing is not None:
        raise conflict("You have already reviewed this plugin; edit your review with PATCH",
                       reason=REVIEW_EXISTS, reviewId=existing)
    now = utcnow()
    review = Review(
        id=f"review_{uuid.uuid4().hex[:20]}", plugin_id=plugin.id, account_id=author.id,
        user_name=author.name or author.id, user_avatar=avatar_url(author.email, author.id),
        rating=data["rating"], title=data.get("title", ""), text=data.get("review", ""),
        helpful_count=0, report_count=0, hidden=False, created_at=now, updated_at=now,
        verified_install=session.get(Installation, (author.id, plugin.id)) is not None,
    )
    session.add(review)
    try:
        session.flush()
    except IntegrityError as exc:  # a concurrent create on a database without row locks
        raise conflict("You have already reviewed this plugin", reason=REVIEW_EXISTS) from exc
    publish_rating_if_changed(session, plugin)
    return review


def get_review(session: Session, review_id: str, viewer: Identity | None) -> Review:
    review = session.get(Review, review_id)
    if review is None or not _visible_to(review, viewer):
        raise review_not_found(review_id)
    return review


_SORT_COLUMNS = {"recent": Review.created_at, "helpful": Review.helpful_count, "rating": Review.rating,
                 "reports": Review.report_count}


def _ordering(sort: str, order: str) -> list:
    primary = _SORT_COLUMNS[sort]
    ordering = [primary.asc() if order == "asc" else primary.desc()]
    if sort != "recent":
        ordering.append(Review.created_at.desc())
    ordering.append(Review.id)
    return ordering


def _page(session: Session, query, source, conditions: list, ordering: list, page: int,
          limit: int) -> tuple[list, int]:
    total = session.scalar(select(func.count()).select_from(source).where(*conditions))
    items = session.execute(query.where(*conditions).order_by(*ordering)
                            .offset((page - 1) * limit).limit(limit)).all()
    return list(items), int(total or 0)


def list_reviews(session: Session, plugin_ref: str, viewer: Identity | None, *, sort: str = "recent",
                 order: str = "desc", rating: int | None = None, mine: bool = False, page: int = 1,
                 limit: int = 20) -> tuple[list[Review], int]:
    """A page of the plugin's reviews; hidden ones only for administrators, and for `mine` (the caller's own)."""
    if mine and viewer is None:
        raise unauthorized("Sign in to find your own review")
    plugin = find_plugin(session, plugin_ref)
    conditions = [Review.plugin_id == plugin.id]
    if mine:
        conditions.append(Review.account_id == viewer.id)
    elif viewer is None or not viewer.is_admin:
        conditions.append(Review.hidden.is_(False))
    if rating is not None:
        conditions.append(Review.rating == rating)
    rows, total = _page(session, select(Review), Review, conditions, _ordering(sort, order), page, limit)
    return [review for (review,) in rows], total


def moderation_queue(session: Session, *, status: str | None = None, plugin_ref: str | None = None,
                     sort: str = "reports", order: str = "desc", page: int = 1,
                     limit: int = 20) -> tuple[list[tuple[Review, Plugin]], int]:
    """Reviews across every plugin for the administrators, each with its plugin (published or not)."""
    conditions = []
    if status == "reported":
        conditions += [Review.hidden.is_(False), Review.report_count > 0]
    elif status == "hidden":
        conditions.append(Review.hidden.is_(True))
    elif status == "visible":
        conditions.append(Review.hidden.is_(False))
    if plugin_ref is not None:
        conditions.append(or_(Review.plugin_id == plugin_ref, Plugin.name == plugin_ref))
    source = join(Review, Plugin, Plugin.id == Review.plugin_id)
    rows, total = _page(session, select(Review, Plugin).select_from(source), source, conditions,
                        _ordering(sort, order), page, limit)
    return [(review, plugin) for review, plugin in rows], total


def update_review(session: Session, author: Identity, review_id: str, changes: dict) -> Review:
    """The author edits rating, title or text; the author's current name and avatar come along."""
    review, plugin = _load_review_locked(session, review_id, author)
    if review.account_id != author.id:
        raise forbidden("Only the author may edit a review")
    if "rating" in changes:
        review.rating = changes["rating"]
    if "title" in changes:
        review.title = changes["title"]
    if "review" in changes:
        review.text = changes["review"]
    review.user_name = author.name or review.user_name
    review.user_avatar = avatar_url(author.email, author.id) if author.email else review.user_avatar
    review.updated_at = utcnow()
    publish_rating_if_changed(session, plugin)
    return review


def delete_review(session: Session, actor: Identity, review_id: str) -> None:
    """The author or an administrator deletes a review (with its votes and reports)."""
    review, plugin = _load_review_locked(session, review_id, actor)
    if review.account_id != actor.id and not actor.is_admin:
        raise forbidden("Only the author or an administrator may delete a review")
    session.delete(review)
    publish_rating_if_changed(session, plugin)


def vote_helpful(session: Session, voter: Identity, review_id: str) -> Review:
    """One helpful vote per account, never on one's own review."""
    review, plugin = _load_review_locked(session, review_id, voter)
    if review.account_id == voter.id:
        raise ApiError(403, FORBIDDEN, "You cannot vote for your own review", {"reason": OWN_REVIEW})
    if session.get(HelpfulVote, (review.id, voter.id)) is not None:
        raise conflict("You have already marked this review as helpful", reason=ALREADY_VOTED)
    session.add(HelpfulVote(review_id=review.id, account_id=voter.id, created_at=utcnow()))
    review.helpful_count += 1
    try:
        session.flush()
    except IntegrityError as exc:
        raise conflict("You have already marked this review as helpful", reason=ALREADY_VOTED) from exc
    publish_rating_if_changed(session, plugin)
    return review


def report_review(session: Session, reporter: Identity, review_id: str, reason: str) -> ReviewReport:
    """One report per account; moderators see the count."""
    review, _plugin = _load_review_locked(session, review_id, reporter)
    if review.account_id == reporter.id:
        raise ApiError(403, FORBIDDEN, "You cannot report your own review", {"reason": OWN_REVIEW})
    if session.get(ReviewReport, (review.id, reporter.id)) is not None:
        raise conflict("You have already reported this review", reason=ALREADY_REPORTED)
    report = ReviewReport(review_id=review.id, account_id=reporter.id, reason=reason, created_at=utcnow())
    session.add(report)
    review.report_count += 1
    try:
        session.flush()
    except IntegrityError as exc:
        raise conflict("You have already reported this review", reason=ALREADY_REPORTED) from exc
    return report


def hide_review(session: Session, admin: Identity, review_id: str, reason: str | None = None) -> Review:
    """An administrator hides a review: it leaves lists (but for admins) and the aggregate."""
    review, plugin = _load_review_locked(session, review_id, admin)
    if not review.hidden:
        review.hidden, review.hidden_at, review.hidden_by = True, utcnow(), admin.id
    if reason is not None:
        review.hidden_reason = reason
    publish_rating_if_changed(session, plugin)
    return review


def restore_review(session: Session, admin: Identity, review_id: str) -> Review:
    """An administrator makes a hidden review visible again."""
    review, plugin = _load_review_locked(session, review_id, admin)
    review.hidden, review.hidden_at, review.hidden_by, review.hidden_reason = False, None, None, None
    publish_rating_if_changed(session, plugin)
    return review


# -- facts from other services -----------------------------------------------
def plugin_published(session: Session, data: dict, at: datetime) -> Plugin:
    """Remember a published plugin; an older event than the last one applied changes nothing."""
    plugin = session.get(Plugin, data["pluginId"], with_for_update=True)
    if plugin is None:
        plugin = Plugin(id=data["pluginId"], published=False, rating_sequence=0)
        session.add(plugin)
    newer = plugin.status_changed_at is None or at >= plugin.status_changed_at
    if newer or plugin.name is None:
        plugin.name = data.get("name") or plugin.name
        plugin.display_name = data.get("displayName") or plugin.display_name
        plugin.owner_id = data.get("ownerId") or plugin.owner_id
    if newer:
        plugin.published = True
        plugin.status_changed_at = at
    return plugin


def plugin_unpublished(session: Session, data: dict, at: datetime) -> Plugin:
    """Forget that a plugin can be reviewed (its reviews stay); older events change nothing."""
    plugin = session.get(Plugin, data["pluginId"], with_for_update=True)
    if plugin is None:
        plugin = Plugin(id=data["pluginId"], published=False, rating_sequence=0, owner_id=data.get("ownerId"))
        session.add(plugin)
    if plugin.status_changed_at is None or at >= plugin.status_changed_at:
        plugin.published = False
        plugin.status_changed_at = at
    return plugin


def plugin_installed(session: Session, account_id: str, plugin_id: str, at: datetime) -> int:
    """Record that the account installed the plugin and mark its reviews verified; returns how many."""
    if session.get(Installation, (account_id, plugin_id)) is None:
        session.add(Installation(account_id=account_id, plugin_id=plugin_id, first_installed_at=at))
        session.flush()
    result = session.execute(update(Review)
                             .where(Review.account_id == account_id, Review.plugin_id == plugin_id,
                                    Review.verified_install.is_(False))
                             .values(verified_install=True))
    return result.rowcount
