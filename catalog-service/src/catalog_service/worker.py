"""The catalog worker: relays the outbox and consumes events. `python -m catalog_service.worker`."""

from marketplace_shared.db import Database
from marketplace_shared.worker import Worker, run_worker

from .config import Config
from .handlers import HANDLERS
from .models import OutboxEvent, ProcessedEvent
from .textsearch import text_search_for


def build_worker(config: Config | None = None) -> Worker:
    config = config or Config()
    database = Database(config.DATABASE_URL)
    text_search_for(database.engine)  # the text-search backend, chosen once for this database as create_app does
    return Worker(config, database, OutboxEvent, ProcessedEvent, HANDLERS)


if __name__ == "__main__":
    config = Config()
    run_worker(config, lambda: build_worker(config))
