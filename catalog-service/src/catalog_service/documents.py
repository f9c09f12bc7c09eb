"""Response shapes of the catalog's API, and its multipart and binary bodies: documentation only
(representations.py builds the dictionaries). Every field the service sends is listed and required (nullable where
it can be null), and no other is allowed: the contract fuzz test fails when a representation and its document
drift apart."""

import marshmallow as ma
from marshmallow import fields, validate

from marketplace_shared.pagination import LinksSchema, MetadataSchema, PaginationSchema

from .schemas import FACETS_DESCRIPTION, PRICING_MODELS


def _s(**kwargs):
    return fields.String(required=True, **kwargs)


def _i(**kwargs):
    return fields.Integer(required=True, **kwargs)


def _b():
    return fields.Boolean(required=True)


def _n(schema, **kwargs):
    return fields.Nested(schema, required=True, **kwargs)


def _strings():
    return fields.List(fields.String(), required=True)


class _Doc(ma.Schema):
    pass


class RatingSummaryDoc(_Doc):
    average = fields.Float(required=True)
    count = _i()


class AuthorSummaryDoc(_Doc):
    name = _s(allow_none=True)
    email = _s(allow_none=True)
    url = _s(allow_none=True)


class AuthorDoc(AuthorSummaryDoc):
    id = _s()
    verified = _b()


class CompatibilityDoc(_Doc):
    backstage = _s(allow_none=True)
    node = _s(allow_none=True)
    platform = _strings()


class PricingDoc(_Doc):
    model = _s(validate=validate.OneOf(PRICING_MODELS))
    price = fields.Float(allow_none=True)
    currency = fields.String(allow_none=True)


class PluginSummaryDoc(_Doc):
    id = _s()
    name = _s()
    displayName = _s()
    description = _s()
    version = _s(allow_none=True)
    author = _n(AuthorSummaryDoc)
    category = _s()
    tags = _strings()
    icon = _s(allow_none=True)
    verified = _b()
    featured = _b()
    rating = _n(RatingSummaryDoc)
    downloads = _i()
    compatibility = _n(CompatibilityDoc)
    pricing = _n(PricingDoc)
    deprecated = _b()
    updatedAt = _s(allow_none=True, metadata={"format": "date-time"})


class FacetValueDoc(ma.Schema):
    value = fields.String(required=True)
    count = fields.Integer(required=True)


class FacetsDoc(ma.Schema):
    category = fields.List(fields.Nested(FacetValueDoc), required=True)
    tags = fields.List(fields.Nested(FacetValueDoc), required=True)
    verified = fields.List(fields.Nested(FacetValueDoc), required=True,
                           metadata={"description": "Values `true` and `false`"})
    featured = fields.List(fields.Nested(FacetValueDoc), required=True,
                           metadata={"description": "Values `true` and `false`"})


class PluginListDoc(_Doc):
    data = fields.List(fields.Nested(PluginSummaryDoc), required=True)
    pagination = _n(PaginationSchema)
    links = _n(LinksSchema)
    metadata = _n(MetadataSchema)
    facets = fields.Nested(FacetsDoc, metadata={"description": "Only when asked for: " + FACETS_DESCRIPTION})


class PackageDoc(_Doc):
    url = _s()
    filename = _s(allow_none=True)
    format = _s(allow_none=True)
    size = _i(allow_none=True)
    sha256 = _s(allow_none=True)
    integrity = _s(allow_none=True)


class DependencyDoc(_Doc):
    name = _s()
    version = _s()


class VersionDoc(_Doc):
    version = _s()
    releaseDate = _s(allow_none=True, metadata={"format": "date-time"})
    changelog = _s(allow_none=True)
    compatibility = _n(CompatibilityDoc)
    dependencies = fields.List(fields.Nested(DependencyDoc), required=True)
    permissions = _strings()
    yanked = _b()
    yankReason = _s(allow_none=True)
    yankedAt = _s(allow_none=True, metadata={"format": "date-time"})
    downloads = _i()
    package = _n(PackageDoc)


