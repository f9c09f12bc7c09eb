"""Listing and full-text search: FTS5 on SQLite, weighted tsvector + pg_trgm on PostgreSQL."""

import difflib
import functools
import re
from typing import NamedTuple

from sqlalchemy import (
    BigInteger,
    Boolean,
    Float,
    Integer,
    String,
    and_,
    bindparam,
    case,
    cast,
    column,
    func,
    literal,
    literal_column,
    or_,
    select,
    table,
    text,
    true,
)
from sqlalchemy.dialects.postgresql import TSQUERY
from sqlalchemy.orm import Session

from .models import CatalogCount, Plugin, PluginTag, SearchTerm
from .semver import intersects, normalize_version, satisfies

MAX_TERMS = 8

# Reads build Core statements on the tables (not the ORM classes): their plain rows skip the ORM's loading
# machinery, and plugin_summary reads them like plugins.
PLUGINS, PLUGIN_TAGS, CATALOG_COUNTS, SEARCH_TERMS = (model.__table__ for model in (Plugin, PluginTag, CatalogCount,
                                                                                   SearchTerm))


def _is_sqlite(session: Session) -> bool:
    return session.get_bind().dialect.name == "sqlite"


def reindex(session: Session, plugin: Plugin) -> None:
    """Keep the SQLite FTS table in step with the plugin. (On PostgreSQL the tsvector is a generated column, and
    triggers keep plugin_search, search_postings and the vocabulary of search_terms in step with it.)"""
    if not _is_sqlite(session):
        return
    session.execute(text("DELETE FROM plugin_fts WHERE plugin_id = :id"), {"id": plugin.id})
    session.execute(text("INSERT INTO plugin_fts (plugin_id, name, display_name, tags, description) "
                         "VALUES (:id, :name, :display_name, :tags, :description)"),
                    {"id": plugin.id, "name": plugin.name.replace("-", " "), "display_name": plugin.display_name,
                     "tags": plugin.tags_text, "description": plugin.description})


def terms(query: str) -> list[str]:
    return re.findall(r"[a-z0-9]+", query.lower())[:MAX_TERMS]


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


def _postgres_close_terms(session: Session, word: str) -> list[str]:
    """Words of the catalog's vocabulary a few letters away from `word`, by the trigram index of search_terms."""
    if len(word) < 4:
        return []
    term = SEARCH_TERMS.c.term
    similarity = func.similarity(term, word)
    return list(session.scalars(select(term).where(term.op("%")(word), term != word, SEARCH_TERMS.c.plugins > 0)
                                .order_by(similarity.desc(), term).limit(5)))


def _postgres_tsquery(session: Session, query: str, fuzzy: bool):
    """(tsquery, corrected): every word or its prefix; when `fuzzy`, also the catalog's words closest to each
    one (typos), and `corrected` the query with each word's closest one."""
    words = terms(query)
    if not words:
        return None, None
    tsquery, corrected = None, []
    for word in words:
        close = _postgres_close_terms(session, word) if fuzzy else []
        # The word as the lexeme a document holds (quoted: taken as it is) or as PostgreSQL's parser reads it
        # alone: the parser splits some words ('425e31c0de' -> '425e31' <-> 'c0de') that it keeps whole inside a
        # hyphenated name ('sdk-425e31c0de'). Words are [a-z0-9]+, safe to quote.
        lexemes = cast(literal(" | ".join([f"'{word}':*"] + [f"'{other}'" for other in close])), TSQUERY)
        either = lexemes.op("||")(func.to_tsquery("simple", literal(f"{word}:*")))
        tsquery = either if tsquery is None else tsquery.op("&&")(either)
        corrected.append(close[0] if close else word)
    return tsquery, (" ".join(corrected) if fuzzy else None)


