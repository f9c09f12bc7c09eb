"""Webhooks routes: thin views over the use cases in services.py, bodies from representations.py."""

from flask import current_app

from marketplace_shared.api import API_PREFIX, Blueprint
from marketplace_shared.db import request_session
from marketplace_shared.identity import require_identity, requires

from . import representations, services
from .schemas import (
    DeliveryListArgsSchema,
    DeliveryListSchema,
    DeliveryResponseSchema,
    RecoverResultSchema,
    RecoverSchema,
    RotateSecretSchema,
    WebhookCreateSchema,
    WebhookListArgsSchema,
    WebhookListSchema,
    WebhookResponseSchema,
    WebhookUpdateSchema,
    WebhookWithSecretResponseSchema,
)

blp = Blueprint(
    "webhooks", __name__, url_prefix=API_PREFIX,
    description="Webhook subscriptions and their deliveries. Each delivery is POSTed as "
                "{event, timestamp, data, signature} with X-Marketplace-Signature-256 (sha256=hex HMAC of the body), "
                "Standard Webhooks headers (webhook-id, webhook-timestamp, webhook-signature) and "
                "X-Marketplace-Event / X-Marketplace-Delivery. `signature` is the HMAC of the compact, key-sorted "
                "UTF-8 JSON of event, timestamp and data. The key is the base64-decoded part after `whsec_`, "
                "otherwise the secret's UTF-8 bytes.")


def _config():
    return current_app.extensions["service_config"]


def _resolver():
    return current_app.extensions.get("webhook_resolver")


@blp.route("/webhooks", methods=["GET"])
@requires("user")
@blp.arguments(WebhookListArgsSchema(), location="query")
@blp.response(200, WebhookListSchema)
def list_webhooks(args):
    """List your webhook subscriptions (admins: all)"""
    identity = require_identity()
    items, total = services.list_webhooks(request_session(), identity, args["page"], args["limit"],
                                          args.get("owner_id"))
    return representations.webhook_page(items, args["page"], args["limit"], total)


@blp.route("/webhooks", methods=["POST"])
@requires("user")
@blp.arguments(WebhookCreateSchema())
@blp.response(201, WebhookWithSecretResponseSchema)
def create_webhook(data):
    """Register a webhook (the secret is shown only in this response)"""
    identity = require_identity()
    session = request_session()
    webhook = services.create_webhook(session, identity, data, _config(), _resolver())
    session.commit()
    return representations.webhook_body(webhook, with_secret=True)


@blp.route("/webhooks/<webhook_id>", methods=["GET"])
@blp.response(200, WebhookResponseSchema)
def get_webhook(webhook_id):
    """Get a webhook subscription"""
    return representations.webhook_body(services.get_webhook(request_session(), require_identity(), webhook_id))


@blp.route("/webhooks/<webhook_id>", methods=["PATCH"])
@requires("user")
@blp.arguments(WebhookUpdateSchema(), required=False)
@blp.response(200, WebhookResponseSchema)
def update_webhook(changes, webhook_id):
    """Change a webhook subscription (fields left out stay as they are; no body changes nothing)"""
    identity = require_identity()
    session = request_session()
    webhook = services.update_webhook(session, identity, webhook_id, changes, _config(), _resolver())
    session.commit()
    return representations.webhook_body(webhook)


@blp.route("/webhooks/<webhook_id>", methods=["DELETE"])
@blp.response(204)
def delete_webhook(webhook_id):
    """Delete a webhook subscription and its delivery log"""
    identity = require_identity()
    session = request_session()
    services.delete_webhook(session, identity, webhook_id)
    session.commit()


@blp.route("/webhooks/<webhook_id>/rotate-secret", methods=["POST"])
@requires("user")
@blp.arguments(RotateSecretSchema(), required=False)
@blp.response(200, WebhookWithSecretResponseSchema)
def rotate_secret(args, webhook_id):
    """Rotate the signing secret (the old one also signs until the grace period ends)"""
    identity = require_identity()
    session = request_session()
    args = args or {}
    webhook = services.rotate_secret(session, identity, webhook_id, _config(), args.get("secret"),
                                     args.get("grace_period_seconds"))
    session.commit()
    return representations.webhook_body(webhook, with_secret=True)


@blp.route("/webhooks/<webhook_id>/ping", methods=["POST"])
@blp.response(202, DeliveryResponseSchema)
def ping(webhook_id):
    """Send a `webhook.ping` delivery to the subscription's URL"""
    identity = require_identity()
    session = request_session()
    delivery = services.ping(session, identity, webhook_id)
    session.commit()
    return representations.delivery_body(delivery)


@blp.route("/webhooks/<webhook_id>/deliveries", methods=["GET"])
@requires("user")
@blp.arguments(DeliveryListArgsSchema(), location="query")
@blp.response(200, DeliveryListSchema)
def list_deliveries(args, webhook_id):
    """List a webhook's deliveries with their attempts, newest first"""
    identity = require_identity()
    items, total = services.list_deliveries(request_session(), identity, webhook_id, args["page"], args["limit"],
                                            args.get("status"), args.get("event"))
    return representations.delivery_page(items, args["page"], args["limit"], total)


@blp.route("/webhooks/<webhook_id>/deliveries/<delivery_id>", methods=["GET"])
@blp.response(200, DeliveryResponseSchema)
def get_delivery(webhook_id, delivery_id):
    """Get one delivery with its attempts"""
    return representations.delivery_body(services.get_delivery(request_session(), require_identity(), webhook_id,
                                                                delivery_id))


@blp.route("/webhooks/<webhook_id>/deliveries/<delivery_id>/redeliver", methods=["POST"])
@blp.response(202, DeliveryResponseSchema)
def redeliver(webhook_id, delivery_id):
    """Send a delivery again (same delivery id, fresh retry schedule)"""
    identity = require_identity()
    session = request_session()
    delivery = services.redeliver(session, identity, webhook_id, delivery_id)
    session.commit()
    return representations.delivery_body(delivery)


@blp.route("/webhooks/<webhook_id>/recover", methods=["POST"])
@requires("user")
@blp.arguments(RecoverSchema())
@blp.response(202, RecoverResultSchema)
def recover(args, webhook_id):
    """Resend every failed delivery created since a time"""
    identity = require_identity()
    session = request_session()
    count = services.recover(session, identity, webhook_id, args["since"], args.get("until"))
    session.commit()
    return representations.recover_result(count, args["since"], args.get("until"))
