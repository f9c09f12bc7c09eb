"""The webhook worker: relays the outbox, consumes events into deliveries, and sends them.

`python -m webhook_service.worker`. The consumer (the shared Worker) runs in the main thread
with the process's only broker connection; the Dispatcher's threads send the deliveries.
"""

from marketplace_shared.db import Database
from marketplace_shared.worker import Worker, run_worker

from . import attempts
from .config import Config
from .dispatcher import Dispatcher
from .handlers import build_handlers
from .models import OutboxEvent, ProcessedEvent


def build_worker(config: Config | None = None, database: Database | None = None,
                 dispatcher: Dispatcher | None = None) -> Worker:
    """The consumer; with `dispatcher` (the one running in this process) new deliveries are handed to it."""
    config = config or Config()
    database = database or Database(config.DATABASE_URL)

    def purge_old_deliveries() -> None:
        with database.session() as session, session.begin():
            attempts.purge_old_deliveries(session, config)

    return Worker(config, database, OutboxEvent, ProcessedEvent, build_handlers(dispatcher),
                  periodic=[(3600.0, purge_old_deliveries)])


def build_dispatcher(config: Config, database: Database, **kwargs) -> Dispatcher:
    """The sender of deliveries (not started); give it to build_worker so that the consumer hands it its new ones."""
    return Dispatcher(config, database, **kwargs)


def main() -> None:
    config = Config()
    database = Database(config.DATABASE_URL)
    dispatcher = build_dispatcher(config, database)
    run_worker(config, lambda: build_worker(config, database, dispatcher), alongside=[dispatcher])


if __name__ == "__main__":
    main()
