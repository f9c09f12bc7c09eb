"""Webhook benchmark: deliveries per second (1 and 100 subscriptions) beside a bare sender, and the
time from an event reaching the broker to its webhook arriving.

`python bench_deliveries.py [--deliveries N] [--latency-events N] [--sqlite]` (bench.py runs it first). It
needs RabbitMQ and (unless --sqlite) PostgreSQL; the receiver runs in its own process on loopback.
"""

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from pathlib import Path

from sqlalchemy import delete, func, select

from marketplace_shared.broker import EventPublisher, connect
from marketplace_shared.db import Database
from marketplace_shared.events import new_event
from marketplace_shared.testing import delete_broker_objects, free_port, temporary_postgres_database, unique_name
from webhook_service import services, signing
from webhook_service.config import Config
from webhook_service.dispatcher import Dispatcher
from webhook_service.migrate import migrate
from webhook_service.models import Delivery, DeliveryAttempt, ProcessedEvent, Webhook
from webhook_service.sender import HttpSender
from webhook_service.worker import build_dispatcher, build_worker

RECEIVER = Path(__file__).resolve().parents[1] / "scripts" / "webhook_receiver.py"


def start_receiver(port: int) -> subprocess.Popen:
    """The loopback receiver (scripts/webhook_receiver.py) in its own process: 200 to every POST, GET /stats."""
    return subprocess.Popen([sys.executable, str(RECEIVER), str(port)])


def _stats(base: str) -> dict:
    with urllib.request.urlopen(f"{base}/stats", timeout=10) as response:
        return json.loads(response.read())


def _reset(base: str) -> None:
    urllib.request.urlopen(urllib.request.Request(f"{base}/stats", method="DELETE"), timeout=10).close()


def _wait(condition, timeout: float, what: str, interval: float = 0.01) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out waiting for {what}")
        time.sleep(interval)


def _event(account_id: str = "acct_bench") -> dict:
    return new_event("plugin.installed", "install-service", {
        "pluginId": "plugin_bench", "version": "1.0.0", "installationId": unique_name("install"),
        "environment": "production", "namespace": "default", "accountId": account_id}, "plugin_bench")


def bare_sender(url: str, count: int, threads: int) -> float:
    """Sign and POST the same payloads, nothing else: the ceiling of this machine."""
    sender = HttpSender(10, ["127.0.0.0/8"], pool_size=threads)
    secret = signing.generate_secret()
    event = _event()

    def one(index: int) -> bool:
        body, headers = signing.signed_request([secret], f"dlv_bare_{index}", event["type"], event["time"],
                                               event["data"], int(time.time()))
        return sender.send(url, headers, body).success

    started = time.perf_counter()
    with ThreadPoolExecutor(threads) as pool:
        succeeded = sum(pool.map(one, range(count)))
    elapsed = time.perf_counter() - started
    sender.close()
    return succeeded / elapsed


def _clear(database: Database) -> None:
    with database.session() as session, session.begin():
        for model in (DeliveryAttempt, Delivery, Webhook, ProcessedEvent):
            session.execute(delete(model))


