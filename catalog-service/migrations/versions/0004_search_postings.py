"""search postings: one row per (word, plugin) with the word's rank, and exact public counts per word

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23 16:30:00
"""
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

# The words search_terms and search_postings keep: those of the tsvector with a letter, no hyphenated
# compounds (their parts are words of their own), 3 to 100 characters.
_WORDS = ("SELECT lexeme FROM unnest({vector}) WHERE length(lexeme) BETWEEN 3 AND 100 "
          "AND lexeme ~ '^[a-z0-9]*[a-z][a-z0-9]*$'")


# The counts per word follow the postings. Every change is one upsert of deltas in the order of the words, so
# that two transactions changing the same words lock them in the same order (no deadlock).
_COUNT_DELTAS = ("INSERT INTO search_terms (term, plugins) SELECT term, sum(delta) FROM ({changes}) AS changes "
                 "GROUP BY term HAVING sum(delta) <> 0 ORDER BY term "
                 "ON CONFLICT (term) DO UPDATE SET plugins = search_terms.plugins + excluded.plugins")


def upgrade() -> None:
    # How many public plugins hold each word: a one-word search's exact total without visiting its matches
    # (PostgreSQL; SQLite ranks with FTS5, reads its own vocabulary and leaves the column at 0).
    op.execute("ALTER TABLE search_terms ADD COLUMN plugins bigint NOT NULL DEFAULT 0")
    if op.get_bind().dialect.name != "postgresql":
        return
    # The words a prefix stands for (`term LIKE 'kube%'`), whatever the database's collation.
    op.execute("CREATE INDEX ix_search_terms_prefix ON search_terms (term varchar_pattern_ops)")
    op.execute("""
        CREATE TABLE search_postings (
            term varchar(100) NOT NULL,
            plugin_id varchar(40) NOT NULL,
            is_public boolean NOT NULL,
            rank real NOT NULL,
            popularity bigint NOT NULL,
            PRIMARY KEY (term, plugin_id)
        )""")
    # A word's matches in relevance order (ts_rank of the word, then popularity) straight from the index.
    op.execute("CREATE INDEX ix_search_postings_ranked ON search_postings "
               "(term, rank DESC, popularity DESC, plugin_id) WHERE is_public")
    # The plugins whose display name is the query (exact matches rank first), without the trigram index's recheck.
    op.execute("CREATE INDEX ix_plugins_display_name_lower ON plugins (lower(display_name))")
    op.execute(f"""
        CREATE FUNCTION search_words(vector tsvector) RETURNS SETOF text LANGUAGE sql IMMUTABLE AS $$
            {_WORDS.format(vector="vector")}
        $$""")
    # Kept in step with plugin_search (itself kept in step with plugins) by triggers: whatever writes plugins,
    # the services or a bulk COPY, the postings follow in the same transaction.
    op.execute("""
        CREATE FUNCTION search_postings_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            INSERT INTO search_postings (term, plugin_id, is_public, rank, popularity)
            SELECT word, s.plugin_id, s.is_public, ts_rank(s.search_vector, to_tsquery('simple', word)), s.popularity
            FROM new_rows s, search_words(s.search_vector) AS word;
            RETURN NULL;
        END $$""")
    op.execute("""
        CREATE FUNCTION search_postings_updated() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            IF NEW.search_vector IS DISTINCT FROM OLD.search_vector THEN
                DELETE FROM search_postings
                WHERE term IN (SELECT search_words(OLD.search_vector)) AND plugin_id = OLD.plugin_id;
                INSERT INTO search_postings (term, plugin_id, is_public, rank, popularity)
                SELECT word, NEW.plugin_id, NEW.is_public, ts_rank(NEW.search_vector, to_tsquery('simple', word)),
                       NEW.popularity
                FROM search_words(NEW.search_vector) AS word;
            ELSIF NEW.is_public IS DISTINCT FROM OLD.is_public THEN
                UPDATE search_postings SET is_public = NEW.is_public, popularity = NEW.popularity
                WHERE term IN (SELECT search_words(NEW.search_vector)) AND plugin_id = NEW.plugin_id;
            ELSIF NEW.popularity IS DISTINCT FROM OLD.popularity THEN
                -- The most frequent change (every download and install) leaves is_public alone, so that the
                -- counts' trigger (UPDATE OF is_public) stays out of it.
                UPDATE search_postings SET popularity = NEW.popularity
                WHERE term IN (SELECT search_words(NEW.search_vector)) AND plugin_id = NEW.plugin_id;
            END IF;
            RETURN NULL;
        END $$""")
    op.execute("""
        CREATE FUNCTION search_postings_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            DELETE FROM search_postings
            WHERE term IN (SELECT search_words(OLD.search_vector)) AND plugin_id = OLD.plugin_id;
            RETURN NULL;
        END $$""")
    op.execute("CREATE TRIGGER plugin_search_postings_inserted AFTER INSERT ON plugin_search "
               "REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION search_postings_inserted()")
    op.execute("CREATE TRIGGER plugin_search_postings_updated AFTER UPDATE ON plugin_search "
               "FOR EACH ROW EXECUTE FUNCTION search_postings_updated()")
    op.execute("CREATE TRIGGER plugin_search_postings_deleted AFTER DELETE ON plugin_search "
               "FOR EACH ROW EXECUTE FUNCTION search_postings_deleted()")
    op.execute(f"""
        CREATE FUNCTION search_term_counts_changed() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            IF TG_OP = 'INSERT' THEN
                {_COUNT_DELTAS.format(changes="SELECT term, 1 AS delta FROM new_rows WHERE is_public")};
            ELSE
                {_COUNT_DELTAS.format(changes="SELECT term, -1 AS delta FROM old_rows WHERE is_public")};
            END IF;
            RETURN NULL;
        END $$""")
    # Transition tables allow one event per trigger: two triggers, one function.
    op.execute("CREATE TRIGGER search_postings_counted_inserted AFTER INSERT ON search_postings "
               "REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION search_term_counts_changed()")
    op.execute("CREATE TRIGGER search_postings_counted_deleted AFTER DELETE ON search_postings "
               "REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION search_term_counts_changed()")
    # A plugin published or unpublished: per row (in the order of its words, as its postings are updated) and
    # only then: a statement trigger with transition tables cannot name columns, and would run for every
    # popularity change.
    op.execute("""
        CREATE FUNCTION search_term_count_moved() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            INSERT INTO search_terms (term, plugins) VALUES (NEW.term, CASE WHEN NEW.is_public THEN 1 ELSE -1 END)
            ON CONFLICT (term) DO UPDATE SET plugins = search_terms.plugins + excluded.plugins;
            RETURN NULL;
        END $$""")
    op.execute("CREATE TRIGGER search_postings_counted_updated AFTER UPDATE OF is_public ON search_postings "
               "FOR EACH ROW WHEN (OLD.is_public IS DISTINCT FROM NEW.is_public) "
               "EXECUTE FUNCTION search_term_count_moved()")
    op.execute("INSERT INTO search_postings (term, plugin_id, is_public, rank, popularity) "
               "SELECT word, s.plugin_id, s.is_public, ts_rank(s.search_vector, to_tsquery('simple', word)), "
               "s.popularity FROM plugin_search s, search_words(s.search_vector) AS word")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TABLE search_postings")
        for function in ("search_term_counts_changed", "search_term_count_moved", "search_postings_inserted",
                         "search_postings_updated", "search_postings_deleted"):
            op.execute(f"DROP FUNCTION {function}() CASCADE")
        op.execute("DROP FUNCTION search_words(tsvector)")
        op.execute("DROP INDEX ix_plugins_display_name_lower")
        op.execute("DROP INDEX ix_search_terms_prefix")
    with op.batch_alter_table("search_terms") as batch_op:
        batch_op.drop_column("plugins")
