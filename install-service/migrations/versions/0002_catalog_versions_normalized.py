"""catalog read model: each version's normalized form (`0.2` -> `0.2.0`) as the catalog's event carries it

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-01 22:10:00
"""
import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("catalog_versions") as batch_op:
        batch_op.add_column(sa.Column("normalized", sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("catalog_versions") as batch_op:
        batch_op.drop_column("normalized")
