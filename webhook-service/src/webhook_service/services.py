"""Use cases of the webhook service: plain functions over a session the caller owns."""

import hashlib
import uuid
from datetime import datetime, timedelta

from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import Session, selectinload

from marketplace_shared.clock import iso, utcnow
from marketplace_shared.errors import ApiError, validation_error
from marketplace_shared.identity import Identity

from . import events, signing
from .errors import DELIVERY_NOT_FOUND, WEBHOOK_NOT_FOUND
from .models import FAILED, PENDING, Delivery, DeliveryAttempt, PluginOwner, Webhook
from .ssrf import UnsafeUrl, check_url, parse_networks


def new_webhook_id() -> str:
    return f"wh_{uuid.uuid4().hex[:24]}"


def delivery_id_for(webhook_id: str, event_id: str) -> str:
    """The same event for the same subscription always gets the same delivery id."""
    return "dlv_" + hashlib.sha256(f"{webhook_id}:{event_id}".encode()).hexdigest()[:28]


# -- subscriptions ---------------------------------------------------------------------------

def check_webhook_url(url: str, config, resolver=None) -> str:
    try:
        check_url(url, parse_networks(config.WEBHOOK_ALLOWED_NETWORKS), resolver)
    except UnsafeUrl as exc:
        raise validation_error(f"Invalid webhook URL: {exc}", {"fields": {"url": [str(exc)]}}) from exc
    return url.strip()


def _check_secret(secret: str) -> None:
    problem = signing.secret_problem(secret)
    if problem:
        raise validation_error(f"Invalid secret: {problem}", {"fields": {"secret": [problem]}})


def create_webhook(session: Session, identity: Identity, data: dict, config, resolver=None) -> Webhook:
    """Register a subscription; a secret is generated when none is given."""
    url = check_webhook_url(data["url"], config, resolver)
    secret = data.get("secret")
    if secret:
        _check_secret(secret)
    else:
        secret = signing.generate_secret()
    webhook = Webhook(
        id=new_webhook_id(), owner_id=identity.id, owner_role=identity.role, url=url,
        events=list(dict.fromkeys(data["events"])), plugin_ids=_plugin_ids(data.get("plugin_ids")),
        description=data.get("description"), secret=secret, active=data.get("active", True), disabled=False)
    session.add(webhook)
    session.flush()
    return webhook


def _plugin_ids(values: list[str] | None) -> list[str] | None:
    return list(dict.fromkeys(values)) if values else None


def get_webhook(session: Session, identity: Identity, webhook_id: str) -> Webhook:
    """The subscription, if the caller owns it or is an admin (others get a 404, not a hint)."""
    webhook = session.get(Webhook, webhook_id)
    if webhook is None or (not identity.is_admin and webhook.owner_id != identity.id):
        raise ApiError(404, WEBHOOK_NOT_FOUND, f"Webhook '{webhook_id}' not found", {"webhookId": webhook_id})
    return webhook


def list_webhooks(session: Session, identity: Identity, page: int, limit: int,
                  owner_id: str | None = None) -> tuple[list[Webhook], int]:
    """The caller's subscriptions; every one for admins (optionally one owner's)."""
    query = select(Webhook)
    if not identity.is_admin:
        query = query.where(Webhook.owner_id == identity.id)
    elif owner_id:
        query = query.where(Webhook.owner_id == owner_id)
    total = session.scalar(select(func.count()).select_from(query.subquery()))
    rows = session.scalars(query.order_by(Webhook.created_at.desc(), Webhook.id)
                           .offset((page - 1) * limit).limit(limit)).all()
    return list(rows), total


def update_webhook(session: Session, identity: Identity, webhook_id: str, changes: dict, config,
                   resolver=None) -> Webhook:
    webhook = get_webhook(session, identity, webhook_id)
    if "url" in changes:
        webhook.url = check_webhook_url(changes["url"], config, resolver)
    if "events" in changes:
        webhook.events = list(dict.fromkeys(changes["events"]))
    if "plugin_ids" in changes:
        webhook.plugin_ids = _plugin_ids(changes["plugin_ids"])
    if "description" in changes:
        webhook.description = changes["description"]
    if "active" in changes:
        webhook.active = changes["active"]
        if changes["active"]:
            # Switching a disabled subscription back on is how its owner says the receiver is fixed.
            webhook.disabled = False
            webhook.disabled_reason = None
            webhook.disabled_at = None
            webhook.failing_since = None
    if webhook.owner_id == identity.id:
        webhook.owner_role = identity.role
    webhook.updated_at = utcnow()
    return webhook


