"""The ``marketplace`` command: browse, install, follow installations, publish, manage webhooks.

Settings come from the command line (``--url``, ``--api-key``), else ``MARKETPLACE_URL`` /
``MARKETPLACE_API_KEY``, else the file written by ``marketplace configure``
(``$XDG_CONFIG_HOME/marketplace/config.json``, by default ``~/.config/marketplace/config.json``).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import IO, Any

from ._version import __version__
from .client import DEFAULT_BASE_URL, MarketplaceClient
from .errors import InstallationTimeout, MarketplaceConnectionError, MarketplaceError
from .resources.installations import FAILED_STATUSES

# Exit codes (documented in the README).
EXIT_OK = 0
EXIT_FAILED = 1  # the installation ended failed or cancelled
EXIT_USAGE = 2  # bad arguments (argparse uses 2 too)
EXIT_API_ERROR = 3  # the API answered with an error
EXIT_UNREACHABLE = 4  # the API could not be reached
EXIT_TIMEOUT = 5  # gave up waiting for an installation
EXIT_INTERRUPTED = 130


class UsageError(Exception):
    """A problem with the arguments or files given to the command."""


# -- settings ------------------------------------------------------------------------------------


def config_path() -> Path:
    """Where ``marketplace configure`` writes the settings (``$MARKETPLACE_CONFIG`` overrides it)."""
    if os.environ.get("MARKETPLACE_CONFIG"):
        return Path(os.environ["MARKETPLACE_CONFIG"]).expanduser()
    base = Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config")
    return base / "marketplace" / "config.json"


def load_config() -> dict[str, Any]:
    path = config_path()
    try:
        values = json.loads(path.read_text())
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as error:
        raise UsageError(f"cannot read {path}: {error}") from error
    if not isinstance(values, dict):
        raise UsageError(f"{path} does not hold a JSON object")
    return values


def save_config(values: dict[str, Any]) -> Path:
    path = config_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(".tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)  # the key is a secret
    with os.fdopen(fd, "w") as handle:
        json.dump(values, handle, indent=2)
        handle.write("\n")
    os.replace(temporary, path)
    return path


def make_client(args: argparse.Namespace) -> MarketplaceClient:
    config = load_config()
    url = args.url or os.environ.get("MARKETPLACE_URL") or config.get("url") or DEFAULT_BASE_URL
    key = args.api_key or os.environ.get("MARKETPLACE_API_KEY") or config.get("apiKey") or None
    return MarketplaceClient(api_key=key, base_url=url, timeout=args.timeout, max_retries=args.retries)


# -- output --------------------------------------------------------------------------------------


def emit_json(value: Any, out: IO[str] | None = None) -> None:
    out = out or sys.stdout
    json.dump(value, out, indent=2, ensure_ascii=False, default=str)
    out.write("\n")


def cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, dict):
        if "average" in value:
            return f"{value.get('average') or 0:.1f} ({value.get('count', 0)})"
        if "total" in value:
            return str(value["total"])
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, (list, tuple)):
        return ",".join(str(item) for item in value)
    return str(value).replace("\n", " ")


def table(rows: Iterable[dict[str, Any]], columns: Sequence[tuple[str, str | Callable[[dict[str, Any]], Any]]],
          out: IO[str] | None = None) -> None:
    """Print rows as aligned columns; each column is (title, key or function)."""
    out = out or sys.stdout
    cells = [[cell(col(row) if callable(col) else row.get(col)) for _, col in columns] for row in rows]
    titles = [title for title, _ in columns]
    widths = [max([len(title)] + [len(line[i]) for line in cells]) for i, title in enumerate(titles)]
    width_limit = max(40, shutil.get_terminal_size((120, 20)).columns)
    for line in [titles, *cells]:
        text = "  ".join(value.ljust(widths[i]) for i, value in enumerate(line)).rstrip()
        out.write((text if len(text) <= width_limit or not out.isatty() else text[: width_limit - 1] + "…") + "\n")


def page_footer(page: Any) -> None:
    if page.total_pages > 1:
        print(f"page {page.page} of {page.total_pages} ({page.total} in all; --page N or --all for more)",
              file=sys.stderr)


def show_list(args: argparse.Namespace, page: Any, columns: Sequence[tuple[str, Any]]) -> int:
    """A page (or every page with --all) as a table, or as JSON with --json."""
    if getattr(args, "all", False):
        items = list(page.iter_all())
        if args.json:
            emit_json(items)
        else:
            table(items, columns)
        return EXIT_OK
    if args.json:
        emit_json(page.raw)
        return EXIT_OK
    table(page.data, columns)
    page_footer(page)
    return EXIT_OK


def show_record(args: argparse.Namespace, record: Any, fields: Sequence[tuple[str, Any]] | None = None) -> int:
    if args.json or not fields:
        emit_json(record)
        return EXIT_OK
    for title, field in fields:
        value = field(record) if callable(field) else record.get(field)
        if value not in (None, "", [], {}):
            print(f"{title + ':':<16}{cell(value)}")
    return EXIT_OK


def read_json_argument(value: str) -> Any:
    """JSON given inline, or ``@path`` to read it from a file (``@-`` for standard input)."""
    try:
        if value.startswith("@"):
            source = sys.stdin.read() if value == "@-" else Path(value[1:]).expanduser().read_text()
            return json.loads(source)
        return json.loads(value)
    except OSError as error:
        raise UsageError(f"cannot read {value[1:]}: {error}") from error
    except ValueError as error:
        raise UsageError(f"not valid JSON ({value[:60]}): {error}") from error


def read_json_file(path: str) -> Any:
    return read_json_argument(path if path.startswith("@") else "@" + path)


# -- progress ------------------------------------------------------------------------------------


class ProgressReporter:
    """Shows an installation as it runs: a live bar on a terminal, plain lines otherwise.

    Log lines go to ``out``; the bar (or the status lines) to ``err``, so that ``--json`` output on
    standard output stays clean.
    """

    def __init__(self, out: IO[str], err: IO[str], *, live: bool, show_logs: bool = True):
        self.out = out
        self.err = err
        self.live = live
        self.show_logs = show_logs
        self.bar = ""
        self.last_plain = ""

    def _clear(self) -> None:
        if self.live and self.bar:
            self.err.write("\r\033[K")
            self.err.flush()

    def _draw(self) -> None:
        if self.live and self.bar:
            self.err.write(self.bar)
            self.err.flush()

    def progress(self, installation: dict[str, Any]) -> None:
        status = installation.get("status", "?")
        block = installation.get("progress") or {}
        percentage = block.get("percentage")
        if percentage is None and block.get("total"):
            percentage = 100 * (block.get("current") or 0) / block["total"]
        percentage = max(0.0, min(100.0, float(percentage or 0)))
        step = block.get("currentStep") or ""
        if self.live:
            columns = shutil.get_terminal_size((100, 20)).columns
            width = 30
            filled = int(round(width * percentage / 100))
            bar = f"[{'#' * filled}{'-' * (width - filled)}] {percentage:5.1f}%  {status}  {step}"
            self._clear()
            self.bar = bar[: max(20, columns - 1)]
            self._draw()
        else:
            line = f"[{percentage:3.0f}%] {status}: {step}".rstrip(": ")
            if line != self.last_plain:
                self.err.write(line + "\n")
                self.err.flush()
                self.last_plain = line

    def log(self, line: dict[str, Any]) -> None:
        if not self.show_logs:
            return
        self._clear()
        parts = [line.get("timestamp") or line.get("time") or "", (line.get("level") or "").upper(),
                 f"[{line['step']}]" if line.get("step") else "", line.get("message") or cell(line)]
        self.out.write(" ".join(part for part in parts if part) + "\n")
        self.out.flush()
        self._draw()

    def finish(self) -> None:
        if self.live and self.bar:
            self.err.write("\n")
            self.err.flush()
            self.bar = ""


def follow_installation(client: MarketplaceClient, args: argparse.Namespace, installation: dict[str, Any]) -> int:
    """Follow an installation until it ends; print the outcome; the exit code says how it ended."""
    ident = str(installation.get("installationId") or installation.get("id"))
    live = sys.stderr.isatty() and not args.no_progress
    reporter = ProgressReporter(sys.stderr if args.json else sys.stdout, sys.stderr, live=live,
                                show_logs=not args.quiet)
    try:
        final = client.installations.wait(ident, poll_interval=args.poll_interval, timeout=args.wait_timeout,
                                          progress=reporter.progress, on_log=reporter.log)
    except InstallationTimeout as error:
        reporter.finish()
        print(f"gave up waiting: {error.message}; follow it with `marketplace installations status {ident}`",
              file=sys.stderr)
        return EXIT_TIMEOUT
    except KeyboardInterrupt:
        reporter.finish()
        print(f"\nstopped following; the installation goes on. Cancel it with "
              f"`marketplace installations cancel {ident}`", file=sys.stderr)
        return EXIT_INTERRUPTED
    reporter.finish()
    status = final.get("status")
    if args.json:
        emit_json(final)
    else:
        summary = f"installation {ident} {status}"
        if final.get("duration") is not None:
            summary += f" in {final['duration']}s"
        failure = final.get("error")
        if isinstance(failure, dict) and failure.get("message"):
            summary += f": {failure.get('code', '')} {failure['message']}".replace(":  ", ": ")
        print(summary, file=sys.stderr if status in FAILED_STATUSES else sys.stdout)
    return EXIT_FAILED if status in FAILED_STATUSES else EXIT_OK


# -- commands ------------------------------------------------------------------------------------

PLUGIN_COLUMNS: list[tuple[str, Any]] = [
    ("ID", "id"), ("NAME", "name"), ("VERSION", "version"), ("CATEGORY", "category"),
    ("RATING", "rating"), ("DOWNLOADS", "downloads"), ("VERIFIED", "verified"),
]
INSTALLATION_COLUMNS: list[tuple[str, Any]] = [
    ("ID", lambda r: r.get("installationId") or r.get("id")), ("PLUGIN", "pluginId"),
    ("VERSION", lambda r: r.get("version") or (r.get("details") or {}).get("version")),
    ("ENVIRONMENT", lambda r: r.get("environment") or (r.get("details") or {}).get("environment")),
    ("NAMESPACE", lambda r: r.get("namespace") or (r.get("details") or {}).get("namespace")),
    ("STATUS", "status"), ("PROGRESS", lambda r: f"{(r.get('progress') or {}).get('percentage', 0)}%"),
]
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


def cmd_configure(args: argparse.Namespace) -> int:
    config = load_config()
    url = args.url or config.get("url")
    key = args.api_key or config.get("apiKey")
    if sys.stdin.isatty() and not (args.url and args.api_key):
        url = input(f"Portal URL [{url or DEFAULT_BASE_URL}]: ").strip() or url or DEFAULT_BASE_URL
        import getpass

        entered = getpass.getpass("API key (empty to keep the current one, '-' for none): ").strip()
        key = None if entered == "-" else entered or key
    url = url or DEFAULT_BASE_URL
    client = MarketplaceClient(api_key=key, base_url=url, timeout=args.timeout, max_retries=args.retries)
    who: dict[str, Any] | None = None
    if not args.no_verify:
        if key:
            who = client.accounts.me()
        else:
            client.plugins.list(limit=1)
    values = {**config, "url": url}
    if key:
        values["apiKey"] = key
    else:
        values.pop("apiKey", None)
    path = save_config(values)
    if args.json:
        emit_json({"config": str(path), "url": url, "account": who})
    else:
        account = f" as {who.get('name')} ({who.get('role')})" if who else ""
        print(f"saved {path}: {url}{account}")
    return EXIT_OK


def cmd_whoami(args: argparse.Namespace) -> int:
    client = make_client(args)
    return show_record(args, client.accounts.me(), [("id", "id"), ("name", "name"), ("email", "email"),
                                                    ("role", "role"), ("tier", "tier")])


def _plugin_filters(args: argparse.Namespace) -> dict[str, Any]:
    return {"category": args.category, "tags": args.tags, "verified": True if args.verified else None,
            "featured": True if args.featured else None, "min_rating": args.min_rating,
            "compatibility": args.compatibility}


def cmd_plugins_list(args: argparse.Namespace) -> int:
    client = make_client(args)
    page = client.plugins.list(page=args.page, limit=args.limit, search=args.search, sort=args.sort,
                               order=args.order, **_plugin_filters(args))
    return show_list(args, page, PLUGIN_COLUMNS)


def cmd_plugins_search(args: argparse.Namespace) -> int:
    client = make_client(args)
    filters: dict[str, Any] = {}
    if args.category:
        filters["categories"] = args.category
    if args.tags:
        filters["tags"] = args.tags.split(",")
    for key, value in (("minRating", args.min_rating), ("verified", True if args.verified else None),
                       ("featured", True if args.featured else None)):
        if value is not None:
            filters[key] = value
    if args.compatibility:
        filters["compatibility"] = {"backstage": args.compatibility}
    page = client.plugins.search(args.query, filters=filters or None, sort=args.sort, order=args.order,
                                 page=args.page, limit=args.limit)
    return show_list(args, page, PLUGIN_COLUMNS)


def cmd_plugins_show(args: argparse.Namespace) -> int:
    client = make_client(args)
    plugin = client.plugins.get(args.plugin)
    return show_record(args, plugin, [
        ("id", "id"), ("name", "name"), ("display name", "displayName"), ("version", "version"),
        ("description", "description"), ("category", "category"), ("tags", "tags"),
        ("author", lambda p: (p.get("author") or {}).get("name")), ("license", "license"),
        ("verified", "verified"), ("featured", "featured"), ("rating", "rating"), ("downloads", "downloads"),
        ("compatibility", lambda p: (p.get("compatibility") or {}).get("backstage")),
        ("repository", "repository"), ("documentation", "documentation"),
        ("versions", lambda p: [v.get("version") for v in p.get("versions") or []]),
    ])


def cmd_plugins_versions(args: argparse.Namespace) -> int:
    client = make_client(args)
    page = client.plugins.versions(args.plugin, page=args.page, limit=args.limit)
    return show_list(args, page, [("VERSION", "version"), ("RELEASED", "releaseDate"),
                                  ("BACKSTAGE", lambda v: (v.get("compatibility") or {}).get("backstage")),
                                  ("YANKED", lambda v: v.get("yanked") or bool(v.get("yankedReason")))])


def cmd_plugins_download(args: argparse.Namespace) -> int:
    client = make_client(args)
    result = client.plugins.download(args.plugin, args.version, args.output or None)
    if args.json:
        emit_json({"pluginId": result.plugin_id, "version": result.version, "path": str(result.path),
                   "size": result.size, "sha256": result.sha256, "integrity": result.integrity})
    else:
        print(f"{result.path} ({result.size} bytes, {result.integrity})")
    return EXIT_OK


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


def cmd_publish(args: argparse.Namespace) -> int:
    client = make_client(args)
    if not (args.plugin_file or args.package or args.icon or args.screenshot):
        raise UsageError("give --plugin-file (a new plugin), and/or --package with --metadata or --version "
                         "(a new version), and/or --icon/--screenshot")
    result: dict[str, Any] = {}
    plugin_id = args.plugin
    if args.plugin_file:
        metadata = read_json_file(args.plugin_file)
        if not isinstance(metadata, dict):
            raise UsageError("--plugin-file must hold a JSON object")
        plugin = client.publisher.create_plugin(metadata)
        plugin_id = plugin.get("id")
        result["plugin"] = plugin
        if not args.json:
            print(f"created plugin {plugin_id} ({plugin.get('name')})")
    if (args.package or args.icon or args.screenshot) and not plugin_id:
        raise UsageError("name the plugin with --plugin (or create it with --plugin-file)")
    if args.icon or args.screenshot:
        result["images"] = client.publisher.upload_images(plugin_id, icon=args.icon, screenshots=args.screenshot or [])
        if not args.json:
            print(f"uploaded images for {plugin_id}")
    if args.package:
        metadata = read_json_file(args.metadata) if args.metadata else {}
        if not isinstance(metadata, dict):
            raise UsageError("--metadata must hold a JSON object")
        if args.version:
            metadata["version"] = args.version
        if args.changelog:
            metadata["changelog"] = args.changelog
        if not metadata.get("version"):
            raise UsageError("the version is missing: give --version or put it in --metadata")
        version = client.publisher.publish_version(plugin_id, args.package, metadata)
        result["version"] = version
        if not args.json:
            integrity = version.get("integrity") or (version.get("package") or {}).get("integrity") or ""
            print(f"published {plugin_id} {version.get('version', metadata['version'])} {integrity}".rstrip())
    elif args.metadata or args.version:
        raise UsageError("--metadata/--version need --package")
    if args.json:
        emit_json(result)
    return EXIT_OK


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


# -- parser --------------------------------------------------------------------------------------


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

    def add(group: Any, name: str, func: Callable[[argparse.Namespace], int], help_text: str,
            **kwargs: Any) -> argparse.ArgumentParser:
        sub: argparse.ArgumentParser = group.add_parser(name, parents=[common], help=help_text,
                                                        description=help_text, **kwargs)
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
    show = add(plugins, "show", cmd_plugins_show, "every detail of one plugin")
    show.add_argument("plugin", help="plugin id or name")
    versions = add(plugins, "versions", cmd_plugins_versions, "the versions of a plugin")
    versions.add_argument("plugin", help="plugin id or name")
    paging(versions)
    download = add(plugins, "download", cmd_plugins_download, "download a version's package")
    download.add_argument("plugin", help="plugin id or name")
    download.add_argument("--version", dest="version", help="version (default: the latest)")
    download.add_argument("--output", "-o", help="file or directory to write to (default: here)")

    install = add(commands, "install", cmd_install, "install a plugin and follow it until it finishes")
    install.add_argument("plugin", help="plugin id or name")
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
    status = add(installations, "status", cmd_installations_status, "status and progress of an installation")
    status.add_argument("installation", help="installation id")
    logs = add(installations, "logs", cmd_installations_logs, "log lines of an installation")
    logs.add_argument("installation", help="installation id")
    logs.add_argument("--follow", "-f", action="store_true", help="keep printing until it finishes")
    logs.add_argument("--poll-interval", type=float, default=1.0)
    logs.add_argument("--wait-timeout", type=float, default=1800.0)
    cancel = add(installations, "cancel", cmd_installations_cancel, "cancel a running installation")
    cancel.add_argument("installation", help="installation id")
    cancel.add_argument("--wait", action="store_true", help="wait until it is cancelled and rolled back")
    cancel.add_argument("--poll-interval", type=float, default=1.0)
    cancel.add_argument("--wait-timeout", type=float, default=600.0)
    upgrade = add(installations, "upgrade", cmd_installations_upgrade, "move an installation to another version")
    upgrade.add_argument("installation", help="installation id")
    upgrade.add_argument("version", nargs="?", help="the version (default: the latest)")
    upgrade.add_argument("--config", help="new configuration: JSON, or @file.json")
    following(upgrade)
    uninstall = add(installations, "uninstall", cmd_installations_uninstall, "remove an installed plugin")
    uninstall.add_argument("installation", help="installation id")
    following(uninstall)

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
    deliveries = add(webhooks, "deliveries", cmd_webhooks_deliveries, "deliveries of a subscription")
    deliveries.add_argument("webhook", help="webhook id")
    deliveries.add_argument("--status", help="only deliveries with this status")
    paging(deliveries)
    delete = add(webhooks, "delete", cmd_webhooks_delete, "delete a subscription")
    delete.add_argument("webhook", help="webhook id")
    ping = add(webhooks, "ping", cmd_webhooks_ping, "send a test delivery")
    ping.add_argument("webhook", help="webhook id")
    redeliver = add(webhooks, "redeliver", cmd_webhooks_redeliver, "send a delivery again")
    redeliver.add_argument("webhook", help="webhook id")
    redeliver.add_argument("delivery", help="delivery id")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``marketplace`` console script; returns the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    for name, default in (("url", None), ("api_key", None), ("json", False), ("timeout", 30.0), ("retries", 3)):
        if not hasattr(args, name):
            setattr(args, name, default)
    try:
        code: int = args.func(args)
        return code
    except UsageError as error:
        print(f"marketplace: {error}", file=sys.stderr)
        return EXIT_USAGE
    except MarketplaceConnectionError as error:
        print(f"marketplace: {error.message}", file=sys.stderr)
        return EXIT_UNREACHABLE
    except MarketplaceError as error:
        if args.json:
            emit_json({"error": {"code": error.code, "message": error.message, "details": error.details},
                       "status": error.status, "requestId": error.request_id}, sys.stderr)
        else:
            print(f"marketplace: {error}", file=sys.stderr)
            fields = error.details.get("fields") if isinstance(error.details, dict) else None
            if isinstance(fields, dict):
                for field, messages in fields.items():
                    print(f"  {field}: {cell(messages)}", file=sys.stderr)
        return EXIT_API_ERROR
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED


if __name__ == "__main__":
    sys.exit(main())