# PostgreSQL only (migration 0002): a narrow copy of the plugins' tsvector, visibility, popularity and names,
# kept in step by triggers; text searches without other filters count and rank on it.
_PLUGIN_SEARCH = table("plugin_search", column("plugin_id", String), column("is_public", Boolean),
                       column("popularity", BigInteger), column("name", String), column("display_name", String),
                       column("search_vector"))


def _exact_names(query: str, corrected: str | None) -> list[str]:
    """What a name or a lowercased display name equals when it is the query: the query as typed, as a slug, and
    its corrected form."""
    texts = {query.strip().lower()} | ({corrected} if corrected else set())
    return sorted(texts | {re.sub(r"[^a-z0-9]+", "-", lowered).strip("-") for lowered in texts})


def _exact(name, display_name, query: str, corrected: str | None):
    """1 when the name or display name is the query (or its corrected form), else 0."""
    names = _exact_names(query, corrected)
    return case((or_(name.in_(names), func.lower(display_name).in_(names)), 1), else_=0)


def _postgres_total(session: Session, conditions: list, tsquery, narrow: bool, params: dict) -> int:
    if narrow:
        search = _PLUGIN_SEARCH.c
        return session.scalar(select(func.count()).select_from(_PLUGIN_SEARCH).where(
            search.is_public == true(), search.search_vector.op("@@")(tsquery))) or 0
    return session.scalar(select(func.count()).select_from(PLUGINS).where(
        *conditions, literal_column("plugins.search_vector").op("@@")(tsquery)), params) or 0


def _narrow_relevance_page(session: Session, query: str, corrected: str | None, tsquery, page: int,
                           limit: int) -> tuple[list, int]:
    """One page by relevance from plugin_search alone, with the total counted by the same scan (the ranking
    reads every match anyway), then those plugins' summary rows."""
    search = _PLUGIN_SEARCH.c
    matches = and_(search.is_public == true(), search.search_vector.op("@@")(tsquery))
    # Each match's sort keys are computed before the window that counts the matches, so that the window holds
    # narrow rows rather than every match's tsvector (a broad term: 34 -> 29 ms at 100,000 plugins); OFFSET 0
    # keeps PostgreSQL from folding the subquery back into one plan that carries the tsvectors through it.
    ranked = (select(search.plugin_id, search.popularity,
                     _exact(search.name, search.display_name, query, corrected).label("exact"),
                     func.ts_rank(search.search_vector, tsquery).label("rank"))
              .where(matches).offset(0).subquery("ranked"))
    found = session.execute(
        select(ranked.c.plugin_id, func.count().over().label("total"))
        .order_by(ranked.c.exact.desc(), ranked.c.rank.desc(), ranked.c.popularity.desc(), ranked.c.plugin_id.asc())
        .offset((page - 1) * limit).limit(limit)).all()
    if not found:
        total = session.scalar(select(func.count()).select_from(_PLUGIN_SEARCH).where(matches)) if page > 1 else 0
        return [], total or 0
    ids = [row.plugin_id for row in found]
    rows = {row.id: row for row in session.execute(select(*_SUMMARY_COLUMNS).where(PLUGINS.c.id.in_(ids)))}
    return [rows[plugin_id] for plugin_id in ids if plugin_id in rows], found[0].total


# --- one-word searches from search_postings (PostgreSQL) ---------------------------------------------------------
# A word (or the catalog's words it is a prefix of, or, for a typo, the words closest to it) has its public
# matches in relevance order in the index of search_postings and their number in search_terms.plugins, so a
# word that a sixth of the catalog holds costs no more than a rare one: nothing counts or ranks every match.

# The words a query word can stand for: itself and the catalog's words it is a prefix of (as `word:*` in a
# tsquery), held by some public plugin, the most common first.
_PREFIXED_WORDS = text("SELECT term, plugins FROM search_terms WHERE term LIKE :prefix AND plugins > 0 "
                       "ORDER BY plugins DESC, term")
_GIVEN_WORDS = text("SELECT term, plugins FROM search_terms WHERE term = ANY(CAST(:words AS text[])) AND plugins > 0 "
                    "ORDER BY plugins DESC, term")
