"""Listing and full-text search: FTS5 on SQLite, weighted tsvector + pg_trgm on PostgreSQL."""

import difflib
import re

from sqlalchemy import Float, String, and_, case, exists, false, func, literal, literal_column, or_, select, text, true
from sqlalchemy.orm import Session

from .models import Plugin, PluginTag
from .semver import intersects, normalize_version, satisfies

MAX_TERMS = 8
# Word similarity (0..1) above which a name counts as a near miss of the query (typos).
TRIGRAM_THRESHOLD = 0.5


def _is_sqlite(session: Session) -> bool:
    return session.get_bind().dialect.name == "sqlite"


def reindex(session: Session, plugin: Plugin) -> None:
    """Keep the SQLite FTS table in step with the plugin (PostgreSQL uses a generated column)."""
    if not _is_sqlite(session):
        return
    session.execute(text("DELETE FROM plugin_fts WHERE plugin_id = :id"), {"id": plugin.id})
    session.execute(text("INSERT INTO plugin_fts (plugin_id, name, display_name, tags, description) "
                         "VALUES (:id, :name, :display_name, :tags, :description)"),
                    {"id": plugin.id, "name": plugin.name.replace("-", " "), "display_name": plugin.display_name,
                     "tags": plugin.tags_text, "description": plugin.description})


def terms(query: str) -> list[str]:
    return re.findall(r"[a-z0-9]+", query.lower())[:MAX_TERMS]


def _close_terms(session: Session, term: str) -> list[str]:
    if len(term) < 4:
        return []
    rows = session.execute(text("SELECT term FROM plugin_fts_vocab WHERE term >= :lo AND term < :hi"),
                           {"lo": term[0], "hi": chr(ord(term[0]) + 1)}).scalars().all()
    candidates = [row for row in rows if abs(len(row) - len(term)) <= 2 and row != term]
    return difflib.get_close_matches(term, candidates, n=5, cutoff=0.8)


def _sqlite_match(session: Session, query: str):
    """A subquery of (plugin_id, score) from FTS5 with prefixes and near-miss terms."""
    groups = []
    for term in terms(query):
        alternatives = [f'"{term}"*'] + [f'"{close}"' for close in _close_terms(session, term)]
        groups.append("(" + " OR ".join(alternatives) + ")")
    if not groups:
        return None
    # bm25 weights per column: plugin_id (unindexed), name, display_name, tags, description.
    return (text("SELECT plugin_id, -bm25(plugin_fts, 0.0, 10.0, 5.0, 3.0, 1.0) AS score "
                 "FROM plugin_fts WHERE plugin_fts MATCH :match")
            .bindparams(match=" AND ".join(groups))
            .columns(plugin_id=String, score=Float).subquery("fts"))


def _postgres_match(query: str, fuzzy: bool):
    """(condition, score) on the generated tsvector, plus trigram similarity of the names when `fuzzy`."""
    words = terms(query)
    if not words:
        return None, None
    tsquery = func.to_tsquery("simple", literal(" & ".join(f"{w}:*" for w in words)))
    vector = literal_column("plugins.search_vector")
    q = literal(" ".join(words))
    name_similarity = func.word_similarity(q, Plugin.name)
    display_similarity = func.word_similarity(q, func.lower(Plugin.display_name))
    condition = vector.op("@@")(tsquery)
    if fuzzy:
        condition = or_(condition, q.op("<%")(Plugin.name), q.op("<%")(func.lower(Plugin.display_name)))
    # Near misses rank by how close the query is to the words of a name, then to the whole name.
    score = (func.ts_rank(vector, tsquery) + func.greatest(name_similarity, display_similarity) * 0.5
             + func.similarity(q, Plugin.name) * 0.5)
    return condition, score


def _compat_filter(session: Session, column, wanted: str):
    """Plugins whose declared range admits `wanted` (a version) or overlaps it (a range)."""
    ranges = _distinct_values(session, column)
    version = normalize_version(wanted)
    if version is not None and re.match(r"^v?\d+\.\d+\.\d+", wanted.strip()):
        matching = [r for r in ranges if satisfies(version, r)]
    else:
        matching = [r for r in ranges if intersects(r, wanted)]
    return column.in_(matching) if matching else false()


