"""Sends pending deliveries: database-driven, concurrent, with a limit per subscription.

A scheduler thread claims due deliveries, pushing `next_attempt_at` forward as a lease so that a
crash only delays them, and queues them in memory per subscription. Sender threads take jobs
from those queues, never more than WEBHOOK_ENDPOINT_CONCURRENCY at once for one subscription, so
a slow receiver only ever holds its own slots. One recorder thread writes the attempts in
batches. A job whose lease could run out before its send would end is dropped unsent, to be
claimed again later, so two dispatchers never send the same delivery at the same time.

`wake()` is called after the consumer commits new deliveries; the table is also polled, for
retries and for deliveries queued by the API process. These threads use only the database and
HTTP, never the worker's broker connection.
"""

import logging
import queue
import random
import threading
import time
from collections import Counter, OrderedDict, deque
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, func, or_, select, update

from marketplace_shared.clock import utcnow

from . import attempts, events, signing
from .models import PENDING, Delivery, Webhook
from .sender import HttpSender, SendResult

log = logging.getLogger(__name__)

# At most this many jobs per allowed concurrent send are held in memory for a subscription whose speed
# is not known yet (fewer database round trips); fewer for a slow receiver, so that every held job starts
# while its lease lasts.
PREFETCH = 8
# ... and at most this many for a receiver known to answer fast enough to start them all within the lease:
# larger claims, far fewer of them, so one busy subscription's senders never wait for the scheduler.
FAST_PREFETCH = 32
# Weight of the newest send in a subscription's running average duration.
DURATION_WEIGHT = 0.2
RECORD_GATHER_SECONDS = 0.01


@dataclass(frozen=True)
class Job:
    delivery_id: str
    webhook_id: str
    url: str
    secrets: tuple[str, ...]
    event: str
    timestamp: str
    data: object
    lease_ends: float = 0.0  # time.monotonic() when the claim's lease runs out


