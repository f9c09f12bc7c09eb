"""Text search on PostgreSQL: weighted tsvectors and pg_trgm, plugin_search and search_postings (kept in step by
triggers, migrations 0002 and 0004; with the listing filters since 0007)."""

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
    any_,
    bindparam,
    cast,
    column,
    false,
    func,
    literal_column,
    select,
    table,
    text,
    true,
)
from sqlalchemy.dialects.postgresql import ARRAY, TSQUERY, insert
from sqlalchemy.orm import Session

from .catalog_sql import (
    LIMIT,
    MAX_TERMS,
    OFFSET,
    PLUGINS,
    SUMMARY_COLUMNS,
    Shape,
    exact_names,
    exact_rank,
    filter_conditions,
    shape_conditions,
    sort_keys,
    terms,
)
from .models import Plugin

# The words of the vocabulary a few letters away from a word (the trigram index of search_terms), with counts.
_CLOSE_WORDS = text("SELECT term, plugins FROM search_terms WHERE term % :word AND term <> :word AND plugins > 0 "
                    "ORDER BY similarity(term, :word) DESC, term LIMIT 5")


def _postgres_close_terms(session: Session, word: str) -> dict[str, int]:
    """Words of the catalog's vocabulary a few letters away from `word`, the closest first, with the number of
    public plugins holding each."""
    if len(word) < 4:
        return {}
    return dict(session.execute(_CLOSE_WORDS, {"word": word}).all())


class WordsQuery(NamedTuple):
    """A query's words as a tsquery: `words` of them (the statements are built once per number of words, see
    _tsquery), the values of its bind parameters (`params`, with `names` for exact_rank) and, for near misses,
    the query with each word replaced by the catalog's closest one (`corrected`). `exact`: per word, whether the
    matches are found by the catalog's words it stands for (`exact_<i>`, see _match_tsquery) rather than by its
    prefix; `matchable`: False when a word stands for no word of the catalog (nothing can match)."""

    words: int
    params: dict
    corrected: str | None
    exact: tuple[bool, ...]
    matchable: bool


def _tsquery_of(words: int, values: dict | None = None, exact: tuple[bool, ...] = ()):
    """The tsquery of `words` words over bind parameters: each word is `lexemes_<i>` (its prefix and its close
    words, as tsquery text) or `prefix_<i>` as PostgreSQL's parser reads it, or, where `exact` says so, the
    catalog's words of `exact_<i>`; the words are ANDed. With `values` the parameters carry them (a statement
    built for one request, as facets are)."""
    def parameter(name: str):
        if values is None:
            return bindparam(name, type_=String)
        return bindparam(name, values[name], type_=String, unique=True)

    tsquery = None
    for index in range(words):
        if index < len(exact) and exact[index]:
            either = cast(parameter(f"exact_{index}"), TSQUERY)
        else:
            lexemes = cast(parameter(f"lexemes_{index}"), TSQUERY)
            either = lexemes.op("||")(func.to_tsquery("simple", parameter(f"prefix_{index}")))
        tsquery = either if tsquery is None else tsquery.op("&&")(either)
    return tsquery


@functools.lru_cache(maxsize=MAX_TERMS)
def _tsquery(words: int):
    """_tsquery_of() for statements built once: the values are given at execution. It ranks the matches."""
    return _tsquery_of(words)


@functools.lru_cache(maxsize=256)
def _match_tsquery(exact: tuple[bool, ...]):
    """The tsquery that finds the matches (in the WHERE of the statements that page): the same matches as
    _tsquery, but a word that stands for a few of the catalog's words is those words exactly. The GIN index
    intersects exact words' entries cheaply, where a prefix makes it collect every match of the prefix first
    (`monitor alerts` with filters at 100,000 plugins: about 2.1 -> 0.4 ms). The rank stays _tsquery's."""
    return _tsquery_of(len(exact), exact=exact)


# The catalog's words each query word is a prefix of (itself included) and public plugins hold. search_terms keeps
# every lexeme of a public plugin's tsvector that has 3-100 characters, a letter and no hyphen; a hyphenated
# compound's first part is a lexeme of the same plugin, so for a query word of 3-100 letters these words match
# what its prefix matches (but for a word of more than 100 characters, which search_terms leaves out).
# At most EXACT_WORDS + 1 per word: a prefix standing for more stays a prefix (an OR of many entries costs more).
_WORDS_OF_PREFIXES = text(
    "SELECT w.position, t.term FROM unnest(CAST(:lows AS text[]), CAST(:highs AS text[])) WITH ORDINALITY "
    "AS w(low, high, position) CROSS JOIN LATERAL (SELECT term FROM search_terms WHERE term ~>=~ w.low "
    "AND term ~<~ w.high AND plugins > 0 LIMIT :most) AS t")
