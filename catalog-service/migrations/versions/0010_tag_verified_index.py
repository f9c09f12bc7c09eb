"""A tag's verified plugins in popularity order (PostgreSQL): `tags` + `verified` counted from their own index range

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02 12:00:00
"""
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

# A tag with `verified` (the usual badge filter) was paged and counted from the tag's popularity index, testing
# `verified` on every entry of the tag: `kubernetes` + verified read 16,460 entries to keep 1,731 at 100,000
# plugins (1.8 ms), ten times what it reads at 10,000. With verified in the key, the page and the exact total come
# from the range of the tag's verified (or unverified) plugins alone, still in popularity order; the other
# filters stay in the entries as in ix_plugin_tags_popularity (migration 0009).
OTHER_FILTERS = "category, featured, rating_average, price, compat_backstage, compat_node"


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return  # SQLite: the tag's rows are tested one by one as before
    op.execute("CREATE INDEX ix_plugin_tags_verified ON plugin_tags (tag, verified, popularity, plugin_id) "
               f"INCLUDE ({OTHER_FILTERS}) WHERE public")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("DROP INDEX ix_plugin_tags_verified")
