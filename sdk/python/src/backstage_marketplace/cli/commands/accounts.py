"""``marketplace configure`` and ``marketplace whoami``: the settings and the account they stand for."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from ...client import DEFAULT_BASE_URL, MarketplaceClient
from ..exits import EXIT_OK
from ..output import emit_json, show_record
from ..settings import load_config, make_client, save_config


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
