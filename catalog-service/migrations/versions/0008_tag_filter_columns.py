"""plugin_tags carry the listing filters (PostgreSQL): a tag with other filters is counted from one index

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02 01:30:00
"""
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

# The filters a tag can be combined with, copied from plugins (as plugin_tags.popularity already is): a tag's
# public plugins that are also verified, in a category, compatible... counted from the tag's index entries
# alone (`kubernetes` + verified at 100,000 plugins: 16,000 index entries instead of a join with 10,000
# verified plugins).
COLUMNS = ("category varchar(50) NOT NULL DEFAULT '', verified boolean NOT NULL DEFAULT false, "
           "featured boolean NOT NULL DEFAULT false, rating_average double precision NOT NULL DEFAULT 0, "
           "price double precision NOT NULL DEFAULT 0, compat_backstage varchar(200), compat_node varchar(200)")
NAMES = [column.split()[0] for column in COLUMNS.split(", ")]


def _popularity_trigger(names: list[str]) -> list[str]:
    """Migration 0005's trigger on plugins, following `names` too (none: as 0005 made it)."""
    assign = "".join(f", {name} = NEW.{name}" for name in names)
    changed = " OR ".join(f"OLD.{name} IS DISTINCT FROM NEW.{name}" for name in ["popularity", *names])
    return [f"""
        CREATE OR REPLACE FUNCTION plugin_tags_popularity() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            UPDATE plugin_tags SET popularity = NEW.popularity{assign} WHERE plugin_id = NEW.id;
            RETURN NULL;
        END $$""", "DROP TRIGGER plugins_tags_popularity ON plugins",
        f"CREATE TRIGGER plugins_tags_popularity AFTER UPDATE OF {', '.join(['popularity', *names])} ON plugins "
        f"FOR EACH ROW WHEN ({changed}) EXECUTE FUNCTION plugin_tags_popularity()"]


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return  # SQLite counts a tag with other filters on plugins
    op.execute(f"ALTER TABLE plugin_tags ADD COLUMN {COLUMNS.replace(', ', ', ADD COLUMN ')}")
    op.execute(f"UPDATE plugin_tags t SET {', '.join(f'{name} = p.{name}' for name in NAMES)} "
               "FROM plugins p WHERE p.id = t.plugin_id")
    # A new tag row (the services, a bulk COPY) takes its plugin's values; changes of the plugin follow.
    op.execute(f"""
        CREATE FUNCTION plugin_tags_filters() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            SELECT {', '.join(NAMES)} INTO {', '.join(f'NEW.{name}' for name in NAMES)}
            FROM plugins WHERE id = NEW.plugin_id;
            RETURN NEW;
        END $$""")
    op.execute("CREATE TRIGGER plugin_tags_filters BEFORE INSERT ON plugin_tags FOR EACH ROW "
               "EXECUTE FUNCTION plugin_tags_filters()")
    for statement in _popularity_trigger(NAMES):
        op.execute(statement)
    op.execute(f"CREATE INDEX ix_plugin_tags_filters ON plugin_tags (tag) INCLUDE ({', '.join(NAMES)}) WHERE public")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("DROP INDEX ix_plugin_tags_filters")
    for statement in _popularity_trigger([]):
        op.execute(statement)
    op.execute("DROP FUNCTION plugin_tags_filters() CASCADE")
    op.execute("ALTER TABLE plugin_tags " + ", ".join(f"DROP COLUMN {name}" for name in NAMES))