# Plugins holding more than one of the words are counted once, at the most common of their words: each
# posting of a rarer word is checked against the postings of the commoner ones (PRIMARY KEY (term, plugin_id)).
_COUNTED_ONCE = text(
    "SELECT count(*) FROM search_postings p WHERE p.term = ANY(CAST(:rarer AS text[])) AND p.is_public "
    "AND NOT EXISTS (SELECT 1 FROM search_postings q WHERE q.term = ANY(CAST(:words AS text[])) "
    "AND q.plugin_id = p.plugin_id "
    "AND array_position(CAST(:words AS text[]), q.term) < array_position(CAST(:words AS text[]), p.term))")
# The first `k` plugins by (best rank among the words, popularity, id): each word's first `k` come from the
# index; a plugin's best word is among those lists whenever the plugin is among the first `k` overall.
_RANKED = text(
    "SELECT p.plugin_id, max(p.rank) AS rank, max(p.popularity) AS popularity "
    "FROM unnest(CAST(:words AS text[])) AS w(term) "
    "CROSS JOIN LATERAL (SELECT plugin_id, rank, popularity FROM search_postings s WHERE s.term = w.term "
    "AND s.is_public ORDER BY rank DESC, popularity DESC, plugin_id LIMIT :k) AS p "
    "GROUP BY p.plugin_id ORDER BY rank DESC, popularity DESC, p.plugin_id LIMIT :k")
# Plugins whose name or display name is the query itself: first, in the same order among themselves.
_EXACT = text(
    "SELECT p.plugin_id, max(p.rank) AS rank, max(p.popularity) AS popularity FROM plugins "
    "JOIN search_postings p ON p.plugin_id = plugins.id AND p.term = ANY(CAST(:words AS text[])) "
    "WHERE plugins.is_public AND (plugins.name = ANY(CAST(:names AS text[])) "
    "OR lower(plugins.display_name) = ANY(CAST(:names AS text[]))) "
    "GROUP BY p.plugin_id ORDER BY rank DESC, popularity DESC, p.plugin_id")
_WORD = re.compile(r"^[a-z0-9]*[a-z][a-z0-9]*$")


def _posted_word(query: str) -> str | None:
    """The query's one word when search_postings can answer it (a word as the vocabulary keeps them)."""
    words = terms(query)
    if len(words) == 1 and 3 <= len(words[0]) <= 100 and _WORD.match(words[0]):
        return words[0]
    return None


def _postings_relevance_page(session: Session, query: str, word: str, page: int, limit: int) -> tuple[list, int]:
    """One page by relevance of a one-word search, and the exact total, as the tsvector path would give them
    (the word or its prefix; near misses when nothing matches), without reading every match."""
    counts = dict(session.execute(_PREFIXED_WORDS, {"prefix": word + "%"}).all())  # a word has no % or _
    corrected = None
    if not counts:  # nothing holds the word or its prefix: near misses (typos) by trigrams
        close = _postgres_close_terms(session, word)
        counts = dict(session.execute(_GIVEN_WORDS, {"words": close}).all()) if close else {}
        corrected = close[0] if close else None
    if not counts:
        return [], 0
    words = list(counts)  # the most common first
    total = counts[words[0]]
    if len(words) > 1:
        total += session.scalar(_COUNTED_ONCE, {"rarer": words[1:], "words": words})
    offset = (page - 1) * limit
    if offset >= total:
        return [], total
    names = _exact_names(query, corrected)
    exact = [row.plugin_id for row in session.execute(_EXACT, {"words": words, "names": names})]
    ranked = session.execute(_RANKED, {"words": words, "k": offset + limit + len(exact)}).scalars()
    ids = (exact + [plugin_id for plugin_id in ranked if plugin_id not in exact])[offset:offset + limit]
    rows = {row.id: row for row in session.execute(_SUMMARY.where(PLUGINS.c.id.in_(ids)))}
    return [rows[plugin_id] for plugin_id in ids if plugin_id in rows], total


