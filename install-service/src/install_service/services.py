"""Installations use cases: plain functions taking a session; views and the worker call the same ones."""

import hashlib
import json
import math
import uuid

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from marketplace_shared.api import API_PREFIX
from marketplace_shared.clock import utcnow
from marketplace_shared.errors import ApiError
from marketplace_shared.identity import Identity

from . import events
from .environments import get_or_create_environment
from .errors import (
    ALREADY_INSTALLED,
    IDEMPOTENCY_KEY_REUSED,
    INSTALLATION_BUSY,
    INSTALLATION_FINISHED,
    INSTALLATION_NOT_FOUND,
    NOT_INSTALLED,
    NOTHING_TO_CHANGE,
)
from .models import (
    BUSY,
    CANCELLING,
    COMPLETED,
    FINISHED,
    IN_PROGRESS,
    INSTALL,
    PENDING,
    STATUSES,  # noqa: F401 - schemas.py imports it from here
    UNINSTALLED,
    UNINSTALLING,
    Installation,
    InstallationLog,
)
from .versions import check_compatibility, check_configuration, find_plugin, resolve_version

# schemas.py documents the statuses with these.
STATES_DESCRIPTION = (
    "`in_progress` from the moment it is accepted (queued until a worker claims it: `startedAt` is null), then "
    "`completed` or `failed`; `POST .../cancel` makes it `cancelling`, then `cancelled` (rolled back); "
    "`PATCH` (upgrade) makes a finished one `in_progress` again; `DELETE` makes it `uninstalling`, then "
    "`uninstalled`. `pending` only appears on installations accepted by an older release.")


def add_log(session: Session, installation_id: str, message: str, step: str | None = None,
            level: str = "info") -> None:
    session.add(InstallationLog(installation_id=installation_id, message=message, step=step, level=level,
                                timestamp=utcnow()))


def estimated_seconds(session: Session, default: int) -> int:
    """The mean duration of the latest completed jobs, or the configured default."""
    rows = session.execute(select(Installation.started_at, Installation.completed_at)
                           .where(Installation.status == COMPLETED, Installation.started_at.is_not(None),
                                  Installation.completed_at.is_not(None))
                           .order_by(Installation.completed_at.desc()).limit(20)).all()
    if not rows:
        return default
    mean = sum((done - started).total_seconds() for started, done in rows) / len(rows)
    return max(1, math.ceil(mean))


def _slot(plugin_id: str, environment: str, namespace: str) -> str:
    return f"{plugin_id}|{environment}|{namespace}"


def _fingerprint(plugin_ref: str, body: dict) -> str:
    return hashlib.sha256(json.dumps({"plugin": plugin_ref, "body": body}, sort_keys=True,
                                     default=str).encode()).hexdigest()


def _already_installed(existing: Installation) -> ApiError:
    upgrade = f"{API_PREFIX}/installations/{existing.id}"
    return ApiError(409, ALREADY_INSTALLED,
                    f"Plugin '{existing.plugin_name}' is already installed in {existing.environment}/"
                    f"{existing.namespace}; upgrade it with PATCH {upgrade}",
                    {"installationId": existing.id, "status": existing.status,
                     "installedVersion": existing.installed_version, "version": existing.version,
                     "upgrade": {"method": "PATCH", "href": upgrade}})


def _enqueue(session: Session, installation: Installation) -> None:
    events.record(session, events.INSTALLATION_REQUESTED, events.job_data(installation), installation.id)


