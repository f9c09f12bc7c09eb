"""The spec's list shape, shared by every paginated list: the page arguments, the `pagination`, `links` and
`metadata` blocks, and the schemas that document them."""

import math
from urllib.parse import urlencode

import marshmallow as ma
from flask import request

from .api import response_metadata


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
    # The other parameters encoded once for the five links (page and limit are integers: nothing to escape).
    rest = f"&{urlencode(base_query)}" if base_query else ""

    def link(target_page: int) -> str:
        return f"{path}?page={target_page}&limit={limit}{rest}"

    total_pages = math.ceil(total / limit) if total else 0
    links = {"self": link(page), "first": link(1)}
    if page > 1:
        links["prev"] = link(min(page - 1, max(total_pages, 1)))
    if page < total_pages:
        links["next"] = link(page + 1)
    links["last"] = link(max(total_pages, 1))
    return links


def page_body(items: list, page: int, limit: int, total: int) -> dict:
    """A list response: one page of items with its pagination, links and metadata."""
    return {"data": items, "pagination": pagination_block(page, limit, total),
            "links": links_block(page, limit, total), "metadata": response_metadata()}


class PaginationSchema(ma.Schema):
    """Documents pagination_block() (the OpenAPI component `Pagination`)."""

    page = ma.fields.Integer(required=True)
    limit = ma.fields.Integer(required=True)
    total = ma.fields.Integer(required=True)
    totalPages = ma.fields.Integer(required=True)
    hasNextPage = ma.fields.Boolean(required=True)
    hasPrevPage = ma.fields.Boolean(required=True)


class LinksSchema(ma.Schema):
    """Documents links_block() (the OpenAPI component `Links`): prev and next only where there is such a page."""

    self_ = ma.fields.String(required=True, data_key="self", attribute="self")  # dumped from links_block()
    first = ma.fields.String(required=True)
    prev = ma.fields.String()
    next = ma.fields.String()
    last = ma.fields.String(required=True)


class MetadataSchema(ma.Schema):
    """Documents marketplace_shared.api.response_metadata() (the OpenAPI component `Metadata`)."""

    version = ma.fields.String(required=True)
    timestamp = ma.fields.String(required=True, metadata={"format": "date-time"})
    requestId = ma.fields.String(required=True, allow_none=True)
    responseTime = ma.fields.Integer(required=True)


def page_schema(name: str, item: type[ma.Schema]) -> type[ma.Schema]:
    """The response schema of a list of `item`s, as page_body() builds it, called `name`.

    `name` is the class name, so the OpenAPI component keeps its name (`WebhookListSchema` is `WebhookList`).
    """
    return ma.Schema.from_dict({
        "data": ma.fields.List(ma.fields.Nested(item), required=True),
        "pagination": ma.fields.Nested(PaginationSchema, required=True),
        "links": ma.fields.Nested(LinksSchema, required=True),
        "metadata": ma.fields.Nested(MetadataSchema, required=True),
    }, name=name)