_DECLARED_RANGES = text("SELECT value FROM catalog_counts WHERE dimension = :dimension AND count > 0")


def _matching_ranges(session: Session, dimension: str, wanted: str) -> list[str]:
    """The ranges public plugins declare (`backstage` or `node`, few: catalog_counts holds each with its count)
    that admit `wanted` (a version) or overlap it (a range)."""
    ranges = session.scalars(_DECLARED_RANGES, {"dimension": dimension}).all()
    version = normalize_version(wanted)
    if version is not None and re.match(r"^v?\d+\.\d+\.\d+", wanted.strip()):
        return [r for r in ranges if satisfies(version, r)]
    return [r for r in ranges if intersects(r, wanted)]


# --- exact counts without scanning the matches ----------------------------------------------------------------

def counted(plugin: Plugin) -> tuple:
    """What catalog_counts counts of a plugin: (is_public, category, backstage range, node range, tags)."""
    return (bool(plugin.is_public), plugin.category, plugin.compat_backstage, plugin.compat_node,
            frozenset(plugin.tags or ()))


def adjust_counts(session: Session, before: tuple, after: tuple) -> None:
    """Keep catalog_counts exact: `before`/`after` are what counted() gave for a plugin before and after a
    change."""
    deltas: dict[tuple[str, str], int] = {}
    for (public, category, backstage, node, tags), sign in ((before, -1), (after, 1)):
        if not public:
            continue
        keys = ([("all", ""), ("category", category), ("backstage", backstage), ("node", node)]
                + [("tag", tag) for tag in tags])
        for key in keys:
            if key[1] is not None:
                deltas[key] = deltas.get(key, 0) + sign
    for (dimension, value), delta in deltas.items():
        if not delta:
            continue
        if _is_sqlite(session):
            from sqlalchemy.dialects.sqlite import insert
        else:
            from sqlalchemy.dialects.postgresql import insert
        statement = insert(CatalogCount).values(dimension=dimension, value=value, count=delta)
        session.execute(statement.on_conflict_do_update(
            index_elements=[CatalogCount.dimension, CatalogCount.value],
            set_={"count": CatalogCount.count + statement.excluded.count}))


def rebuild_counts(session: Session) -> None:
    """Recompute catalog_counts (and on PostgreSQL search_terms) from the plugins, after bulk loads that bypass
    the services."""
    if not _is_sqlite(session):
        session.execute(text("UPDATE search_terms SET plugins = 0 WHERE plugins <> 0"))
        session.execute(text("INSERT INTO search_terms (term, plugins) SELECT term, count(*) FROM search_postings "
                             "WHERE is_public GROUP BY term ORDER BY term "
                             "ON CONFLICT (term) DO UPDATE SET plugins = excluded.plugins"))
    session.execute(text("DELETE FROM catalog_counts"))
    session.execute(text("INSERT INTO catalog_counts (dimension, value, count) "
                         "SELECT 'all', '', count(*) FROM plugins WHERE is_public"))
    for dimension, name in (("category", "category"), ("backstage", "compat_backstage"), ("node", "compat_node")):
        session.execute(text(f"INSERT INTO catalog_counts (dimension, value, count) SELECT '{dimension}', {name}, "
                             f"count(*) FROM plugins WHERE is_public AND {name} IS NOT NULL GROUP BY {name}"))
    session.execute(text("INSERT INTO catalog_counts (dimension, value, count) "
                         "SELECT 'tag', tag, count(*) FROM plugin_tags WHERE public GROUP BY tag"))


def _has_tag(tag: str):
    # The public rows of a tag come from the partial index (tag, plugin_id) alone.
    tagged = PLUGIN_TAGS.c
    return PLUGINS.c.id.in_(select(tagged.plugin_id).where(tagged.tag == tag, tagged.public == true()))


