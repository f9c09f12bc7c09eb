"""``marketplace plugins ...``: browse the catalog, show a plugin and its versions, download a package."""

from __future__ import annotations

import argparse
from typing import Any

from ..exits import EXIT_OK
from ..output import emit_json, show_list, show_record
from ..settings import make_client

PLUGIN_COLUMNS: list[tuple[str, Any]] = [
    ("ID", "id"), ("NAME", "name"), ("VERSION", "version"), ("CATEGORY", "category"),
    ("RATING", "rating"), ("DOWNLOADS", "downloads"), ("VERIFIED", "verified"),
]


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