class VersionListDoc(_Doc):
    data = fields.List(fields.Nested(VersionDoc), required=True)
    pagination = _n(PaginationSchema)
    links = _n(LinksSchema)
    metadata = _n(MetadataSchema)


class PluginLinksDoc(_Doc):
    self_ = _s(data_key="self")
    install = _s()
    reviews = _s()
    versions = _s()
    stats = _s()


class VersionOneDoc(_Doc):
    data = _n(VersionDoc)


class VersionCreatedDoc(_Doc):
    data = _n(VersionDoc)
    links = _n(PluginLinksDoc)


class DeprecationDoc(_Doc):
    reason = _s(allow_none=True)
    replacement = _s(allow_none=True)
    deprecatedAt = _s(allow_none=True, metadata={"format": "date-time"})


class RatingDetailDoc(RatingSummaryDoc):
    distribution = fields.Dict(keys=fields.String(validate=validate.OneOf(("5", "4", "3", "2", "1"))),
                               values=fields.Integer(), required=True)
    reviews = fields.List(fields.Dict(), required=True)


class DownloadsDoc(_Doc):
    total = _i()
    monthly = _i()
    weekly = _i()
    daily = _i()


class InstallationCountsDoc(_Doc):
    total = _i()
    active = _i()


class ConfigurationDoc(_Doc):
    schema = fields.Dict(required=True)
    defaults = fields.Dict(required=True)
    examples = fields.List(fields.Raw(), required=True)


class SupportDoc(_Doc):
    email = _s(allow_none=True)
    documentation = _s(allow_none=True)
    issues = _s(allow_none=True)


class SourceStatsDoc(_Doc):
    stars = _i()
    forks = _i()
    issues = _i()
    contributors = _i()
    lastCommit = _s(allow_none=True)


class PluginDetailDataDoc(_Doc):
    id = _s()
    name = _s()
    displayName = _s()
    description = _s()
    longDescription = _s(allow_none=True)
    version = _s(allow_none=True)
    author = _n(AuthorDoc)
    category = _s()
    tags = _strings()
    icon = _s(allow_none=True)
    screenshots = _strings()
    videos = _strings()
    repository = _s(allow_none=True)
    homepage = _s(allow_none=True)
    documentation = _s(allow_none=True)
    changelog = _s(allow_none=True)
    license = _s(allow_none=True)
    installationInstructions = _s(allow_none=True)
    verified = _b()
    featured = _b()
    status = _s(validate=validate.OneOf(("published", "unpublished")))
    deprecation = _n(DeprecationDoc, allow_none=True)
    rating = _n(RatingDetailDoc)
    downloads = _n(DownloadsDoc)
    installations = _n(InstallationCountsDoc)
    versions = fields.List(fields.Nested(VersionDoc), required=True)
    dependencies = fields.List(fields.Nested(DependencyDoc), required=True)
    configuration = _n(ConfigurationDoc)
    permissions = _strings()
    features = _strings()
    support = _n(SupportDoc)
    stats = _n(SourceStatsDoc)
    compatibility = _n(CompatibilityDoc)
    pricing = _n(PricingDoc)
    createdAt = _s(allow_none=True, metadata={"format": "date-time"})
    updatedAt = _s(allow_none=True, metadata={"format": "date-time"})


class PluginDetailDoc(_Doc):
    data = _n(PluginDetailDataDoc)
    links = _n(PluginLinksDoc)


class CountDoc(_Doc):
    name = _s()
    count = _i()


class CountListDoc(_Doc):
    data = fields.List(fields.Nested(CountDoc), required=True)
    metadata = _n(MetadataSchema)


class StatsDoc(_Doc):
    data = fields.Dict(required=True, metadata={"description": "usage, performance, trends (and downloads)"})


class ImagesDataDoc(_Doc):
    icon = _s(allow_none=True)
    screenshots = _strings()


class ImagesDoc(_Doc):
    data = _n(ImagesDataDoc)


class TelemetryAcceptedDataDoc(_Doc):
    accepted = _b()
    pluginId = _s()


