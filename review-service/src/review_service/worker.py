"""The review worker: relays the outbox and consumes events. `python -m review_service.worker`."""

from marketplace_shared.db import Database
from marketplace_shared.worker import Worker, run_worker

from .config import Config
from .handlers import HANDLERS
from .models import OutboxEvent, ProcessedEvent


def build_worker(config: Config | None = None) -> Worker:
    config = config or Config()
    return Worker(config, Database(config.DATABASE_URL), OutboxEvent, ProcessedEvent, HANDLERS)


if __name__ == "__main__":
    config = Config()
    run_worker(config, lambda: build_worker(config))