def pipeline(config: Config, database: Database, base: str, url: str, subscriptions: int, count: int) -> dict:
    """Queue `count` deliveries through the consumer's use case, then time the dispatcher sending them all."""
    _clear(database)
    _reset(base)
    with database.session() as session, session.begin():
        for _ in range(subscriptions):
            session.add(Webhook(id=services.new_webhook_id(), owner_id="acct_admin", owner_role="admin", url=url,
                                events=["plugin.*"], secret=signing.generate_secret(), active=True, disabled=False))
    started = time.perf_counter()
    for _ in range(count // subscriptions):
        with database.session() as session, session.begin():
            services.create_deliveries(session, _event())
    queued = time.perf_counter() - started
    total = (count // subscriptions) * subscriptions
    dispatcher = Dispatcher(config, database)
    started = time.perf_counter()
    dispatcher.start()

    def done() -> bool:
        with database.session() as session:
            return session.scalar(select(func.count()).select_from(DeliveryAttempt)) >= total

    # Polled sparingly: each look is a query in this process, which would slow the dispatcher it measures.
    _wait(done, 300, "every attempt recorded", interval=0.05)
    elapsed = time.perf_counter() - started
    dispatcher.stop()
    return {"subscriptions": subscriptions, "deliveries": total, "received": _stats(base)["count"],
            "perSecond": round(total / elapsed), "queuedPerSecond": round(total / queued)}


def latency(config: Config, database: Database, base: str, url: str, events: int, rate: float) -> dict:
    """Publish events to the exchange at `rate`/s through the real consumer; time each one's arrival."""
    _clear(database)
    _reset(base)
    with database.session() as session, session.begin():
        webhook = Webhook(id=services.new_webhook_id(), owner_id="acct_admin", owner_role="admin", url=url,
                          events=["plugin.installed"], secret=signing.generate_secret(), active=True, disabled=False)
        session.add(webhook)
    dispatcher = build_dispatcher(config, database)
    worker = build_worker(config, database, dispatcher)
    thread = threading.Thread(target=worker.run, daemon=True)
    thread.start()
    _wait(lambda: worker.ready, 30, "the worker")
    dispatcher.start()
    connection = connect(config.AMQP_URL)
    publisher = EventPublisher(connection, config.EVENT_EXCHANGE)
    sent = {}
    try:
        for _ in range(events):
            event = _event()
            sent[services.delivery_id_for(webhook.id, event["id"])] = time.time()
            publisher.publish(event)
            time.sleep(1 / rate)
        _wait(lambda: _stats(base)["count"] >= events, 60, "every webhook")
        arrivals = _stats(base)["arrivals"]
    finally:
        connection.close()
        dispatcher.stop()
        worker.stopping = True
        thread.join(10)
    samples = sorted((arrivals[key] - at) * 1000 for key, at in sent.items() if key in arrivals)
    return {"events": events, "ratePerSecond": rate, "p50Ms": round(statistics.median(samples), 1),
            "p95Ms": round(samples[int(len(samples) * 0.95) - 1], 1), "maxMs": round(samples[-1], 1)}


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--deliveries", type=int, default=2000)
    parser.add_argument("--latency-events", type=int, default=200)
    parser.add_argument("--latency-rate", type=float, default=20.0)
    parser.add_argument("--sqlite", action="store_true", help="SQLite instead of a temporary PostgreSQL database")
    args = parser.parse_args(argv)
    prefix = unique_name("webhook_bench") + "."
    port = free_port()
    base, url = f"http://127.0.0.1:{port}", f"http://127.0.0.1:{port}/hook"
    with ExitStack() as cleanup:
        receiver = start_receiver(port)
        cleanup.callback(receiver.wait, 10)
        cleanup.callback(receiver.terminate)
        _wait(lambda: _try(lambda: _stats(base)), 15, "the receiver")
        if args.sqlite:
            database_url = f"sqlite:///{cleanup.enter_context(tempfile.TemporaryDirectory())}/bench.db"
        else:
            database_url = cleanup.enter_context(temporary_postgres_database("webhook_bench"))
        config = Config(DATABASE_URL=database_url, EVENT_PREFIX=prefix, EVENT_EXCHANGE=prefix + "marketplace.events",
                        WEBHOOK_ALLOWED_NETWORKS=["127.0.0.0/8"], LOG_LEVEL="WARNING")
        cleanup.callback(delete_broker_objects, prefix, [config.queue_name], config.EVENT_EXCHANGE)
        migrate(config)
        database = Database(database_url)
        cleanup.callback(database.dispose)
        results = {
            "database": "sqlite" if args.sqlite else "postgresql",
            "bareSender": {
                f"{threads} threads": round(bare_sender(url, args.deliveries, threads))
                for threads in (config.WEBHOOK_ENDPOINT_CONCURRENCY, config.WEBHOOK_MAX_CONCURRENCY)},
            "pipeline": [pipeline(config, database, base, url, subs, args.deliveries) for subs in (1, 100)],
            "latency": latency(config, database, base, url, args.latency_events, args.latency_rate),
        }
    print(json.dumps(results, indent=2))
    return results


def _try(function) -> bool:
    try:
        function()
        return True
    except OSError:
        return False


if __name__ == "__main__":
    main()
