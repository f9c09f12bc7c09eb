"""The spec's `pagination` and `links` blocks, shared by every paginated list."""

import math
from urllib.parse import urlencode

import marshmallow as ma
from flask import request


class PageArgsSchema(ma.Schema):
    # Bounded so that the offset always fits the databases' 64-bit integers (a 20-digit page was a 500).
    page = ma.fields.Integer(load_default=1, validate=ma.validate.Range(min=1, max=1_000_000))
    limit = ma.fields.Integer(load_default=20, validate=ma.validate.Range(min=1, max=100))


def pagination_block(page: int, limit: int, total: int) -> dict:
    total_pages = math.ceil(total / limit) if total else 0
    return {
        "page": page,
        "limit": limit,
        "total": total,
        "totalPages": total_pages,
        "hasNextPage": page < total_pages,
        "hasPrevPage": page > 1,
    }


def links_block(page: int, limit: int, total: int, path: str | None = None,
                query: dict | None = None) -> dict:
    """self/first/prev/next/last, keeping the client's other query parameters."""
    path = path or request.path
    base_query = dict(query if query is not None else request.args.items())
    base_query.pop("page", None)
    base_query.pop("limit", None)

    def link(target_page: int) -> str:
        return f"{path}?{urlencode({'page': target_page, 'limit': limit, **base_query})}"

    total_pages = math.ceil(total / limit) if total else 0
    links = {"self": link(page), "first": link(1)}
    if page > 1:
        links["prev"] = link(min(page - 1, max(total_pages, 1)))
    if page < total_pages:
        links["next"] = link(page + 1)
    links["last"] = link(max(total_pages, 1))
    return links