def delete_webhook(session: Session, identity: Identity, webhook_id: str) -> None:
    webhook = get_webhook(session, identity, webhook_id)
    delivery_ids = select(Delivery.id).where(Delivery.webhook_id == webhook.id)
    session.execute(DeliveryAttempt.__table__.delete().where(DeliveryAttempt.delivery_id.in_(delivery_ids)))
    session.execute(Delivery.__table__.delete().where(Delivery.webhook_id == webhook.id))
    session.delete(webhook)


def rotate_secret(session: Session, identity: Identity, webhook_id: str, config, secret: str | None = None,
                  grace_seconds: int | None = None) -> Webhook:
    """A new secret; the old one keeps signing (beside it) until the grace period ends."""
    webhook = get_webhook(session, identity, webhook_id)
    if secret:
        _check_secret(secret)
        if secret == webhook.secret:
            raise validation_error("The new secret must differ from the current one",
                                   {"fields": {"secret": ["must differ from the current secret"]}})
    grace = config.WEBHOOK_SECRET_GRACE_SECONDS if grace_seconds is None else grace_seconds
    webhook.previous_secret = webhook.secret if grace > 0 else None
    webhook.previous_secret_expires_at = utcnow() + timedelta(seconds=grace) if grace > 0 else None
    webhook.secret = secret or signing.generate_secret()
    webhook.updated_at = utcnow()
    return webhook


def secrets_in_use(webhook: Webhook, now: datetime | None = None) -> list[str]:
    """The current secret first, then the previous one while its grace period lasts."""
    now = now or utcnow()
    if webhook.previous_secret and webhook.previous_secret_expires_at and webhook.previous_secret_expires_at > now:
        return [webhook.secret, webhook.previous_secret]
    return [webhook.secret]


def ping(session: Session, identity: Identity, webhook_id: str) -> Delivery:
    """Queue a `webhook.ping` delivery (one attempt, no retries)."""
    webhook = get_webhook(session, identity, webhook_id)
    now = utcnow()
    event_id = f"evt_{uuid.uuid4().hex}"
    delivery = Delivery(
        id=delivery_id_for(webhook.id, event_id), webhook_id=webhook.id, event_id=event_id,
        event_type=events.PING, status=PENDING, attempt_count=0, round_attempts=0, next_attempt_at=now,
        created_at=now, attempts=[],
        payload={"event": events.PING, "timestamp": iso(now),
                 "data": {"webhookId": webhook.id, "url": webhook.url, "events": webhook.events}})
    session.add(delivery)
    return delivery


# -- delivery log ----------------------------------------------------------------------------

def list_deliveries(session: Session, identity: Identity, webhook_id: str, page: int, limit: int,
                    status: str | None = None, event: str | None = None) -> tuple[list[Delivery], int]:
    webhook = get_webhook(session, identity, webhook_id)
    query = select(Delivery).where(Delivery.webhook_id == webhook.id)
    if status:
        query = query.where(Delivery.status == status)
    if event:
        query = query.where(Delivery.event_type == event)
    total = session.scalar(select(func.count()).select_from(query.subquery()))
    rows = session.scalars(query.order_by(Delivery.created_at.desc(), Delivery.id).options(
        selectinload(Delivery.attempts)).offset((page - 1) * limit).limit(limit)).all()
    return list(rows), total


def get_delivery(session: Session, identity: Identity, webhook_id: str, delivery_id: str) -> Delivery:
    webhook = get_webhook(session, identity, webhook_id)
    delivery = session.get(Delivery, delivery_id)
    if delivery is None or delivery.webhook_id != webhook.id:
        raise ApiError(404, DELIVERY_NOT_FOUND, f"Delivery '{delivery_id}' not found", {"deliveryId": delivery_id})
    return delivery


def _requeue(delivery: Delivery, now: datetime) -> None:
    delivery.status = PENDING
    delivery.round_attempts = 0
    delivery.next_attempt_at = now


