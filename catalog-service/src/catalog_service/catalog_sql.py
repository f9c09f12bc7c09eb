"""The parts of the catalog's read statements that listing, facets and both text-search backends share: the tables
as Core, the summary columns, the list orderings, the filters of a listing's shape, and what a query's words are."""

import functools
import re
from typing import NamedTuple

from sqlalchemy import Integer, and_, bindparam, case, func, or_, select, true

from .models import CatalogCount, Plugin, PluginTag, SearchTerm

MAX_TERMS = 8

# Reads build Core statements on the tables (not the ORM classes): their plain rows skip the ORM's loading
# machinery, and plugin_summary reads them.
PLUGINS, PLUGIN_TAGS, CATALOG_COUNTS, SEARCH_TERMS = (model.__table__ for model in (Plugin, PluginTag, CatalogCount,
                                                                                   SearchTerm))


def terms(query: str) -> list[str]:
    return re.findall(r"[a-z0-9]+", query.lower())[:MAX_TERMS]


def exact_names(query: str, corrected: str | None) -> list[str]:
    """What a name or a lowercased display name equals when it is the query: the query as typed, as a slug, and
    its corrected form."""
    texts = {query.strip().lower()} | ({corrected} if corrected else set())
    return sorted(texts | {re.sub(r"[^a-z0-9]+", "-", lowered).strip("-") for lowered in texts})


def exact_rank(name, display_name, names):
    """1 when the name or display name is one of `names` (exact_names(), or an expanding bind parameter that
    will be given them), else 0."""
    return case((or_(name.in_(names), func.lower(display_name).in_(names)), 1), else_=0)


def has_tag(tag: str, plugin_id=PLUGINS.c.id):
    # The public rows of a tag come from the partial index (tag, plugin_id) alone.
    tagged = PLUGIN_TAGS.c
    return plugin_id.in_(select(tagged.plugin_id).where(tagged.tag == tag, tagged.public == true()))


SUMMARY_COLUMNS = tuple(PLUGINS.c[name] for name in (
    "id", "name", "display_name", "description", "latest_version", "author_name", "author_email", "author_url",
    "category", "tags", "icon", "verified", "featured", "rating_average", "rating_count", "downloads_total",
    "compat_backstage", "compat_node", "compat_platform", "pricing_model", "price", "currency", "deprecated",
    "updated_at"))

# Built once: each request adds its filters and order to a copy.
SUMMARY = select(*SUMMARY_COLUMNS)


SORTS = {  # the sort keys of each sort, before the id that breaks ties
    "name": ["name"],
    "popularity": ["popularity"],
    "updated": ["updated_at"],
    "rating": ["rating_average", "rating_count"],
}


class Shape(NamedTuple):
    """Which filters a listing has, not their values: the statements of a shape are built once (and compiled
    once by SQLAlchemy's cache); each request binds its own values."""

    categories: bool
    tags: int
    verified: bool
    featured: bool
    min_rating: bool
    max_price: bool
    backstage: bool
    node: bool

    def kinds(self) -> set[str]:
        return {name for name, present in self._asdict().items() if present}


@functools.lru_cache(maxsize=256)
def shape_conditions(shape: Shape, first_tag_joined: bool = False):
    """The filters on plugins; `first_tag_joined`: the first tag is the plugin_tags row the statement joins."""
    return and_(PLUGINS.c.is_public == true(), *filter_conditions(shape, PLUGINS.c, PLUGINS.c.id, first_tag_joined))


def filter_conditions(shape: Shape, columns, plugin_id, first_tag_joined: bool = False) -> list:
    """The filters of a shape on `columns` (plugins or a table carrying the same filter columns), visibility
    apart."""
    conditions = []
    if shape.categories:
        conditions.append(columns.category.in_(bindparam("categories", expanding=True)))
    conditions += [has_tag(bindparam(f"tag_{index}"), plugin_id)
                   for index in range(1 if first_tag_joined else 0, shape.tags)]
    if shape.verified:
        conditions.append(columns.verified == bindparam("verified"))
    if shape.featured:
        conditions.append(columns.featured == bindparam("featured"))
    if shape.min_rating:
        conditions.append(columns.rating_average >= bindparam("min_rating"))
    if shape.max_price:
        conditions.append(columns.price <= bindparam("max_price"))
    if shape.backstage:  # the declared ranges that admit the wanted version (none: IN () is false)
        conditions.append(columns.compat_backstage.in_(bindparam("backstage", expanding=True)))
    if shape.node:
        conditions.append(columns.compat_node.in_(bindparam("node", expanding=True)))
    return conditions


def sort_keys(sort: str, order: str, columns=PLUGINS.c) -> list:
    """ORDER BY of a list sort, on the plugins table or a subquery with the same column names."""
    keys = [columns[name] for name in SORTS.get(sort, SORTS["popularity"])]
    return [key.asc() if order == "asc" else key.desc() for key in keys] + [columns.id.asc()]


OFFSET, LIMIT = bindparam("offset", type_=Integer), bindparam("limit", type_=Integer)
# The same rendered into the SQL text at execution (one text per page size and offset). PostgreSQL plans a
# parameter LIMIT/OFFSET as 10% of the rows, so a prepared statement's generic plan always looks dearer than a
# custom one and each execution is planned again: half of a list page's CPU in PostgreSQL. With the values in the
# text, a list statement (whose plan the filter values barely change) gets its generic plan after five runs.
# Not for text searches: a word's frequency decides their plan, and a generic one was 1.5x slower.
LITERAL_OFFSET = bindparam("offset", type_=Integer, literal_execute=True)
LITERAL_LIMIT = bindparam("limit", type_=Integer, literal_execute=True)