class TelemetryAcceptedDoc(_Doc):
    data = _n(TelemetryAcceptedDataDoc)


VERSION_UPLOAD = {"required": True, "content": {"multipart/form-data": {
    "schema": {"type": "object", "required": ["metadata", "package"], "properties": {
        "metadata": {"type": "string", "description": "The version's metadata: a JSON object (VersionMetadata)"},
        "package": {"type": "string", "format": "binary",
                    "description": "The package: .tgz, .zip or .jar (checked by its bytes)"}}},
    "encoding": {"metadata": {"contentType": "application/json"}}}}}
IMAGES_UPLOAD = {"required": True, "content": {"multipart/form-data": {
    "schema": {"type": "object", "minProperties": 1, "properties": {
        "icon": {"type": "string", "format": "binary"},
        "screenshots": {"type": "array", "items": {"type": "string", "format": "binary"}, "maxItems": 20,
                        "description": "At most MAX_SCREENSHOTS (20) per plugin"}}},
    "encoding": {"icon": {"contentType": "image/png, image/jpeg, image/gif, image/webp"},
                 "screenshots": {"contentType": "image/png, image/jpeg, image/gif, image/webp"}}}}}
PACKAGE_CONTENT = {media: {"schema": {"type": "string", "format": "binary"}}
                   for media in ("application/gzip", "application/zip", "application/java-archive")}
IMAGE_CONTENT = {media: {"schema": {"type": "string", "format": "binary"}}
                 for media in ("image/png", "image/jpeg", "image/gif", "image/webp")}


class BlueMindVersionDoc(_Doc):
    version = _s()
    target_bm_versions = _s()
    release_notes = _s(allow_none=True)
    date = _s(allow_none=True, metadata={"format": "date-time"})
    yanked = _b()
    package = _s()
    size = _i(allow_none=True)
    sha256 = _s(allow_none=True)
    integrity = _s(allow_none=True)


class BlueMindVersionCreatedDoc(BlueMindVersionDoc):
    plugin_id = _s()
    plugin_name = _s()


class BlueMindPluginDoc(_Doc):
    id = _i(metadata={"description": "The numeric id the BlueMind scripts use (`/addons/api/plugin/1/`)"})
    plugin_id = _s()
    name = _s()
    slug = _s()
    shortdesc = _s()
    description = _s(allow_none=True)
    license = _s(allow_none=True)
    installation_instructions = _s(allow_none=True)
    home_url = _s(allow_none=True)
    status = _s(validate=validate.OneOf(("published", "unpublished")))
    current_version = _s(allow_none=True)
    compatibility = _n(CompatibilityDoc)
    thumbnail = _s(allow_none=True)
    screenshots = _strings()
    versions = fields.List(fields.Nested(BlueMindVersionDoc), required=True)
    downloads = _i()
    verified = _b()
    created = _s(allow_none=True, metadata={"format": "date-time"})
    updated = _s(allow_none=True, metadata={"format": "date-time"})
    url = _s()


_JSON_PART = {"type": "string", "description": "A JSON object (the document's fields; `api_key` may be one of them)"}
BLUEMIND_PLUGIN_UPLOAD = {"required": True, "content": {
    "multipart/form-data": {"schema": {"type": "object", "required": ["json"], "properties": {
        "json": _JSON_PART,
        "thumbnail": {"type": "string", "format": "binary", "description": "The logo"}},
        "additionalProperties": {"type": "string", "format": "binary", "description": "Screenshots"}},
        "encoding": {"json": {"contentType": "application/json"}}},
    "application/x-www-form-urlencoded": {"schema": {"type": "object", "required": ["json"],
                                                     "properties": {"json": _JSON_PART}}}}}
BLUEMIND_VERSION_UPLOAD = {"required": True, "content": {
    "multipart/form-data": {"schema": {"type": "object", "required": ["json", "package"], "properties": {
        "json": _JSON_PART, "package": {"type": "string", "format": "binary"}}},
        "encoding": {"json": {"contentType": "application/json"}}}}}
