"""Apply the gateway's migrations: `python -m gateway.migrate`."""

from pathlib import Path

from marketplace_shared.db import run_migrations

from .config import Config

MIGRATIONS_DIR = Path(__file__).resolve().parents[2] / "migrations"


def migrate(config: Config | None = None) -> None:
    run_migrations((config or Config()).DATABASE_URL, MIGRATIONS_DIR)


if __name__ == "__main__":
    migrate()
