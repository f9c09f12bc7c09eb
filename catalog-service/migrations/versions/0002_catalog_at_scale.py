"""catalog at scale: exact public counts, tag visibility, filter index

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 11:30:00
"""
import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "catalog_counts",
        sa.Column("dimension", sa.String(length=20), nullable=False),
        sa.Column("value", sa.String(length=200), nullable=False),
        sa.Column("count", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("dimension", "value"),
    )
    with op.batch_alter_table("plugin_tags", schema=None) as batch_op:
        batch_op.add_column(sa.Column("public", sa.Boolean(), nullable=False, server_default=sa.false()))
    op.execute("UPDATE plugin_tags SET public = (SELECT plugins.is_public FROM plugins "
               "WHERE plugins.id = plugin_tags.plugin_id)")
    op.create_index("ix_plugin_tags_public", "plugin_tags", ["tag", "plugin_id"],
                    postgresql_where=sa.text("public"), sqlite_where=sa.text("public"))
    op.create_index("ix_plugins_public_verified_rating", "plugins", ["verified", "rating_average", "id"],
                    postgresql_where=sa.text("is_public"), sqlite_where=sa.text("is_public"))
    op.execute("INSERT INTO catalog_counts (dimension, value, count) "
               "SELECT 'all', '', count(*) FROM plugins WHERE is_public")
    for dimension, column in (("backstage", "compat_backstage"), ("node", "compat_node")):
        op.execute(f"INSERT INTO catalog_counts (dimension, value, count) SELECT '{dimension}', {column}, count(*) "
                   f"FROM plugins WHERE is_public AND {column} IS NOT NULL GROUP BY {column}")


    if op.get_bind().dialect.name == "postgresql":
        _create_plugin_search()
    op.create_table("search_terms", sa.Column("term", sa.String(length=100), nullable=False),
                    sa.PrimaryKeyConstraint("term"))
    if op.get_bind().dialect.name == "postgresql":
        op.execute("CREATE INDEX ix_search_terms_trgm ON search_terms USING gin (term gin_trgm_ops)")
        op.execute("INSERT INTO search_terms (term) SELECT DISTINCT word FROM plugins, "
                   "unnest(tsvector_to_array(plugins.search_vector)) AS word WHERE length(word) BETWEEN 3 AND 100 "
                   "AND word ~ '^[a-z0-9]*[a-z][a-z0-9]*$' ON CONFLICT DO NOTHING")


def _create_plugin_search() -> None:
    """PostgreSQL: a narrow copy of what ranked full-text search reads (the tsvector, visibility, popularity,
    names), kept in step by triggers, so that ranking and counting many matches reads a few pages of it
    rather than the wide plugins rows. The application only reads it."""
    op.execute("""
        CREATE TABLE plugin_search (
            plugin_id varchar(40) PRIMARY KEY REFERENCES plugins (id) ON DELETE CASCADE,
            is_public boolean NOT NULL,
            popularity bigint NOT NULL,
            name varchar(100) NOT NULL,
            display_name varchar(200) NOT NULL,
            search_vector tsvector NOT NULL
        )""")
    op.execute("CREATE INDEX ix_plugin_search_vector_public ON plugin_search USING gin (search_vector) "
               "WHERE is_public")
    op.execute("""
        CREATE FUNCTION plugin_search_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            INSERT INTO plugin_search (plugin_id, is_public, popularity, name, display_name, search_vector)
            SELECT id, is_public, popularity, name, display_name, search_vector FROM new_plugins
            ON CONFLICT (plugin_id) DO NOTHING;
            RETURN NULL;
        END $$""")
    op.execute("""
        CREATE FUNCTION plugin_search_updated() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            UPDATE plugin_search SET is_public = NEW.is_public, popularity = NEW.popularity, name = NEW.name,
                display_name = NEW.display_name, search_vector = NEW.search_vector
            WHERE plugin_id = NEW.id;
            RETURN NULL;
        END $$""")
    # Statement-level on insert (bulk loads insert many rows at once); per row on the columns that matter.
    op.execute("CREATE TRIGGER plugins_search_inserted AFTER INSERT ON plugins REFERENCING NEW TABLE AS new_plugins "
               "FOR EACH STATEMENT EXECUTE FUNCTION plugin_search_inserted()")
    op.execute("CREATE TRIGGER plugins_search_updated AFTER UPDATE OF is_public, popularity, name, display_name, "
               "tags_text, description ON plugins FOR EACH ROW EXECUTE FUNCTION plugin_search_updated()")
    op.execute("INSERT INTO plugin_search (plugin_id, is_public, popularity, name, display_name, search_vector) "
               "SELECT id, is_public, popularity, name, display_name, search_vector FROM plugins")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TABLE plugin_search")
        op.execute("DROP FUNCTION plugin_search_inserted() CASCADE")
        op.execute("DROP FUNCTION plugin_search_updated() CASCADE")
    op.drop_table("search_terms")
    op.drop_index("ix_plugins_public_verified_rating", table_name="plugins")
    op.drop_index("ix_plugin_tags_public", table_name="plugin_tags")
    with op.batch_alter_table("plugin_tags", schema=None) as batch_op:
        batch_op.drop_column("public")
    op.drop_table("catalog_counts")