_SUMMARY_COLUMNS = tuple(PLUGINS.c[name] for name in (
    "id", "name", "display_name", "description", "latest_version", "author_name", "author_email", "author_url",
    "category", "tags", "icon", "verified", "featured", "rating_average", "rating_count", "downloads_total",
    "compat_backstage", "compat_node", "compat_platform", "pricing_model", "price", "currency", "deprecated",
    "updated_at"))

# Built once: each request adds its filters and order to a copy.
_SUMMARY = select(*_SUMMARY_COLUMNS)

_SORTS = {  # the sort keys of each sort, before the id that breaks ties
    "name": ["name"],
    "popularity": ["popularity"],
    "updated": ["updated_at"],
    "rating": ["rating_average", "rating_count"],
}


class _Shape(NamedTuple):
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
def _conditions(shape: _Shape, first_tag_joined: bool = False):
    """The filters on plugins; `first_tag_joined`: the first tag is the plugin_tags row the statement joins."""
    conditions = [PLUGINS.c.is_public == true()]
    if shape.categories:
        conditions.append(PLUGINS.c.category.in_(bindparam("categories", expanding=True)))
    conditions += [_has_tag(bindparam(f"tag_{index}")) for index in range(1 if first_tag_joined else 0, shape.tags)]
    if shape.verified:
        conditions.append(PLUGINS.c.verified == bindparam("verified"))
    if shape.featured:
        conditions.append(PLUGINS.c.featured == bindparam("featured"))
    if shape.min_rating:
        conditions.append(PLUGINS.c.rating_average >= bindparam("min_rating"))
    if shape.max_price:
        conditions.append(PLUGINS.c.price <= bindparam("max_price"))
    if shape.backstage:  # the declared ranges that admit the wanted version (none: IN () is false)
        conditions.append(PLUGINS.c.compat_backstage.in_(bindparam("backstage", expanding=True)))
    if shape.node:
        conditions.append(PLUGINS.c.compat_node.in_(bindparam("node", expanding=True)))
    return and_(*conditions)


@functools.lru_cache(maxsize=256)
def _count(shape: _Shape):
    """The exact total: from catalog_counts or the tag index when the filters allow it (without visiting the
    matching plugins), else by counting them."""
    kinds = shape.kinds()
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
    return select(func.count()).select_from(PLUGINS).where(_conditions(shape))


def _ordering(sort: str, order: str, columns=PLUGINS.c) -> list:
    """ORDER BY of a list sort, on the plugins table or a subquery with the same column names."""
    keys = [columns[name] for name in _SORTS.get(sort, _SORTS["popularity"])]
    return [key.asc() if order == "asc" else key.desc() for key in keys] + [columns.id.asc()]


_OFFSET, _LIMIT = bindparam("offset", type_=Integer), bindparam("limit", type_=Integer)


@functools.lru_cache(maxsize=256)
def _page(shape: _Shape, sort: str, order: str, with_total: bool):
    """A page of summaries: only the columns plugin_summary shows (not the long texts and JSON of details), as
    plain rows; a first page brings its total along (one round trip)."""
    if shape.tags and sort == "popularity":
        # Walk the first tag's rows in popularity order (plugin_tags.popularity is plugins.popularity) and stop
        # after the page, rather than the whole catalog's popularity order looking for a rare tag.
        tagged = PLUGIN_TAGS.c
        statement = (_SUMMARY.select_from(PLUGIN_TAGS.join(PLUGINS, PLUGINS.c.id == tagged.plugin_id))
                     .where(tagged.tag == bindparam("tag_0"), tagged.public == true(),
                            _conditions(shape, first_tag_joined=True)))
        direction = "asc" if order == "asc" else "desc"
        ordering = [getattr(tagged.popularity, direction)(), tagged.plugin_id.asc()]
    else:
        statement = _SUMMARY.where(_conditions(shape))
        ordering = _ordering(sort, order)
    if with_total:
        statement = statement.add_columns(_count(shape).scalar_subquery().label("total_count"))
    return statement.order_by(*ordering).offset(_OFFSET).limit(_LIMIT)


