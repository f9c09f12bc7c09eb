"""Every command and flag of ``marketplace``, and the function each command runs."""

from __future__ import annotations

import argparse
from collections.abc import Callable, Sequence
from typing import Any

from .._version import __version__
from ..client import DEFAULT_BASE_URL
from .commands.accounts import cmd_configure, cmd_whoami
from .commands.installations import (
    cmd_install,
    cmd_installations_cancel,
    cmd_installations_list,
    cmd_installations_logs,
    cmd_installations_status,
    cmd_installations_uninstall,
    cmd_installations_upgrade,
)
from .commands.plugins import (
    cmd_plugins_download,
    cmd_plugins_list,
    cmd_plugins_search,
    cmd_plugins_show,
    cmd_plugins_versions,
)
from .commands.publish import cmd_publish
from .commands.webhooks import (
    cmd_webhooks_create,
    cmd_webhooks_delete,
    cmd_webhooks_deliveries,
    cmd_webhooks_list,
    cmd_webhooks_ping,
    cmd_webhooks_redeliver,
)

# What a command acts on, given as its first arguments, and how its help names it.
TARGETS = {"plugin": "plugin id or name", "installation": "installation id", "webhook": "webhook id",
           "delivery": "delivery id"}

# The common options are SUPPRESSed so that one given before the command name is not reset by the
# subcommand's copy; parse_args fills in what was not given at all.
COMMON_DEFAULTS: dict[str, Any] = {"url": None, "api_key": None, "json": False, "timeout": 30.0, "retries": 3}


