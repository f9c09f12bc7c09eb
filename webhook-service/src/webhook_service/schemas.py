"""Request and response schemas of the webhook routes (marshmallow)."""

import marshmallow as ma
from marshmallow import fields, validate

from marketplace_shared.api import JsonBoolean, JsonInteger
from marketplace_shared.clock import UtcDateTime
from marketplace_shared.pagination import PageArgsSchema, page_schema

from . import events


def _check_events(values: list[str]) -> None:
    unknown = [value for value in values if value not in events.SUBSCRIBABLE_EVENTS]
    if unknown:
        raise ma.ValidationError(f"Unknown event(s): {', '.join(unknown)}. "
                                 f"Allowed: {', '.join(events.SUBSCRIBABLE_EVENTS)}")


URL_DESCRIPTION = ("An http(s) URL whose host resolves only to addresses the deployment allows (public ones, or "
                   "WEBHOOK_ALLOWED_NETWORKS); otherwise 400 VALIDATION_ERROR")


def _event_name():
    return fields.String(metadata={"enum": list(events.SUBSCRIBABLE_EVENTS)})


class WebhookCreateSchema(ma.Schema):
    url = fields.String(required=True, validate=validate.Length(min=1, max=2048),
                        metadata={"format": "uri", "description": URL_DESCRIPTION})
    events = fields.List(_event_name(), required=True, validate=[validate.Length(min=1, max=20), _check_events],
                         metadata={"description": f"Any of {', '.join(events.SUBSCRIBABLE_EVENTS)}"})
    secret = fields.String(load_default=None, allow_none=True, validate=validate.Length(min=8, max=512),
                           metadata={"description": "Generated (whsec_…) when omitted; returned only once"})
    description = fields.String(allow_none=True, validate=validate.Length(max=500))
    plugin_ids = fields.List(fields.String(validate=validate.Length(min=1, max=64)), data_key="pluginIds",
                             allow_none=True, validate=validate.Length(max=100),
                             metadata={"description": "Only events of these plugins (all when omitted)"})
    active = JsonBoolean(load_default=True)


class WebhookUpdateSchema(ma.Schema):
    url = fields.String(validate=validate.Length(min=1, max=2048),
                        metadata={"format": "uri", "description": URL_DESCRIPTION})
    events = fields.List(_event_name(), validate=[validate.Length(min=1, max=20), _check_events])
    description = fields.String(allow_none=True, validate=validate.Length(max=500))
    plugin_ids = fields.List(fields.String(validate=validate.Length(min=1, max=64)), data_key="pluginIds",
                             allow_none=True, validate=validate.Length(max=100))
    active = JsonBoolean(metadata={"description": "true also clears a `disabled` flag"})


class RotateSecretSchema(ma.Schema):
    secret = fields.String(load_default=None, allow_none=True, validate=validate.Length(min=8, max=512))
    grace_period_seconds = JsonInteger(data_key="gracePeriodSeconds", load_default=None, allow_none=True,
                                          validate=validate.Range(min=0, max=30 * 86400),
                                          metadata={"description": "How long the old secret keeps signing"})


class RecoverSchema(ma.Schema):
    since = UtcDateTime(required=True)
    until = UtcDateTime(load_default=None, allow_none=True)


class WebhookListArgsSchema(PageArgsSchema):
    owner_id = fields.String(data_key="ownerId", metadata={"description": "Admins only: one owner's"})


class DeliveryListArgsSchema(PageArgsSchema):
    status = fields.String(validate=validate.OneOf(["pending", "succeeded", "failed"]))
    event = fields.String(validate=validate.Length(max=100))


# -- responses: they document the bodies representations.py builds -----------------------------------

def _moment(**kwargs):
    # representations.py formats times already (clock.iso): here they are only documented.
    return fields.String(metadata={"format": "date-time"}, **kwargs)


class WebhookSchema(ma.Schema):
    id = fields.String()
    url = fields.String()
    events = fields.List(fields.String())
    description = fields.String(allow_none=True)
    pluginIds = fields.List(fields.String(), allow_none=True)
    active = fields.Boolean()
    disabled = fields.Boolean()
    disabledReason = fields.String(allow_none=True)
    disabledAt = _moment(allow_none=True)
    failingSince = _moment(allow_none=True)
    ownerId = fields.String()
    previousSecretExpiresAt = _moment(allow_none=True)
    createdAt = _moment()
    updatedAt = _moment()


class WebhookWithSecretSchema(WebhookSchema):
    secret = fields.String(metadata={"description": "Shown only in this response"})


class AttemptSchema(ma.Schema):
    number = fields.Integer()
    attemptedAt = _moment()
    success = fields.Boolean()
    statusCode = fields.Integer(allow_none=True)
    durationMs = fields.Integer()
    responseBody = fields.String(allow_none=True,
                                 metadata={"description": "The first WEBHOOK_RESPONSE_BODY_LIMIT characters"})
    error = fields.String(allow_none=True)


class DeliverySchema(ma.Schema):
    id = fields.String()
    webhookId = fields.String()
    eventId = fields.String()
    event = fields.String()
    status = fields.String(metadata={"description": "pending, succeeded or failed"})
    attemptCount = fields.Integer()
    nextAttemptAt = _moment(allow_none=True)
    lastAttemptAt = _moment(allow_none=True)
    deliveredAt = _moment(allow_none=True)
    lastStatusCode = fields.Integer(allow_none=True)
    lastError = fields.String(allow_none=True)
    createdAt = _moment()
    payload = fields.Dict(metadata={"description": "event, timestamp and data, as sent (without the signature)"})
    attempts = fields.List(fields.Nested(AttemptSchema))


class WebhookResponseSchema(ma.Schema):
    data = fields.Nested(WebhookSchema)


class WebhookWithSecretResponseSchema(ma.Schema):
    data = fields.Nested(WebhookWithSecretSchema)


WebhookListSchema = page_schema("WebhookListSchema", WebhookSchema)


class DeliveryResponseSchema(ma.Schema):
    data = fields.Nested(DeliverySchema)


DeliveryListSchema = page_schema("DeliveryListSchema", DeliverySchema)


class RecoverResultSchema(ma.Schema):
    data = fields.Dict(metadata={"description": "{recovered, since, until}"})