def query_plugins(session: Session, *, query: str | None = None, categories: list[str] | None = None,
                  tags: list[str] | None = None, verified: bool | None = None, featured: bool | None = None,
                  min_rating: float | None = None, max_price: float | None = None,
                  backstage: str | None = None, node: str | None = None, sort: str = "popularity",
                  order: str = "desc", page: int = 1, limit: int = 20) -> tuple[list, int]:
    """One page of public plugins matching the filters (rows of the summary columns, which plugin_summary
    reads like plugins), and the exact total."""
    tags = list(dict.fromkeys(tags or []))
    shape = _Shape(categories=bool(categories), tags=len(tags), verified=verified is not None,
                   featured=featured is not None, min_rating=min_rating is not None, max_price=max_price is not None,
                   backstage=bool(backstage), node=bool(node))
    params = {"categories": categories, "verified": verified, "featured": featured,
              "min_rating": min_rating, "max_price": max_price, "offset": (page - 1) * limit, "limit": limit,
              **{f"tag_{index}": tag for index, tag in enumerate(tags)}}
    if backstage:
        params["backstage"] = _matching_ranges(session, "backstage", backstage)
    if node:
        params["node"] = _matching_ranges(session, "node", node)
    if query and query.strip():
        return _text_search(session, query, shape, params, sort, order, page, limit)
    if page > 1:
        total = session.scalar(_count(shape), params) or 0
        if params["offset"] >= total:
            return [], total  # past the end: no need to skip over every match
        return list(session.execute(_page(shape, sort, order, False), params)), total
    rows = session.execute(_page(shape, sort, order, True), params).all()
    total = rows[0].total_count if rows else session.scalar(_count(shape), params)  # an empty page counts alone
    return rows, int(total or 0)


def _text_search(session: Session, query: str, shape: _Shape, params: dict, sort: str, order: str, page: int,
                 limit: int) -> tuple[list, int]:
    """query_plugins with words: FTS5 on SQLite, search_postings, plugin_search or the tsvector on PostgreSQL."""
    conditions = [_conditions(shape)]
    kinds = shape.kinds()
    if not _is_sqlite(session):
        tsquery, corrected = _postgres_tsquery(session, query, fuzzy=False)
        if tsquery is None:
            return [], 0
        word = _posted_word(query)
        if not kinds and sort == "relevance" and word is not None:  # one word: from search_postings
            return _postings_relevance_page(session, query, word, page, limit)
        if not kinds and sort == "relevance":  # only the text: count and rank on plugin_search
            rows, total = _narrow_relevance_page(session, query, None, tsquery, page, limit)
            if total == 0:
                # Nothing matches the words or their prefixes: look for near misses (typos) by trigrams.
                tsquery, corrected = _postgres_tsquery(session, query, fuzzy=True)
                rows, total = _narrow_relevance_page(session, query, corrected, tsquery, page, limit)
            return rows, total
        for fuzzy in (False, True):
            if fuzzy:  # nothing matches the words or their prefixes: near misses (typos) by trigrams
                tsquery, corrected = _postgres_tsquery(session, query, fuzzy=True)
            rows = _counted_tsvector_page(session, conditions, tsquery, query, corrected, sort, order, params)
            if rows:
                return rows, rows[0].total_count
            # No row: nothing matches, or (a later page) the page is past the end.
            total = _postgres_total(session, conditions, tsquery, not kinds, params) if params["offset"] else 0
            if total:
                return [], total
        return [], 0

    fts, corrected = _sqlite_match(session, query)
    if fts is None:
        return [], 0
    statement = _SUMMARY.join(fts, fts.c.plugin_id == PLUGINS.c.id).where(*conditions)
    count = select(func.count()).select_from(PLUGINS).join(fts, fts.c.plugin_id == PLUGINS.c.id).where(*conditions)
    if sort == "relevance":
        exact = _exact(PLUGINS.c.name, PLUGINS.c.display_name, query, corrected)
        ordering = [exact.desc(), fts.c.score.desc(), PLUGINS.c.popularity.desc(), PLUGINS.c.id.asc()]
    else:
        ordering = _ordering(sort, order)
    if page > 1:
        total = session.scalar(count, params) or 0
        if params["offset"] >= total:
            return [], total
        return list(session.execute(statement.order_by(*ordering).offset(_OFFSET).limit(_LIMIT), params)), total
    statement = statement.add_columns(count.scalar_subquery().label("total_count"))
    rows = session.execute(statement.order_by(*ordering).offset(_OFFSET).limit(_LIMIT), params).all()
    total = rows[0].total_count if rows else session.scalar(count, params)
    return rows, int(total or 0)


