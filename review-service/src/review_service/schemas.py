"""Request and response schemas of the review routes (marshmallow)."""

import marshmallow as ma
from marshmallow import validate

from marketplace_shared.api import JsonInteger
from marketplace_shared.pagination import PageArgsSchema, page_schema

TITLE_MAX_LENGTH = 120
TEXT_MAX_LENGTH = 5000
REASON_MAX_LENGTH = 1000
SORTS = ("recent", "helpful", "rating")
MODERATION_SORTS = ("reports", *SORTS)
# reported: visible and reported at least once (waiting for a moderator); hidden; visible (reported or not).
STATUSES = ("reported", "hidden", "visible")


def _rating(**kwargs):
    # strict: 4.5, 4.0, "4" and true are not ratings.
    return JsonInteger(validate=validate.Range(min=1, max=5), **kwargs)


class ReviewCreateSchema(ma.Schema):
    rating = _rating(required=True)
    title = ma.fields.String(load_default="", validate=validate.Length(max=TITLE_MAX_LENGTH))
    review = ma.fields.String(load_default="", validate=validate.Length(max=TEXT_MAX_LENGTH))

    class Meta:
        unknown = ma.RAISE


class ReviewUpdateSchema(ma.Schema):
    rating = _rating()
    title = ma.fields.String(validate=validate.Length(max=TITLE_MAX_LENGTH))
    review = ma.fields.String(validate=validate.Length(max=TEXT_MAX_LENGTH))

    class Meta:
        unknown = ma.RAISE
        json_schema = {"minProperties": 1}

    @ma.validates_schema
    def _not_empty(self, data, **_kwargs):
        if not data:
            raise ma.ValidationError("Give at least one of rating, title, review.", "_schema")


class ReportSchema(ma.Schema):
    reason = ma.fields.String(required=True, validate=validate.Length(min=1, max=REASON_MAX_LENGTH))

    class Meta:
        unknown = ma.RAISE


class ModerationSchema(ma.Schema):
    reason = ma.fields.String(validate=validate.Length(max=REASON_MAX_LENGTH))

    class Meta:
        unknown = ma.RAISE


class ReviewQueryArgsSchema(PageArgsSchema):
    sort = ma.fields.String(load_default="recent", validate=validate.OneOf(SORTS))
    order = ma.fields.String(load_default="desc", validate=validate.OneOf(("asc", "desc")))
    rating = ma.fields.Integer(validate=validate.Range(min=1, max=5), metadata={"description": "Only this rating"})
    mine = ma.fields.Boolean(load_default=False, metadata={
        "description": "Only the caller's own review of the plugin (hidden or not); needs sign-in (401 otherwise)"})


class ModerationQueryArgsSchema(PageArgsSchema):
    status = ma.fields.String(validate=validate.OneOf(STATUSES), metadata={
        "description": "reported: visible reviews reported at least once; hidden; visible. Every review when left out"})
    pluginId = ma.fields.String(validate=validate.Length(min=1, max=214),
                                metadata={"description": "Only this plugin's reviews (its id or name)"})
    sort = ma.fields.String(load_default="reports", validate=validate.OneOf(MODERATION_SORTS),
                            metadata={"description": "reports: most reported first"})
    order = ma.fields.String(load_default="desc", validate=validate.OneOf(("asc", "desc")))


class ReviewPluginSchema(ma.Schema):
    id = ma.fields.String()
    name = ma.fields.String(allow_none=True)
    displayName = ma.fields.String(allow_none=True)


class ReviewUserSchema(ma.Schema):
    id = ma.fields.String()
    name = ma.fields.String()
    avatar = ma.fields.String()


class ReviewSchema(ma.Schema):
    id = ma.fields.String()
    pluginId = ma.fields.String()
    rating = ma.fields.Integer()
    title = ma.fields.String()
    review = ma.fields.String()
    user = ma.fields.Nested(ReviewUserSchema)
    createdAt = ma.fields.String()
    updatedAt = ma.fields.String()
    helpful = ma.fields.Integer()
    verifiedInstall = ma.fields.Boolean()
    hidden = ma.fields.Boolean()
    moderation = ma.fields.Dict(metadata={"description": "Administrators only: reports and hiding"})


class ModerationReviewSchema(ReviewSchema):
    plugin = ma.fields.Nested(ReviewPluginSchema, metadata={"description": "The reviewed plugin, to link to it"})


class ReviewResponseSchema(ma.Schema):
    data = ma.fields.Nested(ReviewSchema)


ReviewListResponseSchema = page_schema("ReviewListResponseSchema", ReviewSchema)


ModerationListResponseSchema = page_schema("ModerationListResponseSchema", ModerationReviewSchema)


class ReportResponseSchema(ma.Schema):
    data = ma.fields.Dict()