EXACT_WORDS = 8
_LETTERS = re.compile(r"^[a-z]{3,100}$")  # a word the query parser reads as itself (digits can be split)


def _words_of_prefixes(session: Session, words: list[str]) -> dict[int, list[str]]:
    """For each query word that can be matched exactly (by position), the catalog's words it is a prefix of,
    when they are at most EXACT_WORDS."""
    positions = [index for index, word in enumerate(words) if _LETTERS.match(word)]
    if not positions:
        return {}
    found: dict[int, list[str]] = {index: [] for index in positions}
    lows = [words[index] for index in positions]
    highs = [word[:-1] + chr(ord(word[-1]) + 1) for word in lows]
    for position, term in session.execute(_WORDS_OF_PREFIXES, {"lows": lows, "highs": highs,
                                                               "most": EXACT_WORDS + 1}):
        found[positions[position - 1]].append(term)
    return {index: terms_ for index, terms_ in found.items() if len(terms_) <= EXACT_WORDS}


def _postgres_tsquery(session: Session, query: str, fuzzy: bool) -> WordsQuery | None:
    """Every word or its prefix; when `fuzzy`, also the catalog's words closest to each one (typos), and
    `corrected` the query with each word's closest one. None for a query without words."""
    words = terms(query)
    if not words:
        return None
    params, corrected, exact = {}, [], []
    known = _words_of_prefixes(session, words)
    for index, word in enumerate(words):
        close = list(_postgres_close_terms(session, word)) if fuzzy else []
        # The word as the lexeme a document holds (quoted: taken as it is) or as PostgreSQL's parser reads it
        # alone: the parser splits some words ('425e31c0de' -> '425e31' <-> 'c0de') that it keeps whole inside a
        # hyphenated name ('sdk-425e31c0de'). Words are [a-z0-9]+, safe to quote.
        params[f"lexemes_{index}"] = " | ".join([f"'{word}':*"] + [f"'{other}'" for other in close])
        params[f"prefix_{index}"] = f"{word}:*"
        if index in known:
            standing_for = sorted(set(known[index]) | set(close))
            params[f"exact_{index}"] = " | ".join(f"'{term}'" for term in standing_for)
        exact.append(index in known)
        corrected.append(close[0] if close else word)
    corrected_query = " ".join(corrected) if fuzzy else None
    params["names"] = exact_names(query, corrected_query)
    matchable = all(params.get(f"exact_{index}", True) for index in range(len(words)))
    return WordsQuery(len(words), params, corrected_query, tuple(exact), matchable)


def _near_misses(session: Session, query: str) -> WordsQuery | None:
    """The words or the catalog's words closest to them (typos); None when no word has a close one: the same
    tsquery again would find nothing more."""
    found = _postgres_tsquery(session, query, fuzzy=True)
    return None if found is None or found.corrected == " ".join(terms(query)) else found


# PostgreSQL only (migration 0002): a narrow copy of the plugins' tsvector, visibility, popularity and names,
# kept in step by triggers; text searches without other filters count and rank on it.
_PLUGIN_SEARCH = table("plugin_search", column("plugin_id", String), column("is_public", Boolean),
                       column("popularity", BigInteger), column("name", String), column("display_name", String),
                       column("search_vector"))


def _narrow_matches(words: int, exact: tuple[bool, ...] = ()):
    search = _PLUGIN_SEARCH.c
    tsquery = _match_tsquery(exact) if exact else _tsquery(words)
    return and_(search.is_public == true(), search.search_vector.op("@@")(tsquery))


@functools.lru_cache(maxsize=256)
def _total_statement(shape: Shape, words: int):
    """The number of matches: from plugin_search when there is no filter, else from the plugins."""
    if not shape.kinds():
        return select(func.count()).select_from(_PLUGIN_SEARCH).where(_narrow_matches(words))
    return select(func.count()).select_from(PLUGINS).where(
        shape_conditions(shape), literal_column("plugins.search_vector").op("@@")(_tsquery(words)))