def build_parser() -> argparse.ArgumentParser:
    # Options every command accepts, before or after the command name.
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--url", default=argparse.SUPPRESS,
                        help=f"portal URL (env MARKETPLACE_URL, else the config file, else {DEFAULT_BASE_URL})")
    common.add_argument("--api-key", default=argparse.SUPPRESS,
                        help="API key (env MARKETPLACE_API_KEY, else the config file)")
    common.add_argument("--json", action="store_true", default=argparse.SUPPRESS,
                        help="machine-readable JSON on standard output")
    common.add_argument("--timeout", type=float, default=argparse.SUPPRESS, help="HTTP timeout in seconds (30)")
    common.add_argument("--retries", type=int, default=argparse.SUPPRESS,
                        help="retries on 429/502/503/504 (3)")

    parser = argparse.ArgumentParser(prog="marketplace", parents=[common],
                                     description="Browse, install and publish Backstage plugins from the command line.")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    def add(group: Any, name: str, func: Callable[[argparse.Namespace], int], help_text: str, *targets: str,
            **kwargs: Any) -> argparse.ArgumentParser:
        """A command running ``func``; ``targets`` name what it acts on, its first arguments (see TARGETS)."""
        sub: argparse.ArgumentParser = group.add_parser(name, parents=[common], help=help_text,
                                                        description=help_text, **kwargs)
        for target in targets:
            sub.add_argument(target, help=TARGETS[target])
        sub.set_defaults(func=func)
        return sub

    def paging(sub: argparse.ArgumentParser, all_pages: bool = True) -> None:
        sub.add_argument("--page", type=int, help="page number (1-based)")
        sub.add_argument("--limit", type=int, help="results per page (1-100)")
        if all_pages:
            sub.add_argument("--all", action="store_true", help="every page, as one list")

    def following(sub: argparse.ArgumentParser) -> None:
        sub.add_argument("--no-wait", action="store_true", help="return at once instead of following it")
        sub.add_argument("--quiet", "-q", action="store_true", help="no log lines, only progress and the outcome")
        sub.add_argument("--no-progress", action="store_true", help="plain status lines even on a terminal")
        sub.add_argument("--poll-interval", type=float, default=1.0, help="seconds between status checks (1)")
        sub.add_argument("--wait-timeout", type=float, default=1800.0, help="give up following after N seconds")

    configure = add(commands, "configure", cmd_configure, "save the portal URL and API key to the config file")
    configure.add_argument("--no-verify", action="store_true", help="save without checking them against the API")
    add(commands, "whoami", cmd_whoami, "show the account of the API key")

    plugins = commands.add_parser("plugins", help="browse the catalog").add_subparsers(
        dest="plugins_command", metavar="SUBCOMMAND", required=True)
    for name, func, help_text in (("list", cmd_plugins_list, "list plugins with filters"),
                                  ("search", cmd_plugins_search, "full-text search")):
        sub = add(plugins, name, func, help_text)
        if name == "search":
            sub.add_argument("query", nargs="?", help="search words")
            sub.add_argument("--category", action="append", help="a category (repeatable)")
        else:
            sub.add_argument("--search", help="words in the name or description")
            sub.add_argument("--category", help="a category")
        sub.add_argument("--tags", help="comma-separated tags")
        sub.add_argument("--sort", help="name|popularity|updated|rating" + ("|relevance" if name == "search" else ""))
        sub.add_argument("--order", choices=["asc", "desc"])
        sub.add_argument("--verified", action="store_true", help="only verified plugins")
        sub.add_argument("--featured", action="store_true", help="only featured plugins")
        sub.add_argument("--min-rating", type=float, help="minimum average rating (0-5)")
        sub.add_argument("--compatibility", help="a Backstage version the plugin must support, e.g. 1.36.0")
        paging(sub)
    add(plugins, "show", cmd_plugins_show, "every detail of one plugin", "plugin")
    versions = add(plugins, "versions", cmd_plugins_versions, "the versions of a plugin", "plugin")
    paging(versions)
    download = add(plugins, "download", cmd_plugins_download, "download a version's package", "plugin")
    download.add_argument("--version", dest="version", help="version (default: the latest)")
    download.add_argument("--output", "-o", help="file or directory to write to (default: here)")

    install = add(commands, "install", cmd_install, "install a plugin and follow it until it finishes", "plugin")
    install.add_argument("--version", dest="version", help="version to install (default: the latest)")
    install.add_argument("--environment", "-e", help="target environment (e.g. production)")
    install.add_argument("--namespace", "-n", help="namespace in the environment")
    install.add_argument("--strategy", choices=["rolling", "blue-green", "recreate"], help="deployment strategy")
    install.add_argument("--config", help="plugin configuration: JSON, or @file.json")
    install.add_argument("--no-auto-start", action="store_true", help="install without starting it")
    install.add_argument("--idempotency-key", help="makes repeating the same command safe")
    following(install)

    installations = commands.add_parser("installations", help="follow and manage installations").add_subparsers(
        dest="installations_command", metavar="SUBCOMMAND", required=True)
    listing = add(installations, "list", cmd_installations_list, "your installations")
    listing.add_argument("--plugin", help="only this plugin")
    listing.add_argument("--environment", "-e")
    listing.add_argument("--namespace", "-n")
    listing.add_argument("--status", help="pending|in_progress|completed|failed|cancelled|…")
    paging(listing)
    add(installations, "status", cmd_installations_status, "status and progress of an installation",
        "installation")
    logs = add(installations, "logs", cmd_installations_logs, "log lines of an installation", "installation")
    logs.add_argument("--follow", "-f", action="store_true", help="keep printing until it finishes")
    logs.add_argument("--poll-interval", type=float, default=1.0)
    logs.add_argument("--wait-timeout", type=float, default=1800.0)
    cancel = add(installations, "cancel", cmd_installations_cancel, "cancel a running installation", "installation")
    cancel.add_argument("--wait", action="store_true", help="wait until it is cancelled and rolled back")
    cancel.add_argument("--poll-interval", type=float, default=1.0)
    cancel.add_argument("--wait-timeout", type=float, default=600.0)
    upgrade = add(installations, "upgrade", cmd_installations_upgrade, "move an installation to another version",
                  "installation")
    upgrade.add_argument("version", nargs="?", help="the version (default: the latest)")
    upgrade.add_argument("--config", help="new configuration: JSON, or @file.json")
    following(upgrade)
    following(add(installations, "uninstall", cmd_installations_uninstall, "remove an installed plugin",
                  "installation"))

    publish = add(commands, "publish", cmd_publish, "create a plugin and/or publish a version from files",
                  epilog="examples:\n"
                         "  marketplace publish --plugin-file plugin.json --package pkg.tgz --version 1.0.0\n"
                         "  marketplace publish --plugin my-plugin --metadata version.json --package pkg.tgz",
                  formatter_class=argparse.RawDescriptionHelpFormatter)
    publish.add_argument("--plugin-file", help="JSON file with a new plugin's metadata (POST /plugins)")
    publish.add_argument("--plugin", help="id or name of an existing plugin")
    publish.add_argument("--package", help="the package file (.tgz, .zip, .jar)")
    publish.add_argument("--metadata", help="JSON file with the version's metadata")
    publish.add_argument("--version", dest="version", help="the version (overrides the metadata file's)")
    publish.add_argument("--changelog", help="release notes (overrides the metadata file's)")
    publish.add_argument("--icon", help="an icon image")
    publish.add_argument("--screenshot", action="append", help="a screenshot image (repeatable)")

    webhooks = commands.add_parser("webhooks", help="webhook subscriptions").add_subparsers(
        dest="webhooks_command", metavar="SUBCOMMAND", required=True)
    paging(add(webhooks, "list", cmd_webhooks_list, "your webhook subscriptions"))
    create = add(webhooks, "create", cmd_webhooks_create, "subscribe a URL to events")
    create.add_argument("url_", metavar="URL", help="where to POST the events")
    create.add_argument("--event", action="append", required=True,
                        help="an event type, e.g. plugin.installed or plugin.* (repeatable)")
    create.add_argument("--secret", help="signing secret (default: generated and shown once)")
    create.add_argument("--description")
    create.add_argument("--plugin-id", action="append", help="only events of this plugin (repeatable)")
    deliveries = add(webhooks, "deliveries", cmd_webhooks_deliveries, "deliveries of a subscription", "webhook")
    deliveries.add_argument("--status", help="only deliveries with this status")
    paging(deliveries)
    add(webhooks, "delete", cmd_webhooks_delete, "delete a subscription", "webhook")
    add(webhooks, "ping", cmd_webhooks_ping, "send a test delivery", "webhook")
    add(webhooks, "redeliver", cmd_webhooks_redeliver, "send a delivery again", "webhook", "delivery")
    return parser


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """The parsed command line, with every common option set (argparse exits 2 on bad arguments)."""
    args = build_parser().parse_args(argv)
    for name, default in COMMON_DEFAULTS.items():
        if not hasattr(args, name):
            setattr(args, name, default)
    return args
