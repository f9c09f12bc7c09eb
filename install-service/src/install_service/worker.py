"""The install worker: catalog events, installation jobs, recovery and health checks; relays the outbox.

`python -m install_service.worker`; run several for more throughput (each takes one job at a time).
"""

from marketplace_shared.db import Database
from marketplace_shared.worker import Worker, run_worker

from . import events
from .config import Config
from .deployer import FakeDeployer, FilesystemDeployer
from .downloader import HttpDownloader
from .handlers import HANDLERS
from .jobs import JobRunner
from .maintenance import check_health, recover_stalled
from .models import OutboxEvent, ProcessedEvent


def make_deployer(config: Config):
    if config.DEPLOYER == "fake":
        return FakeDeployer()
    return FilesystemDeployer(config.INSTALL_ROOT)


def make_downloader(config: Config) -> HttpDownloader:
    return HttpDownloader(config.CATALOG_URL, config.INTERNAL_TOKEN_SECRET, config.DOWNLOAD_TIMEOUT_SECONDS,
                          config.DOWNLOAD_ATTEMPTS, config.MAX_PACKAGE_BYTES)


def build_worker(config: Config | None = None, database: Database | None = None, deployer=None, downloader=None,
                 runner: JobRunner | None = None) -> Worker:
    config = config or Config()
    database = database or Database(config.DATABASE_URL)
    deployer = deployer or make_deployer(config)
    runner = runner or JobRunner(config, database, deployer, downloader or make_downloader(config))
    periodic = [
        (config.JOB_RECOVERY_INTERVAL, lambda: recover_stalled(config, database)),
        (config.HEALTH_CHECK_INTERVAL, lambda: check_health(config, database, deployer)),
    ]
    return Worker(config, database, OutboxEvent, ProcessedEvent, HANDLERS, periodic=periodic,
                  job_queues={"jobs": {events.INSTALLATION_REQUESTED: [runner.run]}})


if __name__ == "__main__":
    config = Config()
    run_worker(config, lambda: build_worker(config))
