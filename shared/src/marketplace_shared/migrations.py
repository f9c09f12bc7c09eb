"""The body of every service's Alembic `env.py`: online migrations against the configured URL."""

from alembic import context

from .db import make_engine


def run_env(target_metadata, default_url: str) -> None:
    """Migrate the URL the caller set, or the service's configured one (the `alembic` CLI)."""
    config = context.config
    url = config.get_main_option("sqlalchemy.url") or default_url
    if context.is_offline_mode():
        context.configure(url=url, target_metadata=target_metadata, literal_binds=True,
                          render_as_batch=url.startswith("sqlite"))
        with context.begin_transaction():
            context.run_migrations()
        return
    engine = make_engine(url)
    with engine.connect() as connection:
        context.configure(connection=connection, target_metadata=target_metadata,
                          render_as_batch=connection.dialect.name == "sqlite")
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()
