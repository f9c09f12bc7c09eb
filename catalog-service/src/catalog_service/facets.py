"""Facets: exact counts per value of the plugins a listing matches, following its other active filters."""

from sqlalchemy import func, select, true
from sqlalchemy.orm import Session

from .catalog_sql import PLUGIN_TAGS, PLUGINS, has_tag
from .listing import matching_ranges
from .textsearch import text_search_for

FACETS = ("category", "tags", "verified", "featured")
FACET_TAG_LIMIT = 30


def facet_counts(session: Session, *, query: str | None = None, categories: list[str] | None = None,
                 tags: list[str] | None = None, verified: bool | None = None, featured: bool | None = None,
                 min_rating: float | None = None, max_price: float | None = None, backstage: str | None = None,
                 node: str | None = None) -> dict:
    """Exact counts of the public plugins matching the filters, per category, tag, verified and featured.

    Each facet applies every active filter but its own (a category's count is what choosing it instead would
    give; `tags` keep all the tags chosen, since tags add up: a tag's count is what adding it would give).
    Tags: the FACET_TAG_LIMIT most frequent among the matches.
    """
    tags = list(dict.fromkeys(tags or []))
    base = [PLUGINS.c.is_public == true()]
    if min_rating is not None:
        base.append(PLUGINS.c.rating_average >= min_rating)
    if max_price is not None:
        base.append(PLUGINS.c.price <= max_price)
    ranges = matching_ranges(session, backstage=backstage, node=node)
    if backstage:
        base.append(PLUGINS.c.compat_backstage.in_(ranges["backstage"]))
    if node:
        base.append(PLUGINS.c.compat_node.in_(ranges["node"]))
    base += [has_tag(tag) for tag in tags]
    own = {"category": PLUGINS.c.category.in_(categories) if categories else None,
           "verified": PLUGINS.c.verified == verified if verified is not None else None,
           "featured": PLUGINS.c.featured == featured if featured is not None else None}
    backend = text_search_for(session)
    fuzzy_options = (False, True) if query and query.strip() and backend.retries_fuzzy else (False,)
    for fuzzy in fuzzy_options:
        conditions = list(base)
        if query and query.strip():
            matched = backend.condition(session, query, fuzzy)
            if matched is None:
                return {name: [] for name in FACETS}
            conditions.append(matched)
        result = _facets_for(session, conditions, own)
        # As the list does: words that match nothing are taken for typos of the catalog's words.
        if any(item["count"] for item in result["category"]):
            return result
    return result


def _facets_for(session: Session, conditions: list, own: dict) -> dict:
    def others(name):
        return [*conditions, *(condition for key, condition in own.items() if key != name and condition is not None)]

    category = PLUGINS.c.category
    rows = session.execute(select(category, func.count()).where(*others("category")).group_by(category)
                           .order_by(func.count().desc(), category)).all()
    result = {"category": [{"value": value, "count": count} for value, count in rows]}
    tagged = PLUGIN_TAGS.c
    rows = session.execute(select(tagged.tag, func.count())
                           .select_from(PLUGIN_TAGS.join(PLUGINS, PLUGINS.c.id == tagged.plugin_id))
                           .where(tagged.public == true(), *others("tags")).group_by(tagged.tag)
                           .order_by(func.count().desc(), tagged.tag).limit(FACET_TAG_LIMIT)).all()
    result["tags"] = [{"value": value, "count": count} for value, count in rows]
    for name in ("verified", "featured"):
        column_ = PLUGINS.c[name]
        counts = dict(session.execute(select(column_, func.count()).where(*others(name)).group_by(column_)).all())
        result[name] = [{"value": "true", "count": int(counts.get(True, 0))},
                        {"value": "false", "count": int(counts.get(False, 0))}]
    return result
