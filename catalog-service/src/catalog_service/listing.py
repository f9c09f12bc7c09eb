"""Listing public plugins: filters, sorts, pages and exact totals (words go to the database's TextSearch), and the
category and tag lists."""

import functools
import re

from sqlalchemy import BigInteger, Boolean, Float, String, and_, bindparam, cast, column, func, select, table, true
from sqlalchemy.orm import Session

from .catalog_sql import (
    CATALOG_COUNTS,
    LITERAL_LIMIT,
    LITERAL_OFFSET,
    PLUGIN_TAGS,
    PLUGINS,
    SORTS,
    SUMMARY,
    SUMMARY_COLUMNS,
    Shape,
    filter_conditions,
    shape_conditions,
    sort_keys,
)
from .semver import intersects, normalize_version, satisfies
from .textsearch import text_search_for

_DECLARED_RANGES = select(CATALOG_COUNTS.c.dimension, CATALOG_COUNTS.c.value).where(
    CATALOG_COUNTS.c.dimension.in_(bindparam("dimensions", expanding=True)), CATALOG_COUNTS.c.count > 0)


def matching_ranges(session: Session, **wanted: str | None) -> dict[str, list[str]]:
    """For each dimension given a value (`backstage`, `node`), the ranges public plugins declare (few:
    catalog_counts holds each with its count) that admit it (a version) or overlap it (a range); one statement
    for both."""
    wanted = {dimension: value for dimension, value in wanted.items() if value}
    if not wanted:
        return {}
    declared: dict[str, list[str]] = {dimension: [] for dimension in wanted}
    for dimension, value in session.execute(_DECLARED_RANGES, {"dimensions": list(wanted)}):
        declared[dimension].append(value)
    return {dimension: _admitting(declared[dimension], value) for dimension, value in wanted.items()}


def _admitting(ranges: list[str], wanted: str) -> list[str]:
    version = normalize_version(wanted)
    if version is not None and re.match(r"^v?\d+\.\d+\.\d+", wanted.strip()):
        return [r for r in ranges if satisfies(version, r)]
    return [r for r in ranges if intersects(r, wanted)]


# PostgreSQL only (migration 0008): plugin_tags with the filter columns copied from plugins by triggers.
_TAGS_WITH_FILTERS = table("plugin_tags", column("tag", String), column("plugin_id", String),
                           column("public", Boolean), column("popularity", BigInteger), column("category", String),
                           column("verified", Boolean), column("featured", Boolean), column("rating_average", Float),
                           column("price", Float), column("compat_backstage", String), column("compat_node", String))


@functools.lru_cache(maxsize=256)
def _count(shape: Shape, postgres: bool):
    """The exact total: from catalog_counts or the tag index when the filters allow it (without visiting the
    matching plugins), else by counting them."""
    kinds = shape.kinds()
    if postgres and shape.tags and kinds != {"tags"}:  # a tag and other filters: from the tag's index entries
        tagged = _TAGS_WITH_FILTERS.c
        return select(func.count()).select_from(_TAGS_WITH_FILTERS).where(
            tagged.tag == bindparam("tag_0"), tagged.public == true(),
            *filter_conditions(shape, tagged, tagged.plugin_id, first_tag_joined=True))
    kept = cast(func.coalesce(func.sum(CATALOG_COUNTS.c.count), 0), BigInteger)  # sum() is numeric on PostgreSQL
    if not kinds:
        return select(kept).where(CATALOG_COUNTS.c.dimension == "all")
    if kinds in ({"categories"}, {"backstage"}, {"node"}):
        (kind,) = kinds
        dimension = "category" if kind == "categories" else kind
        return select(kept).where(CATALOG_COUNTS.c.dimension == dimension,
                                  CATALOG_COUNTS.c.value.in_(bindparam(kind, expanding=True)))
    if kinds == {"tags"} and shape.tags == 1:
        return select(kept).where(CATALOG_COUNTS.c.dimension == "tag", CATALOG_COUNTS.c.value == bindparam("tag_0"))
    if kinds == {"tags"}:
        # Plugins holding every tag: each tag's public rows, joined on plugin_id (merge joins of rows the index
        # gives in plugin_id order; grouping them all took twice as long).
        rows = [PLUGIN_TAGS.alias(f"tagged_{index}") for index in range(shape.tags)]
        joined = rows[0]
        for row in rows[1:]:
            joined = joined.join(row, row.c.plugin_id == rows[0].c.plugin_id)
        return select(func.count()).select_from(joined).where(
            *[and_(row.c.tag == bindparam(f"tag_{index}"), row.c.public == true()) for index, row in enumerate(rows)])
    return select(func.count()).select_from(PLUGINS).where(shape_conditions(shape))


