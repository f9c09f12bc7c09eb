"""Request schemas (marshmallow): what each route accepts, with the spec's defaults and bounds."""

import re

import marshmallow as ma
from marshmallow import fields, validate

from marketplace_shared.api import JsonBoolean, JsonFloat, JsonInteger
from marketplace_shared.pagination import PageArgsSchema

from .semver import normalize_version, valid_range

SLUG = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,98}[a-z0-9])?$")
TAG = re.compile(r"^[a-z0-9][a-z0-9.+-]{0,49}$")
CATEGORY = re.compile(r"^[a-z0-9][a-z0-9-]{0,49}$")
PERMISSION = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,99}$")
SORTS = ("name", "popularity", "updated", "rating")
PRICING_MODELS = ("free", "paid", "freemium")
# What a URL field accepts, exactly as the OpenAPI document states it (a pattern, not marshmallow's Url rules).
_PCHAR = r"(?:[A-Za-z0-9._~!$&'()*+,;=:@-]|%[0-9A-Fa-f]{2})"  # RFC 3986
URL_PATTERN = (r"^https?://[A-Za-z0-9](?:[A-Za-z0-9.-]{0,251}[A-Za-z0-9])?(?::[0-9]{1,5})?"
               rf"(?:/(?:{_PCHAR}|/)*)?(?:\?(?:{_PCHAR}|[/?])*)?(?:#(?:{_PCHAR}|[/?])*)?$")
TAG_TEXT = r"[A-Za-z0-9][A-Za-z0-9.+-]{0,49}"
# `?tags=a,b`: 1-20 comma-separated tags (case-insensitive).
TAGS_PATTERN = rf"^\s*{TAG_TEXT}\s*(?:,\s*{TAG_TEXT}\s*){{0,19}}$"
TAGS_OR_EMPTY = rf"^(?:{TAGS_PATTERN[1:-1]})?$"  # "" is no filter


def _url(**kwargs):
    return fields.String(validate=[validate.Length(max=500), validate.Regexp(URL_PATTERN, error="Not a valid URL.")],
                         metadata={"format": "uri"}, **kwargs)


# The characters of an npm semver range; the grammar itself (node-semver's) is checked by the service.
SEMVER_TEXT = r"^[0-9A-Za-z.*^~<>=|+ -]{1,200}$"
_semver_text = validate.Regexp(SEMVER_TEXT, error="Not a semantic version or range.")


def _range_field(**kwargs):
    def check(value):
        if not valid_range(value):
            raise ma.ValidationError("Not a valid semver range.")

    return fields.String(validate=[validate.Length(max=200), _semver_text, check],
                         metadata={"description": "An npm semver range (node-semver's grammar)"}, **kwargs)


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
    stars = JsonInteger(validate=validate.Range(min=0))
    forks = JsonInteger(validate=validate.Range(min=0))
    issues = JsonInteger(validate=validate.Range(min=0))
    contributors = JsonInteger(validate=validate.Range(min=0))
    lastCommit = fields.AwareDateTime(allow_none=True, default_timezone=None)