@functools.lru_cache(maxsize=256)
def _narrow_relevance_statement(words: int, exact: tuple[bool, ...]):
    search = _PLUGIN_SEARCH.c
    # Each match's sort keys are computed before the window that counts the matches, so that the window holds
    # narrow rows rather than every match's tsvector (a broad term: 34 -> 29 ms at 100,000 plugins); OFFSET 0
    # keeps PostgreSQL from folding the subquery back into one plan that carries the tsvectors through it.
    ranked = (select(search.plugin_id, search.popularity,
                     exact_rank(search.name, search.display_name, bindparam("names", expanding=True)).label("exact"),
                     func.ts_rank(search.search_vector, _tsquery(words)).label("rank"))
              .where(_narrow_matches(words, exact)).offset(0).subquery("ranked"))
    return (select(ranked.c.plugin_id, func.count().over().label("total"))
            .order_by(ranked.c.exact.desc(), ranked.c.rank.desc(), ranked.c.popularity.desc(),
                      ranked.c.plugin_id.asc())
            .offset(OFFSET).limit(LIMIT))


_SUMMARIES_BY_ID = select(*SUMMARY_COLUMNS).where(PLUGINS.c.id.in_(bindparam("ids", expanding=True)))


def _narrow_relevance_page(session: Session, found: WordsQuery, page: int, limit: int) -> tuple[list, int]:
    """One page by relevance from plugin_search alone, with the total counted by the same scan (the ranking
    reads every match anyway), then those plugins' summary rows."""
    if not found.matchable:
        return [], 0
    params = {**found.params, "offset": (page - 1) * limit, "limit": limit}
    ranked = session.execute(_narrow_relevance_statement(found.words, found.exact), params).all()
    if not ranked:
        no_filters = Shape(*([False] * len(Shape._fields)))
        total = session.scalar(_total_statement(no_filters, found.words), params) if page > 1 else 0
        return [], total or 0
    ids = [row.plugin_id for row in ranked]
    rows = {row.id: row for row in session.execute(_SUMMARIES_BY_ID, {"ids": ids})}
    return [rows[plugin_id] for plugin_id in ids if plugin_id in rows], ranked[0].total


# --- one-word searches from search_postings ---------------------------------------------------------------------
# A word (or the catalog's words it is a prefix of, or, for a typo, the words closest to it) has its public
# matches in relevance order in the index of search_postings and their number in search_terms.plugins, so a
# word that a sixth of the catalog holds costs no more than a rare one: nothing counts or ranks every match.

# The words a query word can stand for: itself and the catalog's words it is a prefix of (as `word:*` in a
# tsquery), held by some public plugin, the most common first.
_PREFIXED_WORDS = text("SELECT term, plugins FROM search_terms WHERE term LIKE :prefix AND plugins > 0 "
                       "ORDER BY plugins DESC, term")
# Plugins holding more than one of the words are counted once, at the most common of their words: each
# posting of a rarer word is checked against the postings of the commoner ones (PRIMARY KEY (term, plugin_id)).
_COUNTED_ONCE = text(
    "SELECT count(*) FROM search_postings p WHERE p.term = ANY(CAST(:rarer AS text[])) AND p.is_public "
    "AND NOT EXISTS (SELECT 1 FROM search_postings q WHERE q.term = ANY(CAST(:words AS text[])) "
    "AND q.plugin_id = p.plugin_id "
    "AND array_position(CAST(:words AS text[]), q.term) < array_position(CAST(:words AS text[]), p.term))")
# The same check as one index probe per posting of a rarer word (its plugin among each commoner word's postings):
# cheaper when the rarer words are few beside the commoner ones (`kube`: 686 postings of kubecost against 16,955 of
# kubernetes, about 3.9 -> 1.7 ms at 100,000 plugins), dearer otherwise; PostgreSQL turns NOT EXISTS into a hash
# of every commoner posting whatever their number, and OFFSET 0 keeps it a probe.
_COUNTED_ONCE_BY_PROBES = text(
    "SELECT count(*) FROM search_postings p WHERE p.term = ANY(CAST(:rarer AS text[])) AND p.is_public "
    "AND NOT EXISTS (SELECT 1 FROM search_postings q WHERE q.plugin_id = p.plugin_id "
    "AND q.term = ANY((CAST(:words AS text[]))[1:array_position(CAST(:words AS text[]), p.term) - 1]) OFFSET 0)")