@functools.lru_cache(maxsize=256)
def _page(shape: Shape, sort: str, order: str, with_total: bool, postgres: bool):
    """A page of summaries: only the columns plugin_summary shows (not the long texts and JSON of details), as
    plain rows; a first page brings its total along (one round trip)."""
    if postgres and sort == "popularity" and (shape.tags > 1 or (shape.tags and shape.kinds() != {"tags"})):
        return _tag_rows_page(shape, order, with_total)
    if shape.tags and sort == "popularity":
        # Walk the first tag's rows in popularity order (plugin_tags.popularity is plugins.popularity) and stop
        # after the page, rather than the whole catalog's popularity order looking for a rare tag.
        tagged = PLUGIN_TAGS.c
        statement = (SUMMARY.select_from(PLUGIN_TAGS.join(PLUGINS, PLUGINS.c.id == tagged.plugin_id))
                     .where(tagged.tag == bindparam("tag_0"), tagged.public == true(),
                            shape_conditions(shape, first_tag_joined=True)))
        direction = "asc" if order == "asc" else "desc"
        statement = statement.order_by(getattr(tagged.popularity, direction)(), tagged.plugin_id.asc())
        statement = statement.offset(LITERAL_OFFSET).limit(LITERAL_LIMIT)
    else:
        # The page's ids and sort keys first, then only those plugins' rows: on PostgreSQL the sort indexes carry
        # the filter columns (migration 0009), so the plugins a filtered sort walks past are tested in the index
        # and never read from the table.
        keys = [PLUGINS.c[name] for name in SORTS.get(sort, SORTS["popularity"])]
        page = (select(PLUGINS.c.id, *keys).where(shape_conditions(shape)).order_by(*sort_keys(sort, order))
                .offset(LITERAL_OFFSET).limit(LITERAL_LIMIT).subquery("page"))
        statement = (SUMMARY.select_from(page.join(PLUGINS, PLUGINS.c.id == page.c.id))
                     .order_by(*sort_keys(sort, order, page.c)))
    if with_total:
        statement = statement.add_columns(_count(shape, postgres).scalar_subquery().label("total_count"))
    return statement


def _tag_rows_page(shape: Shape, order: str, with_total: bool):
    """Several tags, or a tag with other filters, by popularity (PostgreSQL): the page is cut from the first tag's
    index entries that hold the other tags and pass the filters (columns plugin_tags carries, migrations 0008 and
    0009), counted by the same pass, before any plugins row is read: the matches are found once, not once for the
    page and again for the total (`github,ci` at 100,000 plugins: about 7 -> 3 ms in PostgreSQL). With `verified`
    the entries are the tag's verified (or unverified) range alone (migration 0010)."""
    tagged = _TAGS_WITH_FILTERS.c
    direction = "asc" if order == "asc" else "desc"
    counted = [func.count().over().label("total_count")] if with_total else []
    page = (select(tagged.plugin_id, tagged.popularity, *counted)
            .where(tagged.tag == bindparam("tag_0"), tagged.public == true(),
                   *filter_conditions(shape, tagged, tagged.plugin_id, first_tag_joined=True))
            .order_by(getattr(tagged.popularity, direction)(), tagged.plugin_id.asc())
            .offset(LITERAL_OFFSET).limit(LITERAL_LIMIT).subquery("page"))
    return (select(*SUMMARY_COLUMNS, *([page.c.total_count] if with_total else []))
            .select_from(page.join(PLUGINS, PLUGINS.c.id == page.c.plugin_id))
            .order_by(getattr(page.c.popularity, direction)(), page.c.plugin_id.asc()))


def query_plugins(session: Session, *, query: str | None = None, categories: list[str] | None = None,
                  tags: list[str] | None = None, verified: bool | None = None, featured: bool | None = None,
                  min_rating: float | None = None, max_price: float | None = None,
                  backstage: str | None = None, node: str | None = None, sort: str = "popularity",
                  order: str = "desc", page: int = 1, limit: int = 20) -> tuple[list, int]:
    """One page of public plugins matching the filters (rows of the summary columns, which plugin_summary
    turns into the API's summaries), and the exact total."""
    tags = list(dict.fromkeys(tags or []))
    shape = Shape(categories=bool(categories), tags=len(tags), verified=verified is not None,
                   featured=featured is not None, min_rating=min_rating is not None, max_price=max_price is not None,
                   backstage=bool(backstage), node=bool(node))
    params = {"categories": categories, "verified": verified, "featured": featured,
              "min_rating": min_rating, "max_price": max_price, "offset": (page - 1) * limit, "limit": limit,
              **{f"tag_{index}": tag for index, tag in enumerate(tags)}}
    params.update(matching_ranges(session, backstage=backstage, node=node))
    if query and query.strip():
        return text_search_for(session).page(session, query, shape, params, sort, order, page, limit)
    postgres = session.get_bind().dialect.name == "postgresql"
    if page > 1:
        total = session.scalar(_count(shape, postgres), params) or 0
        if params["offset"] >= total:
            return [], total  # past the end: no need to skip over every match
        return list(session.execute(_page(shape, sort, order, False, postgres), params)), total
    rows = session.execute(_page(shape, sort, order, True, postgres), params).all()
    # An empty page counts alone.
    total = rows[0].total_count if rows else session.scalar(_count(shape, postgres), params)
    return rows, int(total or 0)


def categories(session: Session) -> list[dict]:
    rows = session.execute(select(PLUGINS.c.category, func.count()).where(PLUGINS.c.is_public == true())
                           .group_by(PLUGINS.c.category).order_by(func.count().desc(), PLUGINS.c.category)).all()
    return [{"name": name, "count": count} for name, count in rows]


def tag_counts(session: Session) -> list[dict]:
    tagged = PLUGIN_TAGS.c
    rows = session.execute(select(tagged.tag, func.count()).join(PLUGINS, PLUGINS.c.id == tagged.plugin_id)
                           .where(PLUGINS.c.is_public == true()).group_by(tagged.tag)
                           .order_by(func.count().desc(), tagged.tag)).all()
    return [{"name": name, "count": count} for name, count in rows]
