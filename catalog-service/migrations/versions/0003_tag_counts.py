"""exact counts of each tag's public plugins in catalog_counts

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23 15:30:00
"""
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("INSERT INTO catalog_counts (dimension, value, count) "
               "SELECT 'tag', tag, count(*) FROM plugin_tags WHERE public GROUP BY tag")


def downgrade() -> None:
    op.execute("DELETE FROM catalog_counts WHERE dimension = 'tag'")
