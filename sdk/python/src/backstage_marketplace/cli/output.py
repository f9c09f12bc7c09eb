"""How the command prints: tables and records for people, JSON with ``--json``, API errors on stderr."""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from collections.abc import Callable, Iterable, Sequence
from typing import IO, Any

from ..errors import MarketplaceError
from .exits import EXIT_OK


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


def show_api_error(args: argparse.Namespace, error: MarketplaceError) -> None:
    """An error the API answered with, on standard error: the envelope with --json, else a line per problem."""
    if args.json:
        emit_json({"error": {"code": error.code, "message": error.message, "details": error.details},
                   "status": error.status, "requestId": error.request_id}, sys.stderr)
        return
    print(f"marketplace: {error}", file=sys.stderr)
    fields = error.details.get("fields") if isinstance(error.details, dict) else None
    if isinstance(fields, dict):
        for field, messages in fields.items():
            print(f"  {field}: {cell(messages)}", file=sys.stderr)