# A probe costs about as much as hashing 8 postings (measured at 100,000 plugins).
PROBE_COST_IN_HASHED_POSTINGS = 8
# One page by relevance, in one statement: first the plugins whose name or display name is the query itself (in
# the same order among themselves), then the others by (best rank among the words, popularity, id). Each word's
# first `k` others (k = offset + limit) come from the index; a plugin's best word is among those lists whenever
# the plugin is among the first `k` others overall.
_RELEVANCE_PAGE = text(
    "WITH exact AS (SELECT p.plugin_id, max(p.rank) AS rank, max(p.popularity) AS popularity FROM plugins "
    "JOIN search_postings p ON p.plugin_id = plugins.id AND p.term = ANY(CAST(:words AS text[])) "
    "WHERE plugins.is_public AND (plugins.name = ANY(CAST(:names AS text[])) "
    "OR lower(plugins.display_name) = ANY(CAST(:names AS text[]))) GROUP BY p.plugin_id), "
    "ranked AS (SELECT p.plugin_id, max(p.rank) AS rank, max(p.popularity) AS popularity "
    "FROM unnest(CAST(:words AS text[])) AS w(term) "
    "CROSS JOIN LATERAL (SELECT plugin_id, rank, popularity FROM search_postings s WHERE s.term = w.term "
    "AND s.is_public AND s.plugin_id NOT IN (SELECT plugin_id FROM exact) "
    "ORDER BY rank DESC, popularity DESC, plugin_id LIMIT :k) AS p "
    "GROUP BY p.plugin_id ORDER BY rank DESC, popularity DESC, p.plugin_id LIMIT :k), "
    "page AS (SELECT plugin_id, 0 AS later, rank, popularity FROM exact UNION ALL "
    "SELECT plugin_id, 1, rank, popularity FROM ranked "
    "ORDER BY later, rank DESC, popularity DESC, plugin_id OFFSET :offset LIMIT :limit) "
    f"SELECT {', '.join(f'plugins.{column.name}' for column in SUMMARY_COLUMNS)} FROM page "
    "JOIN plugins ON plugins.id = page.plugin_id ORDER BY page.later, page.rank DESC, page.popularity DESC, "
    "page.plugin_id").columns(*SUMMARY_COLUMNS)
_WORD = re.compile(r"^[a-z0-9]*[a-z][a-z0-9]*$")


def _posted_word(query: str) -> str | None:
    """The query's one word when search_postings can answer it (a word as the vocabulary keeps them)."""
    words = terms(query)
    if len(words) == 1 and 3 <= len(words[0]) <= 100 and _WORD.match(words[0]):
        return words[0]
    return None


def _rarer_words_counted_once(session: Session, counts: dict[str, int]) -> int:
    """The public plugins holding one of the words after the first (`counts`: word -> public plugins holding it,
    the most common first) and none of the words before it: what the first word's count leaves out."""
    words = list(counts)
    if len(words) < 2:
        return 0
    rarer = sum(counts[word] for word in words[1:])
    probing = rarer * PROBE_COST_IN_HASHED_POSTINGS < sum(counts.values())
    return session.scalar(_COUNTED_ONCE_BY_PROBES if probing else _COUNTED_ONCE, {"rarer": words[1:], "words": words})


def _postings_relevance_page(session: Session, query: str, word: str, page: int, limit: int) -> tuple[list, int]:
    """One page by relevance of a one-word search, and the exact total, as the tsvector path would give them
    (the word or its prefix; near misses when nothing matches), without reading every match."""
    counts = dict(session.execute(_PREFIXED_WORDS, {"prefix": word + "%"}).all())  # a word has no % or _
    corrected = None
    if not counts:  # nothing holds the word or its prefix: near misses (typos) by trigrams
        close = _postgres_close_terms(session, word)
        counts = dict(sorted(close.items(), key=lambda item: (-item[1], item[0])))  # the most common first
        corrected = next(iter(close), None)
    if not counts:
        return [], 0
    words = list(counts)  # the most common first
    total = counts[words[0]] + _rarer_words_counted_once(session, counts)
    offset = (page - 1) * limit
    if offset >= total:
        return [], total
    rows = session.execute(_RELEVANCE_PAGE, {"words": words, "names": exact_names(query, corrected),
                                             "k": offset + limit, "offset": offset, "limit": limit}).all()
    return rows, total