def _counted_tsvector_page(session: Session, conditions: list, tsquery, query: str, corrected: str | None,
                           sort: str, order: str, params: dict) -> list:
    """A page of the plugins matching the filters and the tsquery, each row carrying the number of all the
    matches (count(*) OVER (): one pass over the matches gives the page and its total, where a count and then
    the page read them twice)."""
    vector = literal_column("plugins.search_vector")
    # The matches with their sort keys and total, planned on their own (a window is never folded into the outer
    # query): from the GIN index, not by walking a sort index through the whole catalog testing every row.
    relevance = [_exact(PLUGINS.c.name, PLUGINS.c.display_name, query, corrected).label("exact"),
                 func.ts_rank(vector, tsquery).label("rank")] if sort == "relevance" else []  # only when used
    matches = (select(*_SUMMARY_COLUMNS, PLUGINS.c.popularity, func.count().over().label("total_count"), *relevance)
               .where(*conditions, vector.op("@@")(tsquery)).subquery("matches"))
    found = matches.c
    if sort == "relevance":  # the weighted rank: name > displayName > tags > description
        ordering = [found.exact.desc(), found.rank.desc(), found.popularity.desc(), found.id.asc()]
    else:
        ordering = _ordering(sort, order, found)
    statement = (select(*[found[column.name] for column in _SUMMARY_COLUMNS], found.total_count)
                 .order_by(*ordering).offset(_OFFSET).limit(_LIMIT))
    return session.execute(statement, params).all()


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


# --- facets: counts per value of the matches, following the other active filters ----------------------------------

FACETS = ("category", "tags", "verified", "featured")
FACET_TAG_LIMIT = 30


def _text_condition(session: Session, query: str, fuzzy: bool):
    """The plugins a text search matches, as a condition on plugins (None: the query has no words)."""
    if _is_sqlite(session):
        fts, _corrected = _sqlite_match(session, query)
        return None if fts is None else PLUGINS.c.id.in_(select(fts.c.plugin_id))
    tsquery, _corrected = _postgres_tsquery(session, query, fuzzy=fuzzy)
    return None if tsquery is None else literal_column("plugins.search_vector").op("@@")(tsquery)


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
    if backstage:
        base.append(PLUGINS.c.compat_backstage.in_(_matching_ranges(session, "backstage", backstage)))
    if node:
        base.append(PLUGINS.c.compat_node.in_(_matching_ranges(session, "node", node)))
    base += [_has_tag(tag) for tag in tags]
    own = {"category": PLUGINS.c.category.in_(categories) if categories else None,
           "verified": PLUGINS.c.verified == verified if verified is not None else None,
           "featured": PLUGINS.c.featured == featured if featured is not None else None}
    fuzzy_options = (False, True) if query and query.strip() and not _is_sqlite(session) else (False,)
    for fuzzy in fuzzy_options:
        conditions = list(base)
        if query and query.strip():
            matched = _text_condition(session, query, fuzzy)
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
