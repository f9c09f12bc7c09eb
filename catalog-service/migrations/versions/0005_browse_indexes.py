"""browsing: exact counts of each category's public plugins; a category's pages by popularity or rating and a
tag's pages by popularity from an index (plugin_tags.popularity, kept by a trigger)

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23 16:45:00
"""
import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("INSERT INTO catalog_counts (dimension, value, count) "
               "SELECT 'category', category, count(*) FROM plugins WHERE is_public GROUP BY category")
    public = {"postgresql_where": sa.text("is_public"), "sqlite_where": sa.text("is_public")}
    op.create_index("ix_plugins_category_popularity", "plugins", ["category", "popularity", "id"], **public)
    op.create_index("ix_plugins_category_rating", "plugins", ["category", "rating_average", "rating_count", "id"],
                    **public)
    with op.batch_alter_table("plugin_tags") as batch_op:
        batch_op.add_column(sa.Column("popularity", sa.BigInteger(), nullable=False, server_default="0"))
    op.execute("UPDATE plugin_tags SET popularity = (SELECT popularity FROM plugins WHERE plugins.id = plugin_tags.plugin_id)")
    op.create_index("ix_plugin_tags_popularity", "plugin_tags", ["tag", "popularity", "plugin_id"],
                    postgresql_where=sa.text("public"), sqlite_where=sa.text("public"))
    # Whatever changes a plugin's popularity (the read models, a bulk load), its tag rows follow.
    if op.get_bind().dialect.name == "postgresql":
        op.execute("""
            CREATE FUNCTION plugin_tags_popularity() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                UPDATE plugin_tags SET popularity = NEW.popularity WHERE plugin_id = NEW.id;
                RETURN NULL;
            END $$""")
        op.execute("CREATE TRIGGER plugins_tags_popularity AFTER UPDATE OF popularity ON plugins FOR EACH ROW "
                   "WHEN (OLD.popularity IS DISTINCT FROM NEW.popularity) EXECUTE FUNCTION plugin_tags_popularity()")
    else:
        op.execute("CREATE TRIGGER plugins_tags_popularity AFTER UPDATE OF popularity ON plugins FOR EACH ROW "
                   "WHEN OLD.popularity IS NOT NEW.popularity BEGIN "
                   "UPDATE plugin_tags SET popularity = NEW.popularity WHERE plugin_id = NEW.id; END")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION plugin_tags_popularity() CASCADE")
    else:
        op.execute("DROP TRIGGER plugins_tags_popularity")
    op.drop_index("ix_plugin_tags_popularity", table_name="plugin_tags")
    with op.batch_alter_table("plugin_tags") as batch_op:
        batch_op.drop_column("popularity")
    op.drop_index("ix_plugins_category_rating", table_name="plugins")
    op.drop_index("ix_plugins_category_popularity", table_name="plugins")
    op.execute("DELETE FROM catalog_counts WHERE dimension = 'category'")