# --- one word with filters, sorted by popularity or rating, from search_postings (migrations 0007, 0011) --------
# Every posting carries its plugin's filter and sort columns, in an index per sort, so that the matches of a word
# and of the words it is a prefix of are filtered, counted and ordered there: no wide plugins row is read but the
# page's own (`github` with compatibility ranges, sort=rating, at 100,000 plugins: 38 -> 6.5 ms of statement time,
# 1.5 ms since the indexes hold each sort's order).
_POSTINGS = table("search_postings", column("term", String), column("plugin_id", String),
                  column("is_public", Boolean), column("popularity", BigInteger), column("category", String),
                  column("verified", Boolean), column("featured", Boolean), column("rating_average", Float),
                  column("rating_count", Integer), column("price", Float), column("compat_backstage", String),
                  column("compat_node", String))
POSTED_SORTS = ("popularity", "rating")


def _posted_matches(shape: Shape, sort: str, several: bool):
    """Each public plugin holding the word :word (or, `several`, one of the :words) and passing the filters, once,
    with its sort keys. A plugin has one posting per word, so only several words need DISTINCT: hashing every
    match took a third of the statement's time for a common word (`github` at 100,000 plugins: 5,400 matches)."""
    posting = _POSTINGS.c
    keys = [posting[name] for name in ("popularity",) if sort == "popularity"] + (
        [posting.rating_average, posting.rating_count] if sort == "rating" else [])
    held = posting.term == (any_(bindparam("words", type_=ARRAY(String))) if several else bindparam("word"))
    matches = select(posting.plugin_id.label("id"), *keys).where(
        posting.is_public == true(), held, *filter_conditions(shape, posting, posting.plugin_id))
    return matches.distinct() if several else matches


@functools.lru_cache(maxsize=256)
def _posted_page_statement(shape: Shape, sort: str, order: str, several: bool):
    """The page's summary rows, each with the number of all the matches (one statement, one round trip). One word:
    the page is the first postings of the word's range of the sort's index (migration 0011) that pass the filters,
    and the total a count of that range; several: every match is made distinct, and the same pass counts them."""
    matches = _posted_matches(shape, sort, several).subquery("matches")
    counted = [func.count().over().label("total_count")] if several else []
    page = (select(*matches.c, *counted)
            .order_by(*sort_keys(sort, order, matches.c)).offset(OFFSET).limit(LIMIT).subquery("page"))
    total = page.c.total_count if several else _posted_count_statement(shape, sort, False).scalar_subquery()
    return (select(*SUMMARY_COLUMNS, total.label("total_count"))
            .select_from(page.join(PLUGINS, PLUGINS.c.id == page.c.id)).order_by(*sort_keys(sort, order, page.c)))


@functools.lru_cache(maxsize=256)
def _posted_count_statement(shape: Shape, sort: str, several: bool):
    return select(func.count()).select_from(_posted_matches(shape, sort, several).subquery("matches"))


def _postings_filtered_page(session: Session, word: str, shape: Shape, params: dict, sort: str,
                            order: str) -> tuple[list, int]:
    """A page of a one-word search with filters by popularity or rating, and its exact total; (_, 0) when
    nothing matches (the caller then looks for near misses)."""
    # The word and every word of the catalog it is a prefix of (what `word:*` matches).
    words = [term for term, _plugins in session.execute(_PREFIXED_WORDS, {"prefix": word + "%"})]
    if not words:
        return [], 0
    several = len(words) > 1
    bound = {**params, **({"words": words} if several else {"word": words[0]})}
    rows = session.execute(_posted_page_statement(shape, sort, order, several), bound).all()
    if rows:
        return rows, rows[0].total_count
    return [], (session.scalar(_posted_count_statement(shape, sort, several), bound) or 0) if params["offset"] else 0


@functools.lru_cache(maxsize=256)
def _counted_tsvector_statement(shape: Shape, words: int, exact: tuple[bool, ...], sort: str, order: str):
    """A page of the plugins matching the filters and the words, each row carrying the number of all the
    matches (count(*) OVER (): one pass over the matches gives the page and its total, where a count and then
    the page read them twice)."""
    vector = literal_column("plugins.search_vector")
    tsquery = _tsquery(words)
    # The matches with their sort keys and total, planned on their own (a window is never folded into the outer
    # query): from the GIN index, not by walking a sort index through the whole catalog testing every row.
    relevance = [exact_rank(PLUGINS.c.name, PLUGINS.c.display_name, bindparam("names", expanding=True))
                 .label("exact"), func.ts_rank(vector, tsquery).label("rank")] if sort == "relevance" else []
    matches = (select(*SUMMARY_COLUMNS, PLUGINS.c.popularity, func.count().over().label("total_count"), *relevance)
               .where(shape_conditions(shape), vector.op("@@")(_match_tsquery(exact))).subquery("matches"))
    found = matches.c
    if sort == "relevance":  # the weighted rank: name > displayName > tags > description
        ordering = [found.exact.desc(), found.rank.desc(), found.popularity.desc(), found.id.asc()]
    else:
        ordering = sort_keys(sort, order, found)
    return (select(*[found[column.name] for column in SUMMARY_COLUMNS], found.total_count)
            .order_by(*ordering).offset(OFFSET).limit(LIMIT))