def _distinct_values(session: Session, column) -> list[str]:
    """The distinct declared ranges (few), read from the column's index without a table scan."""
    if _is_sqlite(session):
        return list(session.scalars(select(column).where(column.is_not(None)).distinct()))
    name = column.key
    rows = session.execute(text(
        f"WITH RECURSIVE r(v) AS (SELECT min({name}) FROM plugins UNION ALL "
        f"SELECT (SELECT min({name}) FROM plugins WHERE {name} > r.v) FROM r WHERE r.v IS NOT NULL) "
        "SELECT v FROM r WHERE v IS NOT NULL")).scalars()
    return list(rows)


def _has_tag(tag: str):
    return exists().where(PluginTag.plugin_id == Plugin.id, PluginTag.tag == tag)


_SORTS = {
    "name": [Plugin.name],
    "popularity": [Plugin.popularity],
    "updated": [Plugin.updated_at],
    "rating": [Plugin.rating_average, Plugin.rating_count],
}


def query_plugins(session: Session, *, query: str | None = None, categories: list[str] | None = None,
                  tags: list[str] | None = None, verified: bool | None = None, featured: bool | None = None,
                  min_rating: float | None = None, max_price: float | None = None,
                  backstage: str | None = None, node: str | None = None, sort: str = "popularity",
                  order: str = "desc", page: int = 1, limit: int = 20) -> tuple[list[Plugin], int]:
    """One page of public plugins matching the filters, and the exact total."""
    conditions = [Plugin.is_public == true()]
    if categories:
        conditions.append(Plugin.category.in_(categories))
    for tag in tags or []:
        conditions.append(_has_tag(tag))
    if verified is not None:
        conditions.append(Plugin.verified.is_(verified))
    if featured is not None:
        conditions.append(Plugin.featured.is_(featured))
    if min_rating is not None:
        conditions.append(Plugin.rating_average >= min_rating)
    if max_price is not None:
        conditions.append(Plugin.price <= max_price)
    if backstage:
        conditions.append(_compat_filter(session, Plugin.compat_backstage, backstage))
    if node:
        conditions.append(_compat_filter(session, Plugin.compat_node, node))

    statement = select(Plugin)
    count = select(func.count()).select_from(Plugin)
    score = None
    if query and query.strip():
        if _is_sqlite(session):
            fts = _sqlite_match(session, query)
            if fts is None:
                return [], 0
            statement = statement.join(fts, fts.c.plugin_id == Plugin.id)
            count = count.join(fts, fts.c.plugin_id == Plugin.id)
            score = fts.c.score
        else:
            condition, score = _postgres_match(query, fuzzy=False)
            if condition is None:
                return [], 0
            total = session.scalar(count.where(and_(*conditions, condition))) or 0
            if total == 0:
                # Nothing matches the words or their prefixes: look for near misses (typos) by trigrams.
                condition, score = _postgres_match(query, fuzzy=True)
            conditions.append(condition)
    statement = statement.where(and_(*conditions))
    count = count.where(and_(*conditions))

    if sort == "relevance" and score is not None:
        lowered = query.strip().lower()
        exact = case((or_(Plugin.name == lowered, Plugin.name == re.sub(r"[^a-z0-9]+", "-", lowered).strip("-"),
                          func.lower(Plugin.display_name) == lowered), 1), else_=0)
        ordering = [exact.desc(), score.desc(), Plugin.popularity.desc(), Plugin.id.asc()]
    else:
        columns = _SORTS.get(sort, _SORTS["popularity"])
        ordering = [c.asc() if order == "asc" else c.desc() for c in columns] + [Plugin.id.asc()]
    total = session.scalar(count) or 0
    rows = session.scalars(statement.order_by(*ordering).offset((page - 1) * limit).limit(limit)).all()
    return list(rows), total


def categories(session: Session) -> list[dict]:
    rows = session.execute(select(Plugin.category, func.count()).where(Plugin.is_public == true())
                           .group_by(Plugin.category).order_by(func.count().desc(), Plugin.category)).all()
    return [{"name": name, "count": count} for name, count in rows]


def tag_counts(session: Session) -> list[dict]:
    rows = session.execute(select(PluginTag.tag, func.count()).join(Plugin, Plugin.id == PluginTag.plugin_id)
                           .where(Plugin.is_public == true()).group_by(PluginTag.tag)
                           .order_by(func.count().desc(), PluginTag.tag)).all()
    return [{"name": name, "count": count} for name, count in rows]
