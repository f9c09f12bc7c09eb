"""The worker loop: one pika connection per process that consumes events and relays the outbox.

A handler is `handler(session, event)`. The loop runs it in a transaction together with the
dedupe row for the event id, commits, and only then acks. A failing event is retried after a
delay and, once it has failed `CONSUMER_MAX_ATTEMPTS` times, dead-lettered to `<queue>.dead`.

Job queues (`job_queues`) are for long work such as an installation: their handlers are
`handler(event)`, manage their own transactions and idempotency, and take one message at a time.
A job runs on a thread of its own while the loop keeps the connection alive (heartbeats, other
consumers, the relay); the ack goes back to the loop's thread, since pika is not thread-safe.
"""

import json
import logging
import os
import signal
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pika
import pika.exceptions
from sqlalchemy.exc import IntegrityError

from .broker import EventPublisher, connect, declare_service_queue
from .events import topic_matches
from .logs import configure_logging, current_request_id
from .outbox import OutboxRelay

log = logging.getLogger(__name__)

Handler = Callable[..., None]
ATTEMPTS_HEADER = "x-attempts"


def handlers_for(handlers: dict[str, list[Handler]], event_type: str) -> list[Handler]:
    found = []
    for pattern, functions in handlers.items():
        if topic_matches(pattern, event_type):
            found.extend(functions)
    return found


