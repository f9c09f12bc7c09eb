"""Text search on SQLite: the FTS5 table plugin_fts, kept in step by the services, and its vocabulary."""

import difflib

from sqlalchemy import Float, String, func, select, text
from sqlalchemy.dialects.sqlite import insert
from sqlalchemy.orm import Session

from .catalog_sql import (
    LIMIT,
    OFFSET,
    PLUGINS,
    SUMMARY,
    Shape,
    exact_names,
    exact_rank,
    shape_conditions,
    sort_keys,
    terms,
)
from .models import Plugin


def _close_terms(session: Session, term: str) -> tuple[bool, list[str]]:
    """(whether `term` is a word of the catalog, the catalog's words a letter or two away from it)."""
    if len(term) < 4:
        return True, []
    rows = session.execute(text("SELECT term FROM plugin_fts_vocab WHERE term >= :lo AND term < :hi"),
                           {"lo": term[0], "hi": chr(ord(term[0]) + 1)}).scalars().all()
    candidates = [row for row in rows if abs(len(row) - len(term)) <= 2 and row != term]
    return term in rows, difflib.get_close_matches(term, candidates, n=5, cutoff=0.8)


def _sqlite_match(session: Session, query: str):
    """(subquery of (plugin_id, score) from FTS5 with prefixes and near-miss terms, the query with each
    word the catalog does not know replaced by its closest one), or (None, None) for a query without words."""
    groups, corrected = [], []
    for term in terms(query):
        known, close = _close_terms(session, term)
        alternatives = [f'"{term}"*'] + [f'"{word}"' for word in close]
        groups.append("(" + " OR ".join(alternatives) + ")")
        corrected.append(close[0] if close and not known else term)
    if not groups:
        return None, None
    # bm25 weights per column: plugin_id (unindexed), name, display_name, tags, description.
    return (text("SELECT plugin_id, -bm25(plugin_fts, 0.0, 10.0, 5.0, 3.0, 1.0) AS score "
                 "FROM plugin_fts WHERE plugin_fts MATCH :match")
            .bindparams(match=" AND ".join(groups))
            .columns(plugin_id=String, score=Float).subquery("fts")), " ".join(corrected)


def text_page(session: Session, query: str, shape: Shape, params: dict, sort: str, order: str, page: int,
              limit: int) -> tuple[list, int]:
    """A page of a listing with words, and its total, by FTS5."""
    conditions = [shape_conditions(shape)]
    fts, corrected = _sqlite_match(session, query)
    if fts is None:
        return [], 0
    statement = SUMMARY.join(fts, fts.c.plugin_id == PLUGINS.c.id).where(*conditions)
    count = select(func.count()).select_from(PLUGINS).join(fts, fts.c.plugin_id == PLUGINS.c.id).where(*conditions)
    if sort == "relevance":
        exact = exact_rank(PLUGINS.c.name, PLUGINS.c.display_name, exact_names(query, corrected))
        ordering = [exact.desc(), fts.c.score.desc(), PLUGINS.c.popularity.desc(), PLUGINS.c.id.asc()]
    else:
        ordering = sort_keys(sort, order)
    if page > 1:
        total = session.scalar(count, params) or 0
        if params["offset"] >= total:
            return [], total
        return list(session.execute(statement.order_by(*ordering).offset(OFFSET).limit(LIMIT), params)), total
    statement = statement.add_columns(count.scalar_subquery().label("total_count"))
    rows = session.execute(statement.order_by(*ordering).offset(OFFSET).limit(LIMIT), params).all()
    total = rows[0].total_count if rows else session.scalar(count, params)
    return rows, int(total or 0)


class SqliteTextSearch:
    """The TextSearch of a SQLite database."""

    insert = staticmethod(insert)
    retries_fuzzy = False  # the FTS5 query already holds each word's near misses

    def reindex(self, session: Session, plugin: Plugin) -> None:
        """Keep the FTS table in step with the plugin."""
        session.execute(text("DELETE FROM plugin_fts WHERE plugin_id = :id"), {"id": plugin.id})
        session.execute(text("INSERT INTO plugin_fts (plugin_id, name, display_name, tags, description) "
                             "VALUES (:id, :name, :display_name, :tags, :description)"),
                        {"id": plugin.id, "name": plugin.name.replace("-", " "), "display_name": plugin.display_name,
                         "tags": plugin.tags_text, "description": plugin.description})

    def rebuild_vocabulary(self, session: Session) -> None:
        """Nothing to do: FTS5 keeps plugin_fts_vocab itself."""

    def page(self, session: Session, query: str, shape: Shape, params: dict, sort: str, order: str, page: int,
             limit: int) -> tuple[list, int]:
        return text_page(session, query, shape, params, sort, order, page, limit)

    def condition(self, session: Session, query: str, fuzzy: bool):
        """The plugins the words match, as a condition on plugins (None: the query has no words)."""
        fts, _corrected = _sqlite_match(session, query)
        return None if fts is None else PLUGINS.c.id.in_(select(fts.c.plugin_id))