def redeliver(session: Session, identity: Identity, webhook_id: str, delivery_id: str) -> Delivery:
    """Send a delivery again (same id, so receivers can dedupe) with a fresh retry schedule."""
    delivery = get_delivery(session, identity, webhook_id, delivery_id)
    _requeue(delivery, utcnow())
    return delivery


def recover(session: Session, identity: Identity, webhook_id: str, since: datetime,
            until: datetime | None = None) -> int:
    """Requeue every failed delivery created since a time; returns how many."""
    webhook = get_webhook(session, identity, webhook_id)
    query = (update(Delivery).where(Delivery.webhook_id == webhook.id, Delivery.status == FAILED,
                                    Delivery.created_at >= since)
             .values(status=PENDING, round_attempts=0, next_attempt_at=utcnow()))
    if until is not None:
        query = query.where(Delivery.created_at <= until)
    return session.execute(query, execution_options={"synchronize_session": False}).rowcount


# -- events in -------------------------------------------------------------------------------

def learn_plugin_owner(session: Session, event: dict) -> None:
    """Remember who owns a plugin, from any catalog event that says so."""
    data = event.get("data") or {}
    plugin_id, owner_id = data.get("pluginId"), data.get("ownerId")
    if not plugin_id or not owner_id:
        return
    row = session.get(PluginOwner, plugin_id)
    if row is None:
        session.add(PluginOwner(plugin_id=plugin_id, owner_id=owner_id))
    elif row.owner_id != owner_id:
        row.owner_id = owner_id


def may_receive(owner_id: str, owner_role: str, plugin_owner_id: str | None, account_id: str | None) -> bool:
    """Admins receive everything; publishers their plugins' events; everyone their own installations'."""
    if owner_role == "admin":
        return True
    if account_id and owner_id == account_id:
        return True
    return owner_role == "publisher" and plugin_owner_id is not None and owner_id == plugin_owner_id


def matches(webhook: Webhook, event_type: str, data: dict, plugin_owner_id: str | None) -> bool:
    if not webhook.active or webhook.disabled or not events.subscribed(webhook.events, event_type):
        return False
    if webhook.plugin_ids and data.get("pluginId") not in webhook.plugin_ids:
        return False
    return may_receive(webhook.owner_id, webhook.owner_role, plugin_owner_id, data.get("accountId"))


def create_deliveries(session: Session, event: dict, lease_seconds: float | None = None) -> list[Delivery]:
    """One pending delivery per subscription that may receive this event (none twice).

    With `lease_seconds` they are created already leased to the caller's dispatcher.
    """
    event_type = event.get("type")
    if event_type not in events.PUBLIC_EVENTS:
        return []
    data = event.get("data") or {}
    plugin_owner_id = data.get("ownerId")
    if not plugin_owner_id and data.get("pluginId"):
        plugin_owner_id = session.scalar(select(PluginOwner.owner_id).where(PluginOwner.plugin_id == data["pluginId"]))
    interested = [owner for owner in (plugin_owner_id, data.get("accountId")) if owner]
    candidates = session.scalars(
        select(Webhook).where(Webhook.active.is_(True), Webhook.disabled.is_(False))
        .where(or_(Webhook.owner_role == "admin", Webhook.owner_id.in_(interested)))).all()
    chosen = [webhook for webhook in candidates if matches(webhook, event_type, data, plugin_owner_id)]
    if not chosen:
        return []
    ids = {webhook.id: delivery_id_for(webhook.id, event["id"]) for webhook in chosen}
    existing = set(session.scalars(select(Delivery.id).where(Delivery.id.in_(list(ids.values())))))
    now = utcnow()
    due = now + timedelta(seconds=lease_seconds) if lease_seconds else now
    payload = {"event": event_type, "timestamp": event.get("time") or iso(now), "data": data}
    created = []
    for webhook in chosen:
        if ids[webhook.id] in existing:
            continue
        delivery = Delivery(id=ids[webhook.id], webhook=webhook, event_id=event["id"], event_type=event_type,
                            payload=payload, status=PENDING, attempt_count=0, round_attempts=0,
                            next_attempt_at=due, created_at=now)
        session.add(delivery)
        created.append(delivery)
    return created
