"""``marketplace install`` and ``marketplace installations ...``: start, follow and manage installations."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from ..exits import EXIT_OK, UsageError
from ..inputs import read_json_argument
from ..output import emit_json, show_list, show_record
from ..progress import ProgressReporter, follow_installation
from ..settings import make_client

INSTALLATION_COLUMNS: list[tuple[str, Any]] = [
    ("ID", lambda r: r.get("installationId") or r.get("id")), ("PLUGIN", "pluginId"),
    ("VERSION", lambda r: r.get("version") or (r.get("details") or {}).get("version")),
    ("ENVIRONMENT", lambda r: r.get("environment") or (r.get("details") or {}).get("environment")),
    ("NAMESPACE", lambda r: r.get("namespace") or (r.get("details") or {}).get("namespace")),
    ("STATUS", "status"), ("PROGRESS", lambda r: f"{(r.get('progress') or {}).get('percentage', 0)}%"),
]


def cmd_install(args: argparse.Namespace) -> int:
    client = make_client(args)
    options: dict[str, Any] = {}
    for key, value in (("version", args.version), ("environment", args.environment),
                       ("namespace", args.namespace), ("deploymentStrategy", args.strategy)):
        if value is not None:
            options[key] = value
    if args.config is not None:
        configuration = read_json_argument(args.config)
        if not isinstance(configuration, dict):
            raise UsageError("--config must be a JSON object")
        options["configuration"] = configuration
    if args.no_auto_start:
        options["autoStart"] = False
    installation = client.plugins.install(args.plugin, options, idempotency_key=args.idempotency_key)
    ident = installation.get("installationId")
    if not args.json:
        print(installation.get("message") or f"installation {ident} started", file=sys.stderr)
        print(f"installation id: {ident}", file=sys.stderr)
    if args.no_wait:
        if args.json:
            emit_json(installation)
        return EXIT_OK
    return follow_installation(client, args, installation)


def cmd_installations_list(args: argparse.Namespace) -> int:
    client = make_client(args)
    page = client.installations.list(plugin_id=args.plugin, environment=args.environment,
                                     namespace=args.namespace, status=args.status, page=args.page, limit=args.limit)
    return show_list(args, page, INSTALLATION_COLUMNS)


def cmd_installations_status(args: argparse.Namespace) -> int:
    client = make_client(args)
    installation = client.installations.get(args.installation)
    show_record(args, installation, [
        ("id", "installationId"), ("plugin", "pluginId"), ("status", "status"),
        ("version", lambda i: i.get("version") or (i.get("details") or {}).get("version")),
        ("environment", lambda i: i.get("environment") or (i.get("details") or {}).get("environment")),
        ("namespace", lambda i: i.get("namespace") or (i.get("details") or {}).get("namespace")),
        ("progress", lambda i: f"{(i.get('progress') or {}).get('percentage', 0)}% "
                               f"{(i.get('progress') or {}).get('currentStep', '')}".strip()),
        ("started", "startedAt"), ("completed", "completedAt"), ("duration", "duration"),
        ("error", lambda i: (i.get("error") or {}).get("message") if isinstance(i.get("error"), dict) else None),
    ])
    return EXIT_OK


def cmd_installations_logs(args: argparse.Namespace) -> int:
    client = make_client(args)
    if args.follow:
        args.quiet = False
        args.no_progress = True
        return follow_installation(client, args, {"installationId": args.installation})
    lines = list(client.installations.iter_logs(args.installation))
    if args.json:
        emit_json(lines)
        return EXIT_OK
    reporter = ProgressReporter(sys.stdout, sys.stderr, live=False)
    for line in lines:
        reporter.log(line)
    return EXIT_OK


def cmd_installations_cancel(args: argparse.Namespace) -> int:
    client = make_client(args)
    installation = client.installations.cancel(args.installation)
    if args.wait:
        args.quiet = True
        args.no_progress = True
        final = client.installations.wait(args.installation, poll_interval=args.poll_interval,
                                          timeout=args.wait_timeout)
        return show_record(args, final, [("id", "installationId"), ("status", "status")])
    return show_record(args, installation, [("id", "installationId"), ("status", "status")])


def cmd_installations_upgrade(args: argparse.Namespace) -> int:
    client = make_client(args)
    configuration = read_json_argument(args.config) if args.config is not None else None
    installation = client.installations.upgrade(args.installation, args.version, configuration=configuration)
    if args.no_wait:
        return show_record(args, installation, [("id", "installationId"), ("status", "status")])
    return follow_installation(client, args, installation)


def cmd_installations_uninstall(args: argparse.Namespace) -> int:
    client = make_client(args)
    installation = client.installations.uninstall(args.installation) or {"installationId": args.installation}
    if args.no_wait:
        return show_record(args, installation, [("id", "installationId"), ("status", "status")])
    return follow_installation(client, args, installation)