def request_install(session: Session, config, identity: Identity, plugin_ref: str, body: dict,
                    idempotency_key: str | None = None) -> tuple[Installation, bool]:
    """Validate an install up front and queue its job; returns (installation, created)."""
    fingerprint = _fingerprint(plugin_ref, body)
    if idempotency_key:
        earlier = _by_idempotency_key(session, identity.id, idempotency_key, fingerprint)
        if earlier is not None:
            return earlier, False
    plugin = find_plugin(session, plugin_ref)
    label = plugin.name or plugin.id
    version = resolve_version(session, plugin, body.get("version"))
    configuration = body.get("configuration") or {}
    check_configuration(version.configuration_schema, configuration)
    environment = get_or_create_environment(session, body["environment"], config)
    check_compatibility(version, environment, label)
    slot = _slot(plugin.id, environment.name, body["namespace"])
    existing = session.scalars(select(Installation).where(Installation.active_slot == slot)).first()
    if existing is not None:
        raise _already_installed(existing)
    now = utcnow()
    installation = Installation(
        id=f"install_{uuid.uuid4().hex[:20]}", plugin_id=plugin.id, plugin_name=label, account_id=identity.id,
        environment=environment.name, namespace=body["namespace"], version=version.version,
        deployment_strategy=body["deploymentStrategy"], auto_start=body["autoStart"],
        configuration=configuration, status=IN_PROGRESS, action=INSTALL, operation=1, progress=0,
        current_step="Initializing installation", active_slot=slot, idempotency_key=idempotency_key,
        request_fingerprint=fingerprint, attempts=0, created_at=now, updated_at=now)
    try:
        with session.begin_nested():
            session.add(installation)
            session.flush()
    except IntegrityError:
        if idempotency_key:
            earlier = _by_idempotency_key(session, identity.id, idempotency_key, fingerprint)
            if earlier is not None:
                return earlier, False
        existing = session.scalars(select(Installation).where(Installation.active_slot == slot)).first()
        if existing is not None:
            raise _already_installed(existing) from None
        raise
    add_log(session, installation.id, f"Installation of {label} {version.version} into {environment.name}/"
            f"{installation.namespace} requested ({installation.deployment_strategy})", "queued")
    _enqueue(session, installation)
    return installation, True


def _by_idempotency_key(session: Session, account_id: str, key: str, fingerprint: str) -> Installation | None:
    earlier = session.scalars(select(Installation).where(Installation.account_id == account_id,
                                                         Installation.idempotency_key == key)).first()
    if earlier is not None and earlier.request_fingerprint != fingerprint:
        raise ApiError(409, IDEMPOTENCY_KEY_REUSED,
                       "This Idempotency-Key was already used for a different request",
                       {"installationId": earlier.id})
    return earlier


def get_installation(session: Session, installation_id: str, identity: Identity,
                     for_update: bool = False) -> Installation:
    """The installation if the caller installed it or is an admin; 404 otherwise (existence is not disclosed)."""
    query = select(Installation).where(Installation.id == installation_id)
    if for_update:
        query = query.with_for_update()
    installation = session.scalars(query).first()
    if installation is None or (not identity.is_admin and installation.account_id != identity.id):
        raise ApiError(404, INSTALLATION_NOT_FOUND, f"Installation '{installation_id}' not found")
    return installation


def list_installations(session: Session, identity: Identity, filters: dict, page: int,
                       limit: int) -> tuple[list[Installation], int]:
    query = select(Installation)
    if not identity.is_admin:
        query = query.where(Installation.account_id == identity.id)
    elif filters.get("accountId"):
        query = query.where(Installation.account_id == filters["accountId"])
    if filters.get("plugin"):
        query = query.where((Installation.plugin_id == filters["plugin"]) |
                            (Installation.plugin_name == filters["plugin"]))
    for name, column in (("environment", Installation.environment), ("namespace", Installation.namespace)):
        if filters.get(name):
            query = query.where(column == filters[name])
    if filters.get("status"):
        query = query.where(Installation.status.in_(filters["status"]))
    total = session.scalar(select(func.count()).select_from(query.subquery()))
    rows = session.scalars(query.order_by(Installation.created_at.desc(), Installation.id)
                           .offset((page - 1) * limit).limit(limit)).all()
    return list(rows), total


def list_logs(session: Session, installation: Installation, after: int | None, limit: int) -> tuple[list, bool]:
    query = select(InstallationLog).where(InstallationLog.installation_id == installation.id)
    if after is not None:
        query = query.where(InstallationLog.id > after)
    rows = session.scalars(query.order_by(InstallationLog.id).limit(limit + 1)).all()
    return list(rows[:limit]), len(rows) > limit


def finish_cancelled(session: Session, installation: Installation) -> None:
    installation.cancel(utcnow())
    add_log(session, installation.id, "Cancelled; nothing of this operation is left deployed", installation.step,
            "warning")


