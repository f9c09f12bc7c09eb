"""``marketplace webhooks ...``: subscriptions, their deliveries, pings and redeliveries."""

from __future__ import annotations

import argparse
from typing import Any

from ..exits import EXIT_OK
from ..output import emit_json, show_list, show_record
from ..settings import make_client

WEBHOOK_COLUMNS: list[tuple[str, Any]] = [
    ("ID", "id"), ("URL", "url"), ("EVENTS", "events"), ("ACTIVE", "active"),
]
DELIVERY_COLUMNS: list[tuple[str, Any]] = [
    ("ID", "id"), ("EVENT", "event"), ("STATUS", "status"),
    ("ATTEMPTS", lambda r: r.get("attemptCount", _attempt_count(r))),
    ("LAST CODE", lambda r: r.get("lastStatusCode") or _last_attempt(r).get("statusCode")),
    ("LAST ATTEMPT", "lastAttemptAt"), ("NEXT ATTEMPT", "nextAttemptAt"),
]


def _attempt_count(row: dict[str, Any]) -> Any:
    attempts = row.get("attempts")
    return len(attempts) if isinstance(attempts, list) else attempts


def _last_attempt(row: dict[str, Any]) -> dict[str, Any]:
    attempts = row.get("attempts")
    return attempts[-1] if isinstance(attempts, list) and attempts and isinstance(attempts[-1], dict) else {}


def cmd_webhooks_list(args: argparse.Namespace) -> int:
    client = make_client(args)
    return show_list(args, client.webhooks.list(page=args.page, limit=args.limit), WEBHOOK_COLUMNS)


def cmd_webhooks_create(args: argparse.Namespace) -> int:
    client = make_client(args)
    webhook = client.webhooks.create(args.url_, args.event, args.secret, description=args.description,
                                     plugin_ids=args.plugin_id or None)
    if args.json:
        emit_json(webhook)
        return EXIT_OK
    show_record(args, webhook, [("id", "id"), ("url", "url"), ("events", "events"), ("active", "active")])
    if webhook.get("secret"):
        print(f"{'secret:':<16}{webhook['secret']}  (shown only now: keep it to verify deliveries)")
    return EXIT_OK


def cmd_webhooks_deliveries(args: argparse.Namespace) -> int:
    client = make_client(args)
    page = client.webhooks.deliveries(args.webhook, status=args.status, page=args.page, limit=args.limit)
    return show_list(args, page, DELIVERY_COLUMNS)


def cmd_webhooks_delete(args: argparse.Namespace) -> int:
    client = make_client(args)
    client.webhooks.delete(args.webhook)
    if args.json:
        emit_json({"deleted": args.webhook})
    else:
        print(f"deleted {args.webhook}")
    return EXIT_OK


def cmd_webhooks_ping(args: argparse.Namespace) -> int:
    client = make_client(args)
    return show_record(args, client.webhooks.ping(args.webhook), [("delivery", "id"), ("status", "status")])


def cmd_webhooks_redeliver(args: argparse.Namespace) -> int:
    client = make_client(args)
    return show_record(args, client.webhooks.redeliver(args.webhook, args.delivery),
                       [("delivery", "id"), ("status", "status")])
