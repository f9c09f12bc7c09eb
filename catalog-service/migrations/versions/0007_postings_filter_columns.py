"""search postings carry the listing filters: a one-word search with filters counts and pages from them

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02 01:10:00
"""
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

# What a listing filters and sorts on, copied from plugins into plugin_search and from there into every posting
# of the plugin, so that a word with filters is counted from one index of search_postings instead of reading
# every matching plugins row (`github` with compatibility ranges: 5,400 wide rows at 100,000 plugins).
FILTERS = {
    "category": "varchar(50) NOT NULL DEFAULT ''",
    "verified": "boolean NOT NULL DEFAULT false",
    "featured": "boolean NOT NULL DEFAULT false",
    "rating_average": "double precision NOT NULL DEFAULT 0",
    "rating_count": "integer NOT NULL DEFAULT 0",
    "price": "double precision NOT NULL DEFAULT 0",
    "compat_backstage": "varchar(200)",
    "compat_node": "varchar(200)",
}


def _trigger_functions(filters: list[str]) -> list[str]:
    """The trigger functions of migrations 0002 and 0004, copying `filters` too (none: as those migrations made
    them)."""
    extra = "".join(f", {name}" for name in filters)

    def assign(source: str) -> str:
        return "".join(f", {name} = {source}.{name}" for name in filters)

    def values(source: str) -> str:
        return "".join(f", {source}.{name}" for name in filters)

    changed = " OR ".join(f"NEW.{name} IS DISTINCT FROM OLD.{name}" for name in ["popularity", *filters])
    return [f"""
        CREATE OR REPLACE FUNCTION plugin_search_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            INSERT INTO plugin_search (plugin_id, is_public, popularity, name, display_name, search_vector{extra})
            SELECT id, is_public, popularity, name, display_name, search_vector{extra} FROM new_plugins
            ON CONFLICT (plugin_id) DO NOTHING;
            RETURN NULL;
        END $$""", f"""
        CREATE OR REPLACE FUNCTION plugin_search_updated() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            UPDATE plugin_search SET is_public = NEW.is_public, popularity = NEW.popularity, name = NEW.name,
                display_name = NEW.display_name, search_vector = NEW.search_vector{assign('NEW')}
            WHERE plugin_id = NEW.id;
            RETURN NULL;
        END $$""", "DROP TRIGGER plugins_search_updated ON plugins",
        "CREATE TRIGGER plugins_search_updated AFTER UPDATE OF is_public, popularity, name, display_name, "
        f"tags_text, description{extra} ON plugins FOR EACH ROW EXECUTE FUNCTION plugin_search_updated()", f"""
        CREATE OR REPLACE FUNCTION search_postings_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            INSERT INTO search_postings (term, plugin_id, is_public, rank, popularity{extra})
            SELECT word, s.plugin_id, s.is_public, ts_rank(s.search_vector, to_tsquery('simple', word)),
                   s.popularity{values('s')}
            FROM new_rows s, search_words(s.search_vector) AS word;
            RETURN NULL;
        END $$""", f"""
        CREATE OR REPLACE FUNCTION search_postings_updated() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            IF NEW.search_vector IS DISTINCT FROM OLD.search_vector THEN
                DELETE FROM search_postings
                WHERE term IN (SELECT search_words(OLD.search_vector)) AND plugin_id = OLD.plugin_id;
                INSERT INTO search_postings (term, plugin_id, is_public, rank, popularity{extra})
                SELECT word, NEW.plugin_id, NEW.is_public, ts_rank(NEW.search_vector, to_tsquery('simple', word)),
                       NEW.popularity{values('NEW')}
                FROM search_words(NEW.search_vector) AS word;
            ELSIF NEW.is_public IS DISTINCT FROM OLD.is_public THEN
                UPDATE search_postings SET is_public = NEW.is_public, popularity = NEW.popularity{assign('NEW')}
                WHERE term IN (SELECT search_words(NEW.search_vector)) AND plugin_id = NEW.plugin_id;
            ELSIF {changed} THEN
                -- The most frequent change (every download and install) leaves is_public alone, so that the
                -- counts' trigger (UPDATE OF is_public) stays out of it.
                UPDATE search_postings SET popularity = NEW.popularity{assign('NEW')}
                WHERE term IN (SELECT search_words(NEW.search_vector)) AND plugin_id = NEW.plugin_id;
            END IF;
            RETURN NULL;
        END $$"""]


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return  # SQLite searches with FTS5 and has neither table
    for table in ("plugin_search", "search_postings"):
        op.execute(f"ALTER TABLE {table} " + ", ".join(f"ADD COLUMN {name} {kind}" for name, kind in FILTERS.items()))
    # Filled before the triggers copy the new columns (the old ones see no change of theirs and do nothing).
    assign = ", ".join(f"{name} = source.{name}" for name in FILTERS)
    op.execute(f"UPDATE plugin_search s SET {assign} FROM plugins source WHERE source.id = s.plugin_id")
    op.execute(f"UPDATE search_postings p SET {assign} FROM plugin_search source WHERE source.plugin_id = p.plugin_id")
    for statement in _trigger_functions(list(FILTERS)):
        op.execute(statement)
    # A word's public postings with every filter and sort column, in the index alone (an index-only scan); a
    # word and the words it is a prefix of are a range of it (`term ~>=~ 'github' AND term ~<~ 'githuc'`, which a
    # generic plan of a prepared statement uses as well as a custom one).
    op.execute("CREATE INDEX ix_search_postings_filters ON search_postings (term varchar_pattern_ops) "
               f"INCLUDE (plugin_id, popularity, {', '.join(FILTERS)}) WHERE is_public")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("DROP INDEX ix_search_postings_filters")
    for statement in _trigger_functions([]):
        op.execute(statement)
    for table in ("search_postings", "plugin_search"):
        op.execute(f"ALTER TABLE {table} " + ", ".join(f"DROP COLUMN {name}" for name in FILTERS))
