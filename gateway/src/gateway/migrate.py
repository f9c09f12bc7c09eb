"""Apply the gateway's migrations and write the bootstrap admin account: `python -m gateway.migrate`.

The boot step (boot.sh, scripts/stack.py) runs this once before gunicorn starts, so no web worker writes the
admin account itself.
"""

from pathlib import Path

from marketplace_shared.db import Database, run_migrations

from . import services
from .config import Config

MIGRATIONS_DIR = Path(__file__).resolve().parents[2] / "migrations"


def migrate(config: Config | None = None) -> None:
    """Upgrade the database to head; then, when MARKETPLACE_ADMIN_API_KEY is set, make it the admin's key."""
    config = config or Config()
    run_migrations(config.DATABASE_URL, MIGRATIONS_DIR)
    if config.MARKETPLACE_ADMIN_API_KEY:
        database = Database(config.DATABASE_URL)
        try:
            services.bootstrap_admin(database, config.MARKETPLACE_ADMIN_API_KEY, config.ADMIN_EMAIL)
        finally:
            database.dispose()


if __name__ == "__main__":
    migrate()
