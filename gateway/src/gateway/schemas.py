"""Request and response schemas of the gateway's own routes (camelCase on the wire)."""

import marshmallow as ma

from marketplace_shared.api import JsonInteger
from marketplace_shared.clock import UtcDateTime
from marketplace_shared.pagination import PageArgsSchema, page_schema

from .models import ACCOUNT_TIERS, ROLES

# -- responses: they document the bodies representations.py builds -----------------------------------

def _moment(**kwargs):
    # representations.py formats times already (clock.iso): here they are only documented.
    return ma.fields.String(metadata={"format": "date-time"}, **kwargs)


class AccountSchema(ma.Schema):
    id = ma.fields.String(dump_only=True)
    name = ma.fields.String()
    email = ma.fields.Email()
    role = ma.fields.String(metadata={"enum": list(ROLES)})
    tier = ma.fields.String(metadata={"enum": list(ACCOUNT_TIERS)})
    rateLimitPerHour = ma.fields.Integer(allow_none=True)
    externalSubject = ma.fields.String(allow_none=True)
    createdAt = _moment(dump_only=True)
    updatedAt = _moment(dump_only=True)


# -- requests ------------------------------------------------------------------------------------------

class AccountCreateSchema(ma.Schema):
    name = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=200))
    email = ma.fields.Email(required=True, validate=ma.validate.Length(max=320))
    role = ma.fields.String(load_default="user", validate=ma.validate.OneOf(ROLES))
    tier = ma.fields.String(load_default="authenticated", validate=ma.validate.OneOf(ACCOUNT_TIERS))
    rateLimitPerHour = JsonInteger(data_key="rateLimitPerHour", attribute="rate_limit_per_hour",
                                         load_default=None, allow_none=True,
                                         validate=ma.validate.Range(min=1, max=100_000_000))
    externalSubject = ma.fields.String(data_key="externalSubject", attribute="external_subject", load_default=None,
                                       allow_none=True, validate=ma.validate.Length(min=1, max=255))


class AccountUpdateSchema(ma.Schema):
    class Meta:
        json_schema = {"minProperties": 1}

    name = ma.fields.String(validate=ma.validate.Length(min=1, max=200))
    email = ma.fields.Email(validate=ma.validate.Length(max=320))
    role = ma.fields.String(validate=ma.validate.OneOf(ROLES))
    tier = ma.fields.String(validate=ma.validate.OneOf(ACCOUNT_TIERS))
    rateLimitPerHour = JsonInteger(attribute="rate_limit_per_hour", allow_none=True,
                                         validate=ma.validate.Range(min=1, max=100_000_000))
    externalSubject = ma.fields.String(attribute="external_subject", allow_none=True,
                                       validate=ma.validate.Length(min=1, max=255))

    @ma.validates_schema
    def _not_empty(self, data, **_kwargs):
        if not data:
            raise ma.ValidationError("Give at least one field to change.", "_schema")


class AccountListArgsSchema(PageArgsSchema):
    role = ma.fields.String(validate=ma.validate.OneOf(ROLES))
    tier = ma.fields.String(validate=ma.validate.OneOf(ACCOUNT_TIERS))
    search = ma.fields.String(validate=ma.validate.Length(max=200))


class ApiKeySchema(ma.Schema):
    id = ma.fields.String()
    accountId = ma.fields.String()
    name = ma.fields.String()
    prefix = ma.fields.String(metadata={"description": "The key's first characters, to recognise it"})
    status = ma.fields.String(metadata={"enum": ["active", "expired", "revoked"]})
    createdAt = _moment()
    expiresAt = _moment(allow_none=True)
    lastUsedAt = _moment(allow_none=True)
    revokedAt = _moment(allow_none=True)


class ApiKeyCreatedSchema(ApiKeySchema):
    key = ma.fields.String(metadata={"description": "The key itself: shown only in this response"})


class ApiKeyCreateSchema(ma.Schema):
    name = ma.fields.String(load_default="", validate=ma.validate.Length(max=200))
    expiresAt = UtcDateTime(data_key="expiresAt", attribute="expires_at", load_default=None, allow_none=True)


class RateLimitStatusSchema(ma.Schema):
    policy = ma.fields.String()
    limit = ma.fields.Integer()
    remaining = ma.fields.Integer()
    reset = ma.fields.String()


class MeSchema(AccountSchema):
    rateLimit = ma.fields.Nested(RateLimitStatusSchema, allow_none=True)


class AccountResponseSchema(ma.Schema):
    data = ma.fields.Nested(AccountSchema)


class MeResponseSchema(ma.Schema):
    data = ma.fields.Nested(MeSchema)


AccountListResponseSchema = page_schema("AccountListResponseSchema", AccountSchema)


class ApiKeyCreatedResponseSchema(ma.Schema):
    data = ma.fields.Nested(ApiKeyCreatedSchema)


class ApiKeyListResponseSchema(ma.Schema):
    data = ma.fields.List(ma.fields.Nested(ApiKeySchema))
