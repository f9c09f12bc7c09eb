"""Request schemas (marshmallow): what each route accepts, with the spec's defaults and bounds."""

import re

import marshmallow as ma
from marshmallow import fields, validate

from .semver import normalize_version, valid_range

SLUG = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,98}[a-z0-9])?$")
TAG = re.compile(r"^[a-z0-9][a-z0-9.+-]{0,49}$")
CATEGORY = re.compile(r"^[a-z0-9][a-z0-9-]{0,49}$")
PERMISSION = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,99}$")
SORTS = ("name", "popularity", "updated", "rating")
PRICING_MODELS = ("free", "paid", "freemium")


def _url(**kwargs):
    return fields.Url(schemes={"http", "https"}, validate=validate.Length(max=500), **kwargs)


def _range_field(**kwargs):
    def check(value):
        if not valid_range(value):
            raise ma.ValidationError("Not a valid semver range.")

    return fields.String(validate=[validate.Length(max=200), check], **kwargs)


def _check_version(value: str):
    if normalize_version(value) is None:
        raise ma.ValidationError("Not a semantic version (e.g. 1.2.3 or 0.2).")


class StrictSchema(ma.Schema):
    class Meta:
        unknown = ma.RAISE


class AuthorSchema(StrictSchema):
    url = _url(allow_none=True)


class SupportSchema(StrictSchema):
    email = fields.Email(allow_none=True, validate=validate.Length(max=320))
    documentation = _url(allow_none=True)
    issues = _url(allow_none=True)


class SourceStatsSchema(StrictSchema):
    stars = fields.Integer(validate=validate.Range(min=0))
    forks = fields.Integer(validate=validate.Range(min=0))
    issues = fields.Integer(validate=validate.Range(min=0))
    contributors = fields.Integer(validate=validate.Range(min=0))
    lastCommit = fields.AwareDateTime(allow_none=True, default_timezone=None)


class PricingSchema(StrictSchema):
    model = fields.String(required=True, validate=validate.OneOf(PRICING_MODELS))
    price = fields.Float(validate=validate.Range(min=0, max=1_000_000))
    currency = fields.String(validate=validate.Regexp(r"^[A-Z]{3}$"), allow_none=True)

    @ma.validates_schema
    def _paid_has_price(self, data, **_kwargs):
        if data["model"] == "free" and data.get("price"):
            raise ma.ValidationError("A free plugin has no price.", "price")
        if data["model"] == "paid" and not data.get("price"):
            raise ma.ValidationError("A paid plugin needs a price.", "price")


class PluginFieldsSchema(StrictSchema):
    """Fields a publisher may set on create and change with PATCH."""

    displayName = fields.String(validate=validate.Length(min=1, max=200))
    description = fields.String(validate=validate.Length(min=1, max=500))
    longDescription = fields.String(validate=validate.Length(max=100_000))
    category = fields.String(validate=validate.Regexp(CATEGORY, error="Lower-case letters, digits and hyphens."))
    tags = fields.List(fields.String(validate=validate.Regexp(TAG, error="Lower-case tag of at most 50 characters.")),
                       validate=validate.Length(max=20))
    icon = _url(allow_none=True)
    screenshots = fields.List(_url(), validate=validate.Length(max=20))
    videos = fields.List(_url(), validate=validate.Length(max=10))
    repository = _url(allow_none=True)
    homepage = _url(allow_none=True)
    documentation = _url(allow_none=True)
    changelog = _url(allow_none=True)
    license = fields.String(validate=validate.Length(max=200))
    installationInstructions = fields.String(validate=validate.Length(max=20_000))
    features = fields.List(fields.String(validate=validate.Length(min=1, max=200)), validate=validate.Length(max=50))
    support = fields.Nested(SupportSchema)
    stats = fields.Nested(SourceStatsSchema)
    pricing = fields.Nested(PricingSchema)
    author = fields.Nested(AuthorSchema)
    # Admin only.
    verified = fields.Boolean()
    featured = fields.Boolean()


class PluginCreateSchema(PluginFieldsSchema):
    name = fields.String(required=True, validate=validate.Regexp(
        SLUG, error="A slug: 1-100 lower-case letters, digits and hyphens, not starting or ending with a hyphen."))
    displayName = fields.String(validate=validate.Length(min=1, max=200))
    description = fields.String(required=True, validate=validate.Length(min=1, max=500))
    category = fields.String(required=True,
                             validate=validate.Regexp(CATEGORY, error="Lower-case letters, digits and hyphens."))


class PluginUpdateSchema(PluginFieldsSchema):
    pass


class CompatibilitySchema(StrictSchema):
    backstage = _range_field(allow_none=True)
    node = _range_field(allow_none=True)
    platform = fields.List(fields.String(validate=validate.Length(min=1, max=50)), validate=validate.Length(max=20))


class DependencySchema(StrictSchema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=214))
    version = _range_field(required=True)


