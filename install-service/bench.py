"""Install throughput benchmark: `python bench.py [--installs N]` (a `make bench` target can call it).

For 1 and then 2 worker processes (real `python -m install_service.worker`, PostgreSQL when reachable,
else SQLite, real RabbitMQ), posts N installs of distinct plugins with a 1 MB package served over HTTP and
reports installs completed per minute and the p95 time from POST to `completed`.
"""

import argparse
import contextlib
import logging
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from sqlalchemy import func, select

from install_service.app import create_app
from install_service.config import Config
from install_service.migrate import migrate
from install_service.models import CatalogVersion, Installation
from marketplace_shared.broker import EventPublisher, connect
from marketplace_shared.db import Database
from marketplace_shared.testing import (
    delete_broker_objects,
    postgres_available,
    serve_bytes,
    temporary_postgres_database,
    unique_name,
    wait_for,
)

sys.path.insert(0, str(Path(__file__).parent / "tests"))
import install_testkit as factories  # noqa: E402  (the tests' factories)

HERE = Path(__file__).resolve().parent
PACKAGE_BYTES = 1024 * 1024


def queue_exists(url: str, queue: str) -> bool:
    with connect(url) as connection:
        connection.channel().queue_declare(queue, passive=True)
    return True


def run(workers: int, installs: int, database_url: str) -> dict:
    var = Path(tempfile.mkdtemp(prefix="install-bench-"))
    prefix = unique_name("bench") + "."
    packages: dict[str, bytes] = {}
    server = serve_bytes(packages)
    env = dict(os.environ, VAR_DIR=str(var), EVENT_PREFIX=prefix, DATABASE_URL=database_url, LOG_LEVEL="WARNING",
               CATALOG_URL=f"http://127.0.0.1:{server.server_address[1]}", HEALTH_CHECK_INTERVAL="3600")
    for key in ("VAR_DIR", "EVENT_PREFIX", "DATABASE_URL", "CATALOG_URL"):
        os.environ[key] = env[key]
    config = Config()
    migrate(config)
    processes = [subprocess.Popen([sys.executable, "-m", "install_service.worker"], env=env, cwd=HERE,
                                  stdout=open(var / "worker.log", "ab"), stderr=subprocess.STDOUT)  # noqa: SIM115
                 for _ in range(workers)]
    database = Database(config.DATABASE_URL)
    try:
        wait_for(lambda: queue_exists(config.AMQP_URL, f"{config.queue_name}.jobs"), timeout=60,
                 message="the workers to declare their queues")
        names = [f"bench-{index}-{unique_name('p')}".replace("_", "-") for index in range(installs)]
        connection = connect(config.AMQP_URL)
        publisher = EventPublisher(connection, config.EVENT_EXCHANGE)
        for name in names:
            plugin_id = factories.new_plugin_id()
            body = factories.make_tgz({**factories.package_files(name, "1.0.0"), "blob.bin": os.urandom(PACKAGE_BYTES)})
            packages[f"/api/marketplace/v1/plugins/{plugin_id}/versions/1.0.0/package"] = body
            publisher.publish(factories.plugin_published(plugin_id, name))
            publisher.publish(factories.version_published(plugin_id, name, "1.0.0", body))
        connection.close()
        client = create_app(config).test_client()
        headers = factories.headers(config)

        def catalog_known():
            with database.session() as session:
                return session.scalar(select(func.count()).select_from(CatalogVersion)
                                      .where(CatalogVersion.published.is_(True))) == installs

        wait_for(catalog_known, timeout=60, message="the catalog events")
        started = time.monotonic()
        for name in names:
            response = client.post(f"/api/marketplace/v1/plugins/{name}/install", headers=headers,
                                   json={"environment": "bench", "namespace": "ns"})
            assert response.status_code == 202, response.get_json()

        def all_done():
            with database.session() as session:
                rows = session.scalars(select(Installation)).all()
                return len(rows) == installs and all(row.status in ("completed", "failed") for row in rows) and rows

        rows = wait_for(all_done, timeout=600, interval=0.2, message="every install to finish")
        elapsed = time.monotonic() - started
        latencies = sorted((row.completed_at - row.created_at).total_seconds() for row in rows)
        failed = sum(row.status == "failed" for row in rows)
        p95 = latencies[max(0, int(round(0.95 * len(latencies))) - 1)]
        return {"workers": workers, "installs": installs, "failed": failed,
                "per_minute": installs / elapsed * 60, "p95": p95}
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=15)
        database.dispose()
        server.shutdown()
        delete_broker_objects(prefix, [config.queue_name, f"{config.queue_name}.jobs"], config.EVENT_EXCHANGE)
        shutil.rmtree(var, ignore_errors=True)


def main() -> None:
    # queue_exists() is asked every 50 ms until the workers have declared their queues: pika's warning for
    # each "not yet" is noise here.
    logging.getLogger("pika.channel").setLevel(logging.ERROR)
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--installs", type=int, default=30)
    args = parser.parse_args()
    results = []
    for workers in (1, 2):
        if postgres_available():
            with temporary_postgres_database("install_bench") as url:
                results.append(run(workers, args.installs, url))
        else:
            results.append(run(workers, args.installs, f"sqlite:///{tempfile.mkdtemp()}/bench.db"))
    print(f"{'workers':>8} {'installs':>9} {'failed':>7} {'installs/min':>13} {'p95 POST->completed':>21}")
    for row in results:
        print(f"{row['workers']:>8} {row['installs']:>9} {row['failed']:>7} {row['per_minute']:>13.1f} "
              f"{row['p95']:>19.2f} s")


if __name__ == "__main__":
    main()
