"""The worker on real PostgreSQL and RabbitMQ: catalog events feed the read model, an install runs to
completed through the job queue (package served over HTTP), and a job whose worker crashed mid-deploy is
redelivered to another worker, which rolls the partial deployment back and completes it."""

import contextlib
import json
import socket
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import install_testkit as factories
import pytest

from install_service.app import create_app
from install_service.config import Config
from install_service.deployer import FilesystemDeployer
from install_service.jobs import JobRunner
from install_service.migrate import migrate
from install_service.models import CatalogVersion, Installation
from install_service.worker import build_worker, make_downloader
from marketplace_shared.broker import EventPublisher, connect
from marketplace_shared.contracts import check_event
from marketplace_shared.db import Database
from marketplace_shared.testing import (
    AMQP_URL,
    delete_broker_objects,
    temporary_postgres_database,
    unique_name,
    wait_for,
)

PREFIX = "/api/marketplace/v1"


class PackageServer:
    """Stands in for the catalog's package download route."""

    def __init__(self):
        self.packages: dict[str, bytes] = {}
        packages = self.packages

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 - http.server's naming
                body = packages.get(self.path)
                self.send_response(200 if body is not None else 404)
                self.send_header("Content-Length", str(len(body or b"")))
                self.end_headers()
                self.wfile.write(body or b"")

            def log_message(self, *_args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()


# The simulated crash escapes the job's thread on purpose.
pytestmark = pytest.mark.filterwarnings("ignore::pytest.PytestUnhandledThreadExceptionWarning")


class Crash(BaseException):
    """Stands for SIGKILL in the middle of a deploy: nothing after it runs."""


class CrashingDeployer(FilesystemDeployer):
    worker = None

    def deploy(self, target, spec, strategy):
        super().deploy(target, spec, strategy)
        # The process dies: its loop stops, its connection closes, the job's message is unacked.
        self.worker.stopping = True
        raise Crash()


class KilledRunner(JobRunner):
    def _release(self, installation_id):
        pass  # a killed process releases nothing


def dead_owner() -> str:
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return f"{socket.gethostname()}|{process.pid}|gone|r1"


def start(worker):
    def run():
        with contextlib.suppress(Crash):  # the "process" died; its connection is closed below
            worker.run()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    wait_for(lambda: worker.ready or not thread.is_alive(), message="worker connected")
    return thread


class WorkerList(list):
    observer = None


@pytest.fixture
def env(tmp_path):
    prefix = unique_name("inst") + "."
    server = PackageServer()
    with temporary_postgres_database("install_it") as url:
        config = Config(DATABASE_URL=url, AMQP_URL=AMQP_URL, EVENT_PREFIX=prefix,
                        EVENT_EXCHANGE=f"{prefix}marketplace.events", INSTALL_ROOT=str(tmp_path / "installs"),
                        CATALOG_URL=server.url, CONSUMER_RETRY_DELAY_MS=200, JOB_RECOVERY_INTERVAL=0.5,
                        HEALTH_CHECK_INTERVAL=3600)
        migrate(config)
        database = Database(url)
        workers = WorkerList()
        try:
            yield config, database, server, workers
        finally:
            for worker, thread in workers:
                worker.stopping = True
                thread.join(timeout=10)
                worker._close()
            database.dispose()
            server.close()
            queues = [config.queue_name, f"{config.queue_name}.jobs"] + ([workers.observer] if workers.observer else [])
            delete_broker_objects(prefix, queues, config.EVENT_EXCHANGE)


def publish_catalog(config, server, database, name, version="1.0.0"):
    plugin_id = factories.new_plugin_id()
    body = factories.make_tgz(factories.package_files(name, version), top="package")
    server.packages[f"{PREFIX}/plugins/{plugin_id}/versions/{version}/package"] = body
    connection = connect(config.AMQP_URL)
    publisher = EventPublisher(connection, config.EVENT_EXCHANGE)
    publisher.publish(check_event(factories.plugin_published(plugin_id, name, version)))
    publisher.publish(check_event(factories.version_published(plugin_id, name, version, body, factories.SCHEMA)))
    connection.close()

    def known():
        with database.session() as session:
            row = session.get(CatalogVersion, (plugin_id, version))
            return row is not None and row.published

    wait_for(known, message="the read model to learn the version")
    return plugin_id


def status_of(database, installation_id):
    with database.session() as session:
        return session.get(Installation, installation_id)


def request_install(client, headers, plugin: str, api_url: str, strategy: str) -> str:
    """Ask for an install into production/team-a; the new installation's id."""
    response = client.post(f"{PREFIX}/plugins/{plugin}/install", headers=headers,
                           json={"environment": "production", "namespace": "team-a",
                                 "configuration": {"apiUrl": api_url}, "deploymentStrategy": strategy})
    assert response.status_code == 202, response.get_json()
    return response.get_json()["data"]["installationId"]


def test_install_completes_and_a_crashed_job_is_redelivered_and_completed(env):
    config, database, server, workers = env
    root = Path(config.INSTALL_ROOT)
    # Worker A: its deployer "dies" right after deploying, holding the job's lease and message.
    crashing = CrashingDeployer(root)
    killed = build_worker(config, database, runner=KilledRunner(config, database, crashing,
                                                                make_downloader(config), owner=dead_owner()))
    crashing.worker = killed
    thread_a = start(killed)
    workers.append((killed, thread_a))
    observer = f"{config.EVENT_PREFIX}observer"
    with connect(config.AMQP_URL) as connection:
        channel = connection.channel()
        channel.queue_declare(observer, durable=False, auto_delete=False)
        channel.queue_bind(observer, config.EVENT_EXCHANGE, "plugin.installed")
    workers.observer = observer
    app = create_app(config)
    client = app.test_client()
    headers = factories.headers(config)

    plugin = publish_catalog(config, server, database, "crash-test")
    crashed_id = request_install(client, headers, plugin, "https://x", "rolling")
    wait_for(lambda: not thread_a.is_alive(), message="worker A to crash")
    killed._close()  # the broker sees the connection drop and redelivers the unacked job
    assert status_of(database, crashed_id).status == "in_progress"
    assert (root / "production/team-a/plugins/crash-test").exists()  # the partial deployment

    # Worker B (healthy) gets the redelivered job, rolls the partial deploy back and completes it.
    worker = build_worker(config, database, deployer=FilesystemDeployer(root))
    workers.append((worker, start(worker)))
    installation = wait_for(lambda: (row := status_of(database, crashed_id)).status == "completed" and row,
                            timeout=30, message="the redelivered job to complete")
    assert installation.attempts == 2 and installation.installed_version == "1.0.0"
    document = json.loads((root / "production/team-a/dynamic-plugins.yaml").read_text())
    assert document["plugins"] == [{"package": "./plugins/crash-test", "integrity": installation.integrity,
                                     "disabled": False, "pluginConfig": {"apiUrl": "https://x"}}]
    assert not list((root / ".state/journal").rglob("*.json"))

    # A normal install through the same worker.
    other = publish_catalog(config, server, database, "second-plugin")
    second_id = request_install(client, headers, "second-plugin", "https://y", "blue-green")
    wait_for(lambda: status_of(database, second_id).status == "completed", timeout=30, message="install")
    data = client.get(f"{PREFIX}/installations/{second_id}", headers=headers).get_json()["data"]
    assert data["pluginId"] == other and data["progress"]["percentage"] == 100

    received = []

    def installed_events():
        with connect(config.AMQP_URL) as connection:
            channel = connection.channel()
            while (message := channel.basic_get(observer, auto_ack=True))[0] is not None:
                received.append(json.loads(message[2]))
        return {event["data"]["installationId"] for event in received} == {crashed_id, second_id}

    wait_for(installed_events, message="plugin.installed relayed to the broker")
    assert all(event["type"] == "plugin.installed" for event in received)