class ConfigurationSchema(StrictSchema):
    schema = fields.Dict(load_default=dict)
    defaults = fields.Dict(load_default=dict)
    examples = fields.List(fields.Raw(), load_default=list, validate=validate.Length(max=20))


class VersionMetadataSchema(StrictSchema):
    version = fields.String(required=True, validate=[
        validate.Length(max=100), _check_version])
    changelog = fields.String(load_default="", validate=validate.Length(max=100_000))
    compatibility = fields.Nested(CompatibilitySchema, load_default=dict)
    dependencies = fields.List(fields.Nested(DependencySchema), load_default=list, validate=validate.Length(max=100))
    configuration = fields.Nested(ConfigurationSchema, load_default=dict)
    permissions = fields.List(fields.String(validate=validate.Regexp(PERMISSION)), load_default=list,
                              validate=validate.Length(max=100))


class ReasonSchema(StrictSchema):
    reason = fields.String(required=True, validate=validate.Length(min=1, max=1000))


class DeprecateSchema(StrictSchema):
    reason = fields.String(required=True, validate=validate.Length(min=1, max=1000))
    replacement = fields.String(allow_none=True, validate=validate.Length(max=100))


def _compat_value(value: str):
    if normalize_version(value) is None and not valid_range(value):
        raise ma.ValidationError("Not a semantic version or range.")


class TagList(fields.String):
    """Comma-separated tags in a query string."""

    def _deserialize(self, value, attr, data, **kwargs):
        text = super()._deserialize(value, attr, data, **kwargs)
        tags = [tag.strip().lower() for tag in text.split(",") if tag.strip()]
        if len(tags) > 20:
            raise ma.ValidationError("At most 20 tags.")
        for tag in tags:
            if not TAG.match(tag):
                raise ma.ValidationError(f"Invalid tag '{tag[:50]}'.")
        return tags


class ListArgsSchema(ma.Schema):
    @ma.pre_load
    def _drop_empty(self, data, **_kwargs):
        # `?category=&tags=` from a form means "no filter", not an invalid one.
        return {key: data[key] for key in data if data[key] != ""}

    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=1_000_000))
    limit = fields.Integer(load_default=20, validate=validate.Range(min=1, max=100))
    search = fields.String(validate=validate.Length(min=1, max=200))
    category = fields.String(validate=validate.Regexp(CATEGORY, error="Not a valid category."))
    tags = TagList()
    sort = fields.String(load_default="popularity", validate=validate.OneOf(SORTS))
    order = fields.String(load_default="desc", validate=validate.OneOf(("asc", "desc")))
    verified = fields.Boolean()
    featured = fields.Boolean()
    minRating = fields.Float(validate=validate.Range(min=0, max=5))
    compatibility = fields.String(validate=[validate.Length(max=200), _compat_value])


class SearchCompatibilitySchema(StrictSchema):
    backstage = fields.String(validate=[validate.Length(max=200), _compat_value])
    node = fields.String(validate=[validate.Length(max=200), _compat_value])


class SearchFiltersSchema(StrictSchema):
    categories = fields.List(fields.String(validate=validate.Regexp(CATEGORY)), validate=validate.Length(max=50))
    tags = fields.List(fields.String(validate=validate.Regexp(TAG)), validate=validate.Length(max=20))
    minRating = fields.Float(validate=validate.Range(min=0, max=5))
    maxPrice = fields.Float(validate=validate.Range(min=0))
    verified = fields.Boolean()
    featured = fields.Boolean()
    compatibility = fields.Nested(SearchCompatibilitySchema)


class SearchSortSchema(StrictSchema):
    field = fields.String(load_default="relevance", validate=validate.OneOf(("relevance",) + SORTS))
    order = fields.String(load_default="desc", validate=validate.OneOf(("asc", "desc")))


class SearchPaginationSchema(StrictSchema):
    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=1_000_000))
    limit = fields.Integer(load_default=20, validate=validate.Range(min=1, max=100))


class SearchSchema(StrictSchema):
    query = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=200))
    filters = fields.Nested(SearchFiltersSchema, load_default=dict)
    sort = fields.Nested(SearchSortSchema, load_default=lambda: {"field": "relevance", "order": "desc"})
    pagination = fields.Nested(SearchPaginationSchema, load_default=lambda: {"page": 1, "limit": 20})


class PageArgsSchema(ma.Schema):
    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=1_000_000))
    limit = fields.Integer(load_default=20, validate=validate.Range(min=1, max=100))


