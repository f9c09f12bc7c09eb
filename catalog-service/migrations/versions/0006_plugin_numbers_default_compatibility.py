"""plugins: a numeric id for the BlueMind door (`/addons/api/plugin/1/`), and the plugin's default compatibility

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01 22:20:00
"""
import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

NUMBER_IN_CREATION_ORDER = ("UPDATE plugins SET number = (SELECT numbered.n FROM (SELECT id, row_number() OVER "
                            "(ORDER BY created_at, id) AS n FROM plugins) AS numbered WHERE numbered.id = plugins.id)")


def upgrade() -> None:
    postgresql = op.get_bind().dialect.name == "postgresql"
    with op.batch_alter_table("plugins") as batch_op:
        batch_op.add_column(sa.Column("number", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("default_compatibility", sa.JSON(), nullable=False, server_default="{}"))
    op.execute(NUMBER_IN_CREATION_ORDER)
    op.create_index("ix_plugins_number", "plugins", ["number"], unique=True)
    if postgresql:
        op.execute("CREATE SEQUENCE plugins_number_seq OWNED BY plugins.number")
        op.execute("SELECT setval('plugins_number_seq', coalesce((SELECT max(number) FROM plugins), 0) + 1, false)")
        op.execute("ALTER TABLE plugins ALTER COLUMN number SET DEFAULT nextval('plugins_number_seq')")
        op.execute("ALTER TABLE plugins ALTER COLUMN number SET NOT NULL")
    else:
        # SQLite has no sequences; it has one writer at a time, so the next number read in the inserting
        # transaction is never taken by another one.
        op.execute("CREATE TRIGGER plugins_number AFTER INSERT ON plugins FOR EACH ROW WHEN NEW.number IS NULL "
                   "BEGIN UPDATE plugins SET number = (SELECT coalesce(max(number), 0) + 1 FROM plugins) "
                   "WHERE rowid = NEW.rowid; END")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE plugins ALTER COLUMN number DROP DEFAULT")
        op.execute("DROP SEQUENCE plugins_number_seq")
    else:
        op.execute("DROP TRIGGER plugins_number")
    op.drop_index("ix_plugins_number", table_name="plugins")
    with op.batch_alter_table("plugins") as batch_op:
        batch_op.drop_column("default_compatibility")
        batch_op.drop_column("number")