class Worker:
    """Consumes the service's queue and relays its outbox, on one connection, in one thread."""

    def __init__(self, config, database, outbox_model=None, processed_model=None,
                 handlers: dict[str, list[Handler]] | None = None,
                 periodic: list[tuple[float, Callable[[], None]]] | None = None,
                 job_queues: dict[str, dict[str, list[Handler]]] | None = None):
        self.config = config
        self.database = database
        self.processed_model = processed_model
        self.handlers = handlers or {}
        # {queue suffix: {event type pattern: [handler(event)]}}, e.g. {"jobs": {...}}.
        self.job_queues = job_queues or {}
        self.relay = (OutboxRelay(database, outbox_model, idle_poll_seconds=config.OUTBOX_IDLE_POLL_SECONDS)
                      if outbox_model is not None else None)
        # (interval seconds, function): housekeeping such as health checks and due retries.
        self.periodic = [[interval, function, 0.0] for interval, function in (periodic or [])]
        self.stopping = False
        self.connection = None
        self.publisher = None
        self.channel = None
        self.ready = False
        # Touched while the loop runs, for container health checks (HEARTBEAT_FILE).
        self.heartbeat_file = Path(os.environ["HEARTBEAT_FILE"]) if os.environ.get("HEARTBEAT_FILE") else None
        self.last_heartbeat = 0.0
        self.job_threads: set[threading.Thread] = set()

    # -- lifecycle ---------------------------------------------------------
    def install_signal_handlers(self) -> None:
        signal.signal(signal.SIGTERM, self._stop)
        signal.signal(signal.SIGINT, self._stop)

    def _stop(self, *_):
        self.stopping = True

    def run(self) -> None:
        """Run until SIGTERM, reconnecting with backoff when the broker goes away."""
        backoff = 0.5
        while not self.stopping:
            try:
                self._connect()
                backoff = 0.5
                self._loop()
            except (pika.exceptions.AMQPError, OSError) as exc:
                log.warning("broker connection lost (%s); reconnecting in %.1fs", exc.__class__.__name__, backoff)
                self._close()
                time.sleep(backoff)
                backoff = min(backoff * 2, 15)
        for thread in list(self.job_threads):
            # A job cut short here is redelivered, and job handlers resume or roll back.
            thread.join(timeout=10)
        self._close()
        if self.relay is not None:
            self.relay.close()

    def _connect(self) -> None:
        self.connection = connect(self.config.AMQP_URL)
        self.publisher = EventPublisher(self.connection, self.config.EVENT_EXCHANGE)
        if self.handlers:
            self.channel = self.connection.channel()
            queue = self.config.queue_name
            declare_service_queue(self.channel, self.config.EVENT_EXCHANGE, queue, list(self.handlers),
                                  self.config.CONSUMER_RETRY_DELAY_MS)
            self.channel.basic_qos(prefetch_count=self.config.CONSUMER_PREFETCH)
            self.channel.basic_consume(queue=queue, on_message_callback=self._on_message)
        for suffix, job_handlers in self.job_queues.items():
            job_channel = self.connection.channel()
            job_queue = f"{self.config.queue_name}.{suffix}"
            declare_service_queue(job_channel, self.config.EVENT_EXCHANGE, job_queue, list(job_handlers),
                                  self.config.CONSUMER_RETRY_DELAY_MS)
            job_channel.basic_qos(prefetch_count=1)
            job_channel.basic_consume(queue=job_queue, on_message_callback=self._job_callback(job_queue, job_handlers))
        self.ready = True
        log.info("worker connected", extra={"eventType": ",".join(self.handlers)})

    def _close(self) -> None:
        self.ready = False
        try:
            if self.connection is not None and self.connection.is_open:
                self.connection.close()
        except Exception:  # noqa: BLE001 - closing a broken connection may fail in many ways
            pass
        self.connection = None

    def _loop(self) -> None:
        poll = self.config.OUTBOX_POLL_SECONDS
        while not self.stopping:
            self.connection.process_data_events(time_limit=poll)
            if self.relay is not None:
                self.relay.publish_if_due(self.publisher)
            self._run_periodic()
            self._heartbeat()

    def _heartbeat(self) -> None:
        now = time.monotonic()
        if self.heartbeat_file is not None and now - self.last_heartbeat > 5:
            self.heartbeat_file.touch()
            self.last_heartbeat = now

    def relay_outbox(self) -> int:
        if self.relay is None:
            return 0
        return self.relay.publish_pending(self.publisher)

    def _run_periodic(self) -> None:
        now = time.monotonic()
        for entry in self.periodic:
            interval, function, last = entry
            if now - last >= interval:
                entry[2] = now
                try:
                    function()
                except Exception:  # noqa: BLE001 - housekeeping must not kill the worker
                    log.exception("periodic task %s failed", getattr(function, "__name__", function))

    # -- consuming ---------------------------------------------------------
    def _on_message(self, channel, method, properties, body: bytes) -> None:
        self._dispatch(channel, method, properties, body, self.config.queue_name, self.handle)

    def _job_callback(self, queue: str, job_handlers: dict[str, list[Handler]]):
        def run_job(event: dict) -> None:
            for function in handlers_for(job_handlers, event["type"]):
                function(event)

        def on_job(channel, method, properties, body: bytes) -> None:
            connection = self.connection

            def settle(outcome) -> None:
                # Back on the loop's thread; a channel lost meanwhile means the job is redelivered.
                if channel.is_open and connection is self.connection:
                    outcome()

            def work() -> None:
                try:
                    outcome = self._run_handler(channel, method, properties, body, queue, run_job)
                    connection.add_callback_threadsafe(lambda: settle(outcome))
                except Exception:  # noqa: BLE001 - the connection is gone: the broker redelivers
                    log.warning("job finished after its connection closed; it will be redelivered")
                finally:
                    self.job_threads.discard(threading.current_thread())

            thread = threading.Thread(target=work, name=f"job-{queue}", daemon=True)
            self.job_threads.add(thread)
            thread.start()

        return on_job

    def _dispatch(self, channel, method, properties, body: bytes, queue: str, handle) -> None:
        self._run_handler(channel, method, properties, body, queue, handle)()

    def _run_handler(self, channel, method, properties, body: bytes, queue: str, handle):
        """Run the handler; return what settles the message (ack, retry or dead-letter)."""
        try:
            event = json.loads(body)
            event_type = event["type"]
            event_id = event["id"]
        except (ValueError, KeyError, TypeError):
            log.error("dropping a message that is not an event envelope to the dead-letter queue")
            return lambda: channel.basic_nack(method.delivery_tag, requeue=False)
        token = current_request_id.set(event.get("requestid"))
        try:
            handle(event)
        except Exception:  # noqa: BLE001 - any handler failure is retried, then dead-lettered
            log.exception("handler failed", extra={"eventId": event_id, "eventType": event_type})
            return lambda: self._retry_or_dead_letter(channel, method, properties, body, queue)
        finally:
            current_request_id.reset(token)
        return lambda: channel.basic_ack(method.delivery_tag)

    def handle(self, event: dict) -> bool:
        """Run the event's handlers once per event id; returns False for a duplicate."""
        functions = handlers_for(self.handlers, event["type"])
        try:
            with self.database.session() as session, session.begin():
                if self.processed_model is not None:
                    if session.get(self.processed_model, event["id"]) is not None:
                        return False
                    session.add(self.processed_model(event_id=event["id"], event_type=event["type"]))
                    session.flush()
                for function in functions:
                    function(session, event)
        except IntegrityError:
            # Another replica committed the same event id first.
            if self._already_processed(event["id"]):
                return False
            raise
        # What the handlers wrote to the outbox goes out now rather than at the next poll.
        if self.publisher is not None:
            self.relay_outbox()
        return True

    def _already_processed(self, event_id: str) -> bool:
        if self.processed_model is None:
            return False
        with self.database.session() as session:
            return session.get(self.processed_model, event_id) is not None

    def _retry_or_dead_letter(self, channel, method, properties, body: bytes, queue: str) -> None:
        headers = dict(properties.headers or {})
        attempts = int(headers.get(ATTEMPTS_HEADER, 0)) + 1
        if attempts >= self.config.CONSUMER_MAX_ATTEMPTS:
            log.error("giving up after %d attempts: dead-lettered", attempts)
            channel.basic_nack(method.delivery_tag, requeue=False)
            return
        headers[ATTEMPTS_HEADER] = attempts
        retry_properties = pika.BasicProperties(
            content_type=properties.content_type, delivery_mode=2, message_id=properties.message_id,
            type=properties.type, headers=headers)
        self.publisher.channel.basic_publish(exchange="", routing_key=f"{queue}.retry",
                                             body=body, properties=retry_properties)
        channel.basic_ack(method.delivery_tag)


def run_worker(config, build: Callable[[], Worker], alongside=()) -> None:
    """What `python -m <service>.worker` runs: JSON logs at config.LOG_LEVEL, then the loop until SIGTERM.

    `alongside` are objects with start() and stop() that run beside the loop in this process (the
    webhook dispatcher's sending threads): started once the worker is built, stopped when the loop ends.
    """
    configure_logging(config.SERVICE_NAME, config.LOG_LEVEL)
    worker = build()
    worker.install_signal_handlers()
    for companion in alongside:
        companion.start()
    try:
        worker.run()
    finally:
        for companion in reversed(alongside):
            companion.stop()