class TelemetrySchema(StrictSchema):
    installationId = fields.String(validate=validate.Regexp(r"^[A-Za-z0-9_.:-]{1,64}$"))
    activeUsers = fields.Integer(load_default=0, validate=validate.Range(min=0, max=10_000_000))
    apiCalls = fields.Integer(load_default=0, validate=validate.Range(min=0, max=1_000_000_000))
    requests = fields.Integer(load_default=0, validate=validate.Range(min=0, max=1_000_000_000))
    errors = fields.Integer(load_default=0, validate=validate.Range(min=0, max=1_000_000_000))
    responseTimesMs = fields.List(fields.Float(validate=validate.Range(min=0, max=600_000)), load_default=list,
                                  validate=validate.Length(max=1000))
    healthy = fields.Boolean(load_default=True)

    @ma.validates_schema
    def _errors_within_requests(self, data, **_kwargs):
        if data.get("errors", 0) > data.get("requests", 0):
            raise ma.ValidationError("Cannot exceed 'requests'.", "errors")


# --- response shapes (documentation only: views build the dictionaries) ----------------------------

class _Doc(ma.Schema):
    pass


class RatingSummaryDoc(_Doc):
    average = fields.Float()
    count = fields.Integer()


class AuthorDoc(_Doc):
    id = fields.String()
    name = fields.String()
    email = fields.String()
    url = fields.String(allow_none=True)
    verified = fields.Boolean()


class CompatibilityDoc(_Doc):
    backstage = fields.String(allow_none=True)
    node = fields.String(allow_none=True)
    platform = fields.List(fields.String())


class PricingDoc(_Doc):
    model = fields.String()
    price = fields.Float()
    currency = fields.String()


class PluginSummaryDoc(_Doc):
    id = fields.String()
    name = fields.String()
    displayName = fields.String()
    description = fields.String()
    version = fields.String(allow_none=True)
    author = fields.Nested(AuthorDoc)
    category = fields.String()
    tags = fields.List(fields.String())
    icon = fields.String(allow_none=True)
    verified = fields.Boolean()
    featured = fields.Boolean()
    rating = fields.Nested(RatingSummaryDoc)
    downloads = fields.Integer()
    compatibility = fields.Nested(CompatibilityDoc)
    pricing = fields.Nested(PricingDoc)
    deprecated = fields.Boolean()
    updatedAt = fields.String()


class PaginationDoc(_Doc):
    page = fields.Integer()
    limit = fields.Integer()
    total = fields.Integer()
    totalPages = fields.Integer()
    hasNextPage = fields.Boolean()
    hasPrevPage = fields.Boolean()


class LinksDoc(_Doc):
    self_ = fields.String(data_key="self")
    first = fields.String()
    prev = fields.String()
    next = fields.String()
    last = fields.String()


class MetadataDoc(_Doc):
    version = fields.String()
    timestamp = fields.String()
    requestId = fields.String()
    responseTime = fields.Integer()


class PluginListDoc(_Doc):
    data = fields.List(fields.Nested(PluginSummaryDoc))
    pagination = fields.Nested(PaginationDoc)
    links = fields.Nested(LinksDoc)
    metadata = fields.Nested(MetadataDoc)


class PackageDoc(_Doc):
    url = fields.String()
    filename = fields.String()
    format = fields.String()
    size = fields.Integer()
    sha256 = fields.String()
    integrity = fields.String()


class VersionDoc(_Doc):
    version = fields.String()
    releaseDate = fields.String()
    changelog = fields.String()
    compatibility = fields.Nested(CompatibilityDoc)
    dependencies = fields.List(fields.Dict())
    permissions = fields.List(fields.String())
    yanked = fields.Boolean()
    yankReason = fields.String(allow_none=True)
    downloads = fields.Integer()
    package = fields.Nested(PackageDoc)


class VersionListDoc(_Doc):
    data = fields.List(fields.Nested(VersionDoc))
    pagination = fields.Nested(PaginationDoc)
    links = fields.Nested(LinksDoc)
    metadata = fields.Nested(MetadataDoc)


class PluginDetailDataDoc(PluginSummaryDoc):
    longDescription = fields.String()
    screenshots = fields.List(fields.String())
    videos = fields.List(fields.String())
    repository = fields.String(allow_none=True)
    homepage = fields.String(allow_none=True)
    documentation = fields.String(allow_none=True)
    changelog = fields.String(allow_none=True)
    license = fields.String()
    status = fields.String()
    rating = fields.Dict()
    downloads = fields.Dict()
    versions = fields.List(fields.Nested(VersionDoc))
    dependencies = fields.List(fields.Dict())
    configuration = fields.Dict()
    permissions = fields.List(fields.String())
    features = fields.List(fields.String())
    support = fields.Dict()
    stats = fields.Dict()


class PluginDetailDoc(_Doc):
    data = fields.Nested(PluginDetailDataDoc)
    links = fields.Dict()


class CountDoc(_Doc):
    name = fields.String()
    count = fields.Integer()


class CountListDoc(_Doc):
    data = fields.List(fields.Nested(CountDoc))
    metadata = fields.Nested(MetadataDoc)


class StatsDoc(_Doc):
    data = fields.Dict(metadata={"description": "usage, performance, trends (and downloads)"})