class PricingSchema(StrictSchema):
    class Meta:
        unknown = ma.RAISE
        # _paid_has_price, for the document: free has no price (or 0), paid a positive one.
        json_schema = {"anyOf": [
            {"properties": {"model": {"enum": ["freemium"]}}},
            {"properties": {"model": {"enum": ["free"]}, "price": {"maximum": 0}}},
            {"properties": {"model": {"enum": ["paid"]}, "price": {"minimum": 0, "exclusiveMinimum": True}},
             "required": ["price"]}]}

    model = fields.String(required=True, validate=validate.OneOf(PRICING_MODELS))
    price = JsonFloat(validate=validate.Range(min=0, max=1_000_000))
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
    compatibility = fields.Nested("CompatibilitySchema", metadata={"description": (
        "The plugin's default compatibility: a version that declares no `backstage`, `node` or `platform` "
        "inherits the plugin's. PATCH merges: the fields sent replace the default's; `null` (`[]` for "
        "`platform`) removes one.")})
    # Admin only.
    verified = JsonBoolean()
    featured = JsonBoolean()


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

    def __init__(self, **kwargs):
        super().__init__(metadata={"pattern": TAGS_OR_EMPTY}, **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        text = super()._deserialize(value, attr, data, **kwargs)
        if not re.match(TAGS_PATTERN, text):
            raise ma.ValidationError("1-20 comma-separated tags.")
        return [tag.strip().lower() for tag in text.split(",") if tag.strip()]


class ListArgsSchema(PageArgsSchema):
    FILTERS = ("search", "category", "tags", "compatibility")

    @ma.pre_load
    def _drop_empty(self, data, **_kwargs):
        # `?category=&tags=` from a form means "no filter", not an invalid one (the document allows "").
        return {key: data[key] for key in data if not (key in self.FILTERS and data[key] == "")}

    search = fields.String(validate=validate.Length(max=200))
    category = fields.String(validate=validate.Regexp(CATEGORY, error="Not a valid category."),
                             metadata={"pattern": f"^(?:{CATEGORY.pattern[1:-1]})?$"})
    tags = TagList()
    sort = fields.String(load_default="popularity", validate=validate.OneOf(SORTS))
    order = fields.String(load_default="desc", validate=validate.OneOf(("asc", "desc")))
    verified = fields.Boolean()
    featured = fields.Boolean()
    minRating = fields.Float(validate=validate.Range(min=0, max=5))
    compatibility = fields.String(validate=[validate.Length(max=200), _semver_text, _compat_value],
                                  metadata={"description": "A version or an npm semver range",
                                            "pattern": f"^(?:{SEMVER_TEXT[1:-1]})?$"})


class SearchCompatibilitySchema(StrictSchema):
    backstage = fields.String(validate=[validate.Length(max=200), _semver_text, _compat_value],
                              metadata={"description": "A version or an npm semver range"})
    node = fields.String(validate=[validate.Length(max=200), _semver_text, _compat_value],
                         metadata={"description": "A version or an npm semver range"})


class SearchFiltersSchema(StrictSchema):
    categories = fields.List(fields.String(validate=validate.Regexp(CATEGORY)), validate=validate.Length(max=50))
    tags = fields.List(fields.String(validate=validate.Regexp(TAG)), validate=validate.Length(max=20))
    minRating = JsonFloat(validate=validate.Range(min=0, max=5))
    maxPrice = JsonFloat(validate=validate.Range(min=0))
    verified = JsonBoolean()
    featured = JsonBoolean()
    compatibility = fields.Nested(SearchCompatibilitySchema)


class SearchSortSchema(StrictSchema):
    field = fields.String(load_default="relevance", validate=validate.OneOf(("relevance",) + SORTS))
    order = fields.String(load_default="desc", validate=validate.OneOf(("asc", "desc")))


class SearchPaginationSchema(StrictSchema):
    page = JsonInteger(load_default=1, validate=validate.Range(min=1, max=1_000_000))
    limit = JsonInteger(load_default=20, validate=validate.Range(min=1, max=100))


# Facets: asked for with `facets=true` (list) or `"facets": true` (search).
FACETS_DESCRIPTION = ("Add `facets` to the response: exact counts of the matching public plugins per category, "
                      "tag (the 30 most frequent), verified and featured. Each facet applies every other active "
                      "filter but not its own (a category's count is what choosing it instead would give); tags "
                      "apply the chosen tags too (a tag's count is what adding it would give).")


class ListWithFacetsArgsSchema(ListArgsSchema):
    facets = fields.Boolean(load_default=False, metadata={"description": FACETS_DESCRIPTION})


class SearchSchema(StrictSchema):
    query = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=200))
    filters = fields.Nested(SearchFiltersSchema, load_default=dict)
    sort = fields.Nested(SearchSortSchema, load_default=lambda: {"field": "relevance", "order": "desc"})
    pagination = fields.Nested(SearchPaginationSchema, load_default=lambda: {"page": 1, "limit": 20})
    facets = JsonBoolean(load_default=False, metadata={"description": FACETS_DESCRIPTION})


class TelemetrySchema(StrictSchema):
    installationId = fields.String(validate=validate.Regexp(r"^[A-Za-z0-9_.:-]{1,64}$"))
    activeUsers = JsonInteger(load_default=0, validate=validate.Range(min=0, max=10_000_000))
    apiCalls = JsonInteger(load_default=0, validate=validate.Range(min=0, max=1_000_000_000))
    requests = JsonInteger(load_default=0, validate=validate.Range(min=0, max=1_000_000_000))
    errors = JsonInteger(load_default=0, validate=validate.Range(min=0, max=1_000_000_000))
    responseTimesMs = fields.List(JsonFloat(validate=validate.Range(min=0, max=600_000)), load_default=list,
                                  validate=validate.Length(max=1000))
    healthy = JsonBoolean(load_default=True)

    @ma.validates_schema
    def _errors_within_requests(self, data, **_kwargs):
        if data.get("errors", 0) > data.get("requests", 0):
            raise ma.ValidationError("Cannot exceed 'requests'.", "errors")