def text_page(session: Session, query: str, shape: Shape, params: dict, sort: str, order: str, page: int,
              limit: int) -> tuple[list, int]:
    """A page of a listing with words, and its total: from search_postings (one word), plugin_search (words
    alone) or the plugins' tsvector (words and filters)."""
    if not terms(query):
        return [], 0
    kinds = shape.kinds()
    word = _posted_word(query)
    if not kinds and sort == "relevance" and word is not None:  # one word: from search_postings
        return _postings_relevance_page(session, query, word, page, limit)
    if word is not None and sort in POSTED_SORTS:  # one word, filters: from search_postings
        rows, total = _postings_filtered_page(session, word, shape, params, sort, order)
        if total:
            return rows, total
        return _tsvector_page(session, query, shape, params, sort, order, fuzzy_only=True)
    if not kinds and sort == "relevance":  # only the text: count and rank on plugin_search
        rows, total = _narrow_relevance_page(session, _postgres_tsquery(session, query, fuzzy=False), page, limit)
        if total == 0:
            # Nothing matches the words or their prefixes: look for near misses (typos) by trigrams.
            near = _near_misses(session, query)
            if near is not None:
                rows, total = _narrow_relevance_page(session, near, page, limit)
        return rows, total
    return _tsvector_page(session, query, shape, params, sort, order)


def _tsvector_page(session: Session, query: str, shape: Shape, params: dict, sort: str, order: str,
                   fuzzy_only: bool = False) -> tuple[list, int]:
    """A page and its total from the plugins' tsvector; then, when nothing matches the words or their prefixes,
    from their near misses (`fuzzy_only`: the words are known to match nothing)."""
    for fuzzy in (True,) if fuzzy_only else (False, True):
        # fuzzy: nothing matches the words or their prefixes, near misses (typos) by trigrams
        found = _near_misses(session, query) if fuzzy else _postgres_tsquery(session, query, False)
        if found is None:
            break
        if not found.matchable:
            continue
        bound = {**params, **found.params}
        rows = session.execute(_counted_tsvector_statement(shape, found.words, found.exact, sort, order),
                               bound).all()
        if rows:
            return rows, rows[0].total_count
        # No row: nothing matches, or (a later page) the page is past the end.
        total = session.scalar(_total_statement(shape, found.words), bound) if params["offset"] else 0
        if total:
            return [], total
    return [], 0


class PostgresTextSearch:
    """The TextSearch of a PostgreSQL database."""

    insert = staticmethod(insert)
    retries_fuzzy = True  # words that match nothing are taken for typos of the catalog's words

    def reindex(self, session: Session, plugin: Plugin) -> None:
        """Nothing to do: the tsvector is a generated column, and triggers keep plugin_search, search_postings
        and the vocabulary of search_terms in step with it."""

    def rebuild_vocabulary(self, session: Session) -> None:
        """Recompute search_terms.plugins from search_postings (after bulk loads)."""
        session.execute(text("UPDATE search_terms SET plugins = 0 WHERE plugins <> 0"))
        session.execute(text("INSERT INTO search_terms (term, plugins) SELECT term, count(*) FROM search_postings "
                             "WHERE is_public GROUP BY term ORDER BY term "
                             "ON CONFLICT (term) DO UPDATE SET plugins = excluded.plugins"))

    def page(self, session: Session, query: str, shape: Shape, params: dict, sort: str, order: str, page: int,
             limit: int) -> tuple[list, int]:
        return text_page(session, query, shape, params, sort, order, page, limit)

    def condition(self, session: Session, query: str, fuzzy: bool):
        """The plugins the words match, as a condition on plugins (None: the query has no words)."""
        found = _postgres_tsquery(session, query, fuzzy=fuzzy)
        if found is None:
            return None
        if not found.matchable:
            return false()  # a word stands for no word of the catalog
        return literal_column("plugins.search_vector").op("@@")(
            _tsquery_of(found.words, found.params, exact=found.exact))