def cancel_installation(session: Session, installation_id: str, identity: Identity) -> Installation:
    installation = get_installation(session, installation_id, identity, for_update=True)
    if installation.status in FINISHED:
        raise ApiError(409, INSTALLATION_FINISHED,
                       f"Installation '{installation_id}' has already finished ({installation.status})",
                       {"status": installation.status})
    if installation.status == UNINSTALLING:
        raise ApiError(409, INSTALLATION_BUSY, "An uninstall cannot be cancelled", {"status": installation.status})
    if installation.status == CANCELLING:
        return installation
    if installation.started_at is None and installation.lease_owner is None and installation.status in (
            PENDING, IN_PROGRESS):
        # No worker has started it: nothing to roll back; the job will find it finished.
        finish_cancelled(session, installation)
        return installation
    installation.request_cancel(utcnow())
    add_log(session, installation.id, f"Cancel requested by {identity.id}; stopping at the next step",
            installation.step, "warning")
    return installation


def _busy(installation: Installation) -> ApiError:
    return ApiError(409, INSTALLATION_BUSY,
                    f"Installation '{installation.id}' is {installation.status}; wait for it to finish or cancel it",
                    {"status": installation.status})


def request_upgrade(session: Session, config, installation_id: str, identity: Identity, body: dict) -> Installation:
    """PATCH: move an installed plugin to another version (and/or configuration) with a new job."""
    installation = get_installation(session, installation_id, identity, for_update=True)
    if installation.status in BUSY:
        raise _busy(installation)
    if installation.installed_version is None:
        raise ApiError(409, NOT_INSTALLED, f"Installation '{installation_id}' has nothing installed to upgrade; "
                       "install the plugin again with POST", {"status": installation.status})
    plugin = find_plugin(session, installation.plugin_id)
    version = resolve_version(session, plugin, body.get("version"))
    configuration = body["configuration"] if body.get("configuration") is not None else installation.configuration
    strategy = body.get("deploymentStrategy") or installation.deployment_strategy
    auto_start = body["autoStart"] if body.get("autoStart") is not None else installation.auto_start
    if (version.version == installation.installed_version and configuration == installation.configuration
            and auto_start == installation.auto_start and installation.status == COMPLETED):
        raise ApiError(409, NOTHING_TO_CHANGE,
                       f"Installation '{installation_id}' already runs {version.version} with this configuration",
                       {"installedVersion": installation.installed_version})
    check_configuration(version.configuration_schema, configuration)
    environment = get_or_create_environment(session, installation.environment, config)
    check_compatibility(version, environment, installation.plugin_name)
    installation.begin_upgrade(version.version, configuration, strategy, auto_start, utcnow())
    add_log(session, installation.id, f"Upgrade from {installation.previous_version} to {version.version} "
            f"requested by {identity.id} ({strategy})", "queued")
    _enqueue(session, installation)
    return installation


def request_uninstall(session: Session, installation_id: str, identity: Identity) -> Installation:
    installation = get_installation(session, installation_id, identity, for_update=True)
    if installation.status in BUSY:
        raise _busy(installation)
    if installation.status == UNINSTALLED:
        raise ApiError(409, INSTALLATION_FINISHED, f"Installation '{installation_id}' is already uninstalled",
                       {"status": installation.status})
    now = utcnow()
    if installation.installed_version is None:
        # A failed or cancelled first install left nothing behind.
        installation.uninstall_nothing(now)
        add_log(session, installation.id, f"Uninstall requested by {identity.id}: nothing was deployed", "remove")
        return installation
    installation.begin_uninstall(now)
    add_log(session, installation.id, f"Uninstall requested by {identity.id}", "queued")
    _enqueue(session, installation)
    return installation


def record_telemetry(session: Session, installation_id: str, identity: Identity) -> Installation:
    installation = get_installation(session, installation_id, identity, for_update=True)
    if installation.installed_version is None or installation.status == UNINSTALLED:
        raise ApiError(409, NOT_INSTALLED, f"Installation '{installation_id}' is not installed",
                       {"status": installation.status})
    installation.last_telemetry_at = utcnow()
    return installation