def make_job(delivery_id: str, webhook_id: str, payload: dict, webhook, now: datetime, lease_ends: float) -> Job:
    """A job from a delivery's payload and its subscription's URL and secrets (a row or a Webhook)."""
    secrets = [webhook.secret]
    if webhook.previous_secret and webhook.previous_secret_expires_at and webhook.previous_secret_expires_at > now:
        secrets.append(webhook.previous_secret)
    return Job(delivery_id, webhook_id, webhook.url, tuple(secrets), payload["event"], payload["timestamp"],
               payload["data"], lease_ends)


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
        # A lease must outlast a whole send; a job is only started while that much of it is left.
        self.lease_seconds = max(config.WEBHOOK_LEASE_SECONDS, config.WEBHOOK_TIMEOUT_SECONDS + 2)
        self.lease_needed = config.WEBHOOK_TIMEOUT_SECONDS + 0.5
        self.dropped = 0
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._lock = threading.Lock()
        self._in_flight: Counter[str] = Counter()  # sends under way, per subscription
        self._durations: dict[str, float] = {}  # running average seconds per send, per subscription
        self._queued: OrderedDict[str, deque[Job]] = OrderedDict()  # claimed, not yet sent
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
        """Stop claiming and starting sends; wait briefly for those under way; record what came back.

        Jobs still queued keep their lease and are sent after it runs out (by this or another worker).
        """
        self._stopping.set()
        self._wake.set()
        with self._lock:
            self._queued.clear()
        deadline = time.monotonic() + timeout
        while self.in_flight() and time.monotonic() < deadline:
            time.sleep(0.02)
        if self._executor is not None:
            self._executor.shutdown(wait=False, cancel_futures=True)
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
        """Lease due deliveries within the free room; returns the jobs and whether more may be due."""
        with self._lock:
            held = Counter(self._in_flight)
            for webhook_id, jobs in self._queued.items():
                held[webhook_id] += len(jobs)
            limits = {webhook_id: self._hold_limit_locked(webhook_id) for webhook_id in held}
        default_limit = self.config.WEBHOOK_ENDPOINT_CONCURRENCY * PREFETCH
        free = self.config.WEBHOOK_MAX_CONCURRENCY * PREFETCH - sum(held.values())
        # Refill a subscription's queue once it is half empty, so its senders never wait for a claim.
        busy = [webhook_id for webhook_id, count in held.items() if count >= max(1, limits[webhook_id] // 2)]
        if free <= 0:
            return [], False
        batch = min(1000, free * 2)
        now = now or utcnow()
        lease = self.lease_seconds
        with self.database.session() as session, session.begin():
            # Pick without locking, then take the picks with one conditional UPDATE: a delivery another
            # dispatcher leased meanwhile no longer matches `next_attempt_at <= now` and is left out.
            query = (select(Delivery.id, Delivery.webhook_id).join(Webhook, Delivery.webhook_id == Webhook.id)
                     .where(Delivery.status == PENDING, Delivery.next_attempt_at <= now, sendable())
                     .order_by(Delivery.next_attempt_at).limit(batch))
            if busy:
                query = query.where(Delivery.webhook_id.not_in(busy))
            candidates = session.execute(query).all()
            picked = []
            for delivery_id, webhook_id in candidates:
                if len(picked) >= free:
                    break
                if held[webhook_id] < limits.get(webhook_id, default_limit):
                    held[webhook_id] += 1
                    picked.append(delivery_id)
            if not picked:
                return [], False
            lease_ends = time.monotonic() + lease
            claimed = session.scalars(
                update(Delivery).where(Delivery.id.in_(picked), Delivery.status == PENDING,
                                       Delivery.next_attempt_at <= now)
                .values(next_attempt_at=now + timedelta(seconds=lease)).returning(Delivery.id),
                execution_options={"synchronize_session": False}).all()
            if not claimed:
                return [], True
            rows = session.execute(
                select(Delivery.id, Delivery.webhook_id, Delivery.payload, Delivery.next_attempt_at, Webhook.url,
                       Webhook.secret, Webhook.previous_secret, Webhook.previous_secret_expires_at)
                .join(Webhook, Delivery.webhook_id == Webhook.id).where(Delivery.id.in_(claimed))
                .order_by(Delivery.created_at)).all()
        jobs = [make_job(row.id, row.webhook_id, row.payload, row, now, lease_ends) for row in rows]
        return jobs, len(candidates) >= batch

    # -- hand-over from the consumer -----------------------------------------------------------
    def handoff_lease(self) -> float | None:
        """The lease for deliveries the consumer is about to create, or None when there is no room."""
        if self._executor is None or self._stopping.is_set():
            return None
        with self._lock:
            held = sum(self._in_flight.values()) + sum(len(jobs) for jobs in self._queued.values())
        return self.lease_seconds if held < self.config.WEBHOOK_MAX_CONCURRENCY * PREFETCH else None

    def jobs_for(self, deliveries: list[Delivery], lease_seconds: float) -> list[Job]:
        now, lease_ends = utcnow(), time.monotonic() + lease_seconds
        return [make_job(delivery.id, delivery.webhook.id, delivery.payload, delivery.webhook, now,
                         lease_ends) for delivery in deliveries]

    def accept(self, jobs: list[Job]) -> None:
        """Take deliveries the consumer created leased to us (called once they are committed)."""
        with self._lock:
            for job in jobs:
                self._queued.setdefault(job.webhook_id, deque()).append(job)
        self._start_sends()

    def next_due(self, now: datetime) -> datetime | None:
        with self.database.session() as session:
            return session.scalar(
                select(func.min(Delivery.next_attempt_at)).join(Webhook, Delivery.webhook_id == Webhook.id)
                .where(Delivery.status == PENDING, Delivery.next_attempt_at > now, sendable()))

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
            attempts.record_attempts(session, self.config, outcomes, self.rng)

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
    def _holding(self) -> bool:
        with self._lock:
            return bool(self._in_flight) or any(self._queued.values())

    def _hold_limit_locked(self, webhook_id: str) -> int:
        """How many jobs a subscription may hold (sending or queued): as many as can start within the lease."""
        concurrency = self.config.WEBHOOK_ENDPOINT_CONCURRENCY
        average = self._durations.get(webhook_id)
        if not average:
            return concurrency * PREFETCH
        slack = self.lease_seconds - self.lease_needed
        return max(concurrency, min(concurrency * FAST_PREFETCH, int(concurrency * slack / average)))

    def _next_job_locked(self) -> Job | None:
        """The next job whose subscription has a free slot (round robin); call with the lock held."""
        limit = self.config.WEBHOOK_ENDPOINT_CONCURRENCY
        if self._stopping.is_set() or sum(self._in_flight.values()) >= self.config.WEBHOOK_MAX_CONCURRENCY:
            return None
        needed = self.lease_needed
        for webhook_id in list(self._queued):
            if self._in_flight[webhook_id] >= limit:
                continue
            jobs = self._queued[webhook_id]
            while jobs and jobs[0].lease_ends - time.monotonic() < needed:
                jobs.popleft()
                self.dropped += 1
            if not jobs:
                del self._queued[webhook_id]
                continue
            job = jobs.popleft()
            if jobs:
                self._queued.move_to_end(webhook_id)
            else:
                del self._queued[webhook_id]
            self._in_flight[webhook_id] += 1
            return job
        return None

    def _start_sends(self) -> None:
        while True:
            with self._lock:
                job = self._next_job_locked()
            if job is None:
                return
            self._executor.submit(self._run, job)

    def _schedule_loop(self) -> None:
        poll = self.config.WEBHOOK_POLL_SECONDS
        while not self._stopping.is_set():
            self._wake.clear()
            timeout = poll
            try:
                jobs, more = self.claim()
                if jobs:
                    with self._lock:
                        for job in jobs:
                            self._queued.setdefault(job.webhook_id, deque()).append(job)
                    self._start_sends()
                    if more:
                        continue
                    # Sends and records under way wake this loop; when they are done it looks again.
                elif not self._holding():
                    # While jobs are held, every recorded batch wakes this loop: no need to look ahead.
                    now = utcnow()
                    due = self.next_due(now)
                    if due is not None:
                        timeout = min(poll, max(0.005, (due - now).total_seconds()))
            except Exception:  # noqa: BLE001 - a database hiccup must not end the scheduler
                log.exception("claiming webhook deliveries failed")
            self._wake.wait(timeout)

    def _run(self, job: Job) -> None:
        """Send jobs one after another in this thread, as long as there are some it may take."""
        while job is not None:
            attempted_at = utcnow()
            started = time.monotonic()
            result = self.attempt(job)
            self._results.put((job, result, attempted_at))
            with self._lock:
                webhook_id = job.webhook_id
                took = time.monotonic() - started
                average = self._durations.get(webhook_id)
                self._durations[webhook_id] = took if average is None else average + DURATION_WEIGHT * (took - average)
                self._in_flight[webhook_id] -= 1
                held = self._in_flight[webhook_id] + len(self._queued.get(webhook_id, ()))
                refill_at = max(1, self._hold_limit_locked(webhook_id) // 2)
                if self._in_flight[webhook_id] <= 0:
                    del self._in_flight[webhook_id]
                job = self._next_job_locked()
            if held == refill_at - 1:
                self._wake.set()  # this subscription's queue just fell below half: claim more
        self._wake.set()  # room to claim more

    def _record_loop(self) -> None:
        while True:
            item = self._results.get()
            batch = [] if item is None else [item]
            stop = item is None
            # Gather for a few milliseconds: fewer, larger transactions (the receivers already have them).
            gather_until = time.monotonic() + RECORD_GATHER_SECONDS
            while len(batch) < 500 and not stop:
                try:
                    extra = self._results.get(timeout=max(0.0, gather_until - time.monotonic()))
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
