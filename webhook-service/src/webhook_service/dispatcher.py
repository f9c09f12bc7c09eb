"""Sends pending deliveries: database-driven, concurrent, with a limit per subscription.

A scheduler thread claims due deliveries (pushing `next_attempt_at` forward as a lease, so a
crash only delays them), a pool of threads sends them, and one writer thread records the
attempts in batches. `wake()` is called after the consumer commits new deliveries; the table is
polled too, for retries and for deliveries queued by the API process. The threads use only the
database and HTTP, never the worker's broker connection.
"""

import logging
import queue
import random
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, func, or_, select

from marketplace_shared.outbox import utcnow

from . import events, services, signing
from .models import Delivery, Webhook
from .sender import HttpSender, SendResult

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Job:
    delivery_id: str
    webhook_id: str
    url: str
    secrets: tuple[str, ...]
    event: str
    timestamp: str
    data: object


def sendable():
    """Deliveries whose subscription is switched on (pings go out regardless)."""
    return or_(and_(Webhook.active.is_(True), Webhook.disabled.is_(False)), Delivery.event_type == events.PING)


class Dispatcher:
    def __init__(self, config, database, sender=None, resolver=None, rng: random.Random | None = None):
        self.config = config
        self.database = database
        self.sender = sender or HttpSender(
            config.WEBHOOK_TIMEOUT_SECONDS, config.WEBHOOK_ALLOWED_NETWORKS, resolver,
            body_limit=config.WEBHOOK_RESPONSE_BODY_LIMIT, pool_size=config.WEBHOOK_ENDPOINT_CONCURRENCY)
        self.rng = rng or random.Random()
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._lock = threading.Lock()
        self._in_flight: Counter[str] = Counter()
        self._results: queue.Queue = queue.Queue()
        self._executor: ThreadPoolExecutor | None = None
        self._threads: list[threading.Thread] = []

    # -- lifecycle ---------------------------------------------------------------------------
    def start(self) -> "Dispatcher":
        self._executor = ThreadPoolExecutor(self.config.WEBHOOK_MAX_CONCURRENCY, thread_name_prefix="webhook-send")
        for name, target in (("webhook-scheduler", self._schedule_loop), ("webhook-recorder", self._record_loop)):
            thread = threading.Thread(target=target, name=name, daemon=True)
            thread.start()
            self._threads.append(thread)
        return self

    def stop(self, timeout: float = 5.0) -> None:
        """Stop claiming, let sends in progress finish (briefly), record what came back."""
        self._stopping.set()
        self._wake.set()
        if self._executor is not None:
            self._executor.shutdown(wait=False, cancel_futures=True)
        deadline = time.monotonic() + timeout
        while self.in_flight() and time.monotonic() < deadline:
            time.sleep(0.02)
        self._results.put(None)
        for thread in self._threads:
            thread.join(max(0.1, deadline - time.monotonic()))
        self.sender.close()

    def wake(self) -> None:
        """New deliveries are committed: look now rather than at the next poll."""
        self._wake.set()

    def in_flight(self) -> int:
        with self._lock:
            return sum(self._in_flight.values())

    # -- claiming ----------------------------------------------------------------------------
    def claim(self, now: datetime | None = None) -> tuple[list[Job], bool]:
        """Take due deliveries within the free capacity; returns the jobs and whether more may be due."""
        limit_per_endpoint = self.config.WEBHOOK_ENDPOINT_CONCURRENCY
        with self._lock:
            free = self.config.WEBHOOK_MAX_CONCURRENCY - sum(self._in_flight.values())
            busy = [key for key, count in self._in_flight.items() if count >= limit_per_endpoint]
            taken_per_endpoint = Counter(self._in_flight)
        if free <= 0:
            return [], False
        batch = min(500, free * 2)
        now = now or utcnow()
        jobs: list[Job] = []
        with self.database.session() as session, session.begin():
            query = (select(Delivery, Webhook).join(Webhook, Delivery.webhook_id == Webhook.id)
                     .where(Delivery.status == services.PENDING, Delivery.next_attempt_at <= now, sendable())
                     .order_by(Delivery.next_attempt_at).limit(batch))
            if busy:
                query = query.where(Delivery.webhook_id.not_in(busy))
            if not self.database.is_sqlite:
                query = query.with_for_update(of=Delivery, skip_locked=True)
            rows = session.execute(query).all()
            lease_until = now + timedelta(seconds=self.config.WEBHOOK_LEASE_SECONDS)
            for delivery, webhook in rows:
                if len(jobs) >= free or taken_per_endpoint[webhook.id] >= limit_per_endpoint:
                    continue
                taken_per_endpoint[webhook.id] += 1
                delivery.next_attempt_at = lease_until
                payload = delivery.payload
                jobs.append(Job(delivery.id, webhook.id, webhook.url, tuple(services.secrets_in_use(webhook, now)),
                                payload["event"], payload["timestamp"], payload["data"]))
        return jobs, len(rows) >= batch

    def next_due(self, now: datetime) -> datetime | None:
        with self.database.session() as session:
            return session.scalar(
                select(func.min(Delivery.next_attempt_at)).join(Webhook, Delivery.webhook_id == Webhook.id)
                .where(Delivery.status == services.PENDING, Delivery.next_attempt_at > now, sendable()))

    # -- sending -----------------------------------------------------------------------------
    def attempt(self, job: Job) -> SendResult:
        """Sign and send one attempt (a fresh webhook-timestamp each time)."""
        try:
            body, headers = signing.signed_request(list(job.secrets), job.delivery_id, job.event, job.timestamp,
                                                   job.data, int(time.time()))
            return self.sender.send(job.url, headers, body)
        except Exception as exc:  # noqa: BLE001 - an attempt that cannot even be made is a failed attempt
            log.exception("webhook attempt could not be made")
            return SendResult(error=f"{exc.__class__.__name__}: {exc}"[:500])

    def record(self, outcomes: list[tuple[Job, SendResult, datetime]]) -> None:
        with self.database.session() as session, session.begin():
            for job, result, attempted_at in outcomes:
                services.record_attempt(session, self.config, job.delivery_id, result, attempted_at, self.rng)

    def process_once(self) -> int:
        """Claim, send and record in the calling thread (tests, tools); returns how many were sent."""
        jobs, _ = self.claim()
        outcomes = []
        for job in jobs:
            attempted_at = utcnow()
            outcomes.append((job, self.attempt(job), attempted_at))
        if outcomes:
            self.record(outcomes)
        return len(outcomes)

    # -- threads -----------------------------------------------------------------------------
    def _schedule_loop(self) -> None:
        poll = self.config.WEBHOOK_POLL_SECONDS
        while not self._stopping.is_set():
            self._wake.clear()
            more = False
            try:
                jobs, more = self.claim()
                for job in jobs:
                    with self._lock:
                        self._in_flight[job.webhook_id] += 1
                    self._executor.submit(self._send, job)
                if jobs and more:
                    continue
                now = utcnow()
                due = self.next_due(now)
                timeout = poll if due is None else min(poll, max(0.005, (due - now).total_seconds()))
            except Exception:  # noqa: BLE001 - a database hiccup must not end the scheduler
                log.exception("claiming webhook deliveries failed")
                timeout = poll
            self._wake.wait(timeout)

    def _send(self, job: Job) -> None:
        attempted_at = utcnow()
        try:
            result = self.attempt(job)
        finally:
            with self._lock:
                self._in_flight[job.webhook_id] -= 1
                if self._in_flight[job.webhook_id] <= 0:
                    del self._in_flight[job.webhook_id]
        self._results.put((job, result, attempted_at))
        self._wake.set()  # a slot is free

    def _record_loop(self) -> None:
        while True:
            item = self._results.get()
            batch = [] if item is None else [item]
            stop = item is None
            while len(batch) < 500:
                try:
                    extra = self._results.get_nowait()
                except queue.Empty:
                    break
                if extra is None:
                    stop = True
                    continue
                batch.append(extra)
            if batch:
                self._record_with_retries(batch)
                self._wake.set()  # retry times are known now
            if stop:
                return

    def _record_with_retries(self, batch) -> None:
        for attempt in range(3):
            try:
                self.record(batch)
                return
            except Exception:  # noqa: BLE001 - retried; if it keeps failing the leases run out and we resend
                log.exception("recording %d webhook attempts failed (try %d)", len(batch), attempt + 1)
                time.sleep(0.2 * (attempt + 1))
