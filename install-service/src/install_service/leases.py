"""A job's hold on its installation: compare-and-set claims on the lease columns, renewal, release.

Two workers never run the same job: a claim succeeds only if nobody holds the row, its holder's lease
expired, or its holder is a process of this host that no longer runs.
"""

import logging
import os
import socket
import uuid
from datetime import datetime, timedelta

from sqlalchemy import case, select, update
from sqlalchemy.orm import Session

from marketplace_shared.clock import utcnow

from .models import BUSY, IN_PROGRESS, PENDING, Installation

log = logging.getLogger(__name__)

# Identifies this process in lease owners: "host|pid|boot" (a restarted process gets a new boot token).
PROCESS_ID = f"{socket.gethostname()}|{os.getpid()}|{uuid.uuid4().hex[:8]}"


class LeaseLost(Exception):
    """Another worker took the job over (this one was presumed dead): stop without touching anything."""


def new_owner() -> str:
    """A lease owner name for one runner of this process."""
    return f"{PROCESS_ID}|{uuid.uuid4().hex[:6]}"


def holder_is_dead(owner: str) -> bool:
    """True when the lease holder was a process on this host that no longer runs."""
    try:
        host, pid_text, boot, _runner = owner.split("|")
        pid = int(pid_text)
    except ValueError:
        return False
    my_host, my_pid, my_boot = PROCESS_ID.split("|")
    if host != my_host:
        return False
    if pid == int(my_pid):
        # Same pid: either this very process, or an earlier one whose pid was reused (a restarted container).
        return boot != my_boot
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


def _held_by(owner: str | None):
    return Installation.lease_owner.is_(None) if owner is None else Installation.lease_owner == owner


def claim(database, installation_id: str, operation: int | None, owner: str, lease: timedelta) -> bool:
    """Compare-and-set the lease; False for a finished, stale or live-held job (the message is dropped)."""
    with database.session() as session, session.begin():
        installation = session.get(Installation, installation_id)
        if installation is None:
            log.warning("job for unknown installation %s dropped", installation_id)
            return False
        if operation is not None and installation.operation != operation:
            return False
        if installation.status not in BUSY:
            return False
        now = utcnow()
        holder = installation.lease_owner
        if (holder is not None and holder != owner and installation.lease_expires_at is not None
                and installation.lease_expires_at > now and not holder_is_dead(holder)):
            log.info("installation %s is held by %s; leaving it to that worker", installation_id, holder)
            return False
        result = session.execute(
            update(Installation)
            .where(Installation.id == installation_id, Installation.operation == installation.operation,
                   Installation.status.in_(BUSY), _held_by(holder))
            .values(lease_owner=owner, lease_expires_at=now + lease,
                    attempts=Installation.attempts + 1, updated_at=now,
                    status=case((Installation.status == PENDING, IN_PROGRESS), else_=Installation.status),
                    started_at=case((Installation.started_at.is_(None), now), else_=Installation.started_at))
            .execution_options(synchronize_session=False))
        return result.rowcount == 1


def release(database, installation_id: str, owner: str) -> None:
    """Give the row up if `owner` still holds it (a failure here only lets the lease expire)."""
    try:
        with database.session() as session, session.begin():
            session.execute(update(Installation)
                            .where(Installation.id == installation_id, Installation.lease_owner == owner)
                            .values(lease_owner=None, lease_expires_at=None)
                            .execution_options(synchronize_session=False))
    except Exception:  # noqa: BLE001 - the lease then simply expires
        log.exception("could not release the lease of %s", installation_id)


def release_stale(session: Session, installation_id: str, owner: str | None, operation: int, now: datetime) -> bool:
    """Drop the lease a dead or lost job left (compare-and-set on its holder and operation)."""
    result = session.execute(update(Installation)
                             .where(Installation.id == installation_id, _held_by(owner),
                                    Installation.operation == operation, Installation.status.in_(BUSY))
                             .values(lease_owner=None, lease_expires_at=None, updated_at=now)
                             .execution_options(synchronize_session=False))
    return result.rowcount == 1


def update_held(session: Session, installation_id: str, owner: str, **values) -> None:
    """Set `values` on the row if `owner` still holds it (renewing the lease, reporting a step), else LeaseLost."""
    result = session.execute(update(Installation)
                             .where(Installation.id == installation_id, Installation.lease_owner == owner)
                             .values(**values)
                             .execution_options(synchronize_session=False))
    if result.rowcount != 1:
        raise LeaseLost()


def locked_row(session: Session, installation_id: str, owner: str) -> Installation:
    """The installation, row-locked, if `owner` still holds it; else LeaseLost."""
    installation = session.scalars(select(Installation).where(Installation.id == installation_id)
                                   .with_for_update()).first()
    if installation is None or installation.lease_owner != owner:
        raise LeaseLost()
    return installation


def current_status(session: Session, installation_id: str) -> str:
    return session.scalar(select(Installation.status).where(Installation.id == installation_id))
