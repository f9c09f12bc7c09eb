"""Installations use cases: plain functions taking a session; views and the worker call the same ones."""

import hashlib
import json
import logging
import math
import uuid
from datetime import datetime

import nodesemver
from jsonschema import exceptions as jsonschema_exceptions
from jsonschema import validators
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from marketplace_shared.api import API_PREFIX
from marketplace_shared.errors import PLUGIN_NOT_FOUND, VALIDATION_ERROR, ApiError
from marketplace_shared.identity import Identity
from marketplace_shared.outbox import utcnow

from . import events
from .errors import (
    ALREADY_INSTALLED,
    ENVIRONMENT_EXISTS,
    ENVIRONMENT_NOT_FOUND,
    IDEMPOTENCY_KEY_REUSED,
    INCOMPATIBLE_ENVIRONMENT,
    INSTALLATION_BUSY,
    INSTALLATION_FINISHED,
    INSTALLATION_NOT_FOUND,
    NOT_INSTALLED,
    NOTHING_TO_CHANGE,
    VERSION_NOT_FOUND,
    VERSION_YANKED,
)
from .models import CatalogPlugin, CatalogVersion, Environment, Installation, InstallationLog

log = logging.getLogger(__name__)

PENDING, IN_PROGRESS, COMPLETED, FAILED = "pending", "in_progress", "completed", "failed"
CANCELLING, CANCELLED, UNINSTALLING, UNINSTALLED = "cancelling", "cancelled", "uninstalling", "uninstalled"
# An accepted install or upgrade is `in_progress` at once (the spec's 202), queued until a worker claims it
# (`startedAt` still null); `pending` is only found on rows accepted before that and is kept for them.
STATUSES = (PENDING, IN_PROGRESS, COMPLETED, FAILED, CANCELLING, CANCELLED, UNINSTALLING, UNINSTALLED)
STATES_DESCRIPTION = (
    "`in_progress` from the moment it is accepted (queued until a worker claims it: `startedAt` is null), then "
    "`completed` or `failed`; `POST .../cancel` makes it `cancelling`, then `cancelled` (rolled back); "
    "`PATCH` (upgrade) makes a finished one `in_progress` again; `DELETE` makes it `uninstalling`, then "
    "`uninstalled`. `pending` only appears on installations accepted by an older release.")
BUSY = (PENDING, IN_PROGRESS, CANCELLING, UNINSTALLING)
FINISHED = (COMPLETED, FAILED, CANCELLED, UNINSTALLED)
INSTALL, UPGRADE, UNINSTALL = "install", "upgrade", "uninstall"



# -- representation ----------------------------------------------------------
def iso(value: datetime | None) -> str | None:
    if value is None:
        return None
    return value.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def installation_links(installation_id: str) -> dict:
    base = f"{API_PREFIX}/installations/{installation_id}"
    return {"status": base, "logs": f"{base}/logs", "cancel": f"{base}/cancel"}


def progress_block(installation: Installation) -> dict:
    return {"current": installation.progress, "total": 100, "percentage": installation.progress,
            "currentStep": installation.current_step}


def duration_of(installation: Installation) -> int | None:
    if installation.started_at is None:
        return None
    end = installation.completed_at or utcnow()
    return max(0, round((end - installation.started_at).total_seconds()))


def installation_view(installation: Installation) -> dict:
    """GET /installations/{id}: the spec's fields first, then the ones the spec is silent about."""
    return {
        "installationId": installation.id,
        "pluginId": installation.plugin_id,
        "status": installation.status,
        "progress": progress_block(installation),
        "startedAt": iso(installation.started_at),
        "completedAt": iso(installation.completed_at),
        "duration": duration_of(installation),
        "pluginName": installation.plugin_name,
        "action": installation.action,
        "version": installation.version,
        "installedVersion": installation.installed_version,
        "previousVersion": installation.previous_version,
        "environment": installation.environment,
        "namespace": installation.namespace,
        "deploymentStrategy": installation.deployment_strategy,
        "autoStart": installation.auto_start,
        "configuration": installation.configuration,
        "accountId": installation.account_id,
        "health": installation.health,
        "healthDetails": installation.health_details or [],
        "healthCheckedAt": iso(installation.health_checked_at),
        "error": installation.error,
        "attempts": installation.attempts,
        "createdAt": iso(installation.created_at),
        "updatedAt": iso(installation.updated_at),
        "links": installation_links(installation.id),
    }


def accepted_view(installation: Installation, message: str, estimated: int) -> dict:
    """The 202 answer to an install, upgrade or uninstall, in the spec's shape."""
    return {
        "installationId": installation.id,
        "pluginId": installation.plugin_id,
        "status": installation.status,
        "message": message,
        "details": {
            "version": installation.version,
            "environment": installation.environment,
            "namespace": installation.namespace,
            "deploymentStrategy": installation.deployment_strategy,
        },
        "progress": progress_block(installation),
        "estimatedTime": estimated,
        "links": installation_links(installation.id),
    }


def environment_view(environment: Environment) -> dict:
    return {"name": environment.name, "backstageVersion": environment.backstage_version,
            "nodeVersion": environment.node_version, "createdAt": iso(environment.created_at),
            "updatedAt": iso(environment.updated_at)}


def log_view(line: InstallationLog) -> dict:
    return {"id": str(line.id), "timestamp": iso(line.timestamp), "level": line.level, "step": line.step,
            "message": line.message}


# -- the read model of the catalog -------------------------------------------
def find_plugin(session: Session, plugin_ref: str) -> CatalogPlugin:
    """A published plugin by id or by name, else 404 PLUGIN_NOT_FOUND."""
    plugin = session.get(CatalogPlugin, plugin_ref)
    if plugin is None:
        plugin = session.scalars(select(CatalogPlugin).where(CatalogPlugin.name == plugin_ref)
                                 .order_by(CatalogPlugin.updated_at.desc())).first()
    if plugin is None or not plugin.is_published:
        raise ApiError(404, PLUGIN_NOT_FOUND, f"Plugin with ID '{plugin_ref}' not found")
    return plugin


def _semver(value: str) -> str | None:
    try:
        parsed = nodesemver.valid(value, loose=True)
    except (ValueError, TypeError):
        return None
    return None if parsed is None else str(parsed.version)


def _range(value) -> str | None:
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        return nodesemver.valid_range(value, loose=True)
    except (ValueError, TypeError):
        return None


def semantic_version(row: CatalogVersion) -> str | None:
    """The version as semver: the catalog's normalized form (`0.2` -> `0.2.0`, carried by its event).

    The catalog alone decides what a version is and how a short one reads; rows recorded before the event
    carried `normalizedVersion` fall back to their text when it is strict semver.
    """
    return row.normalized or _semver(row.version)


def installable_versions(session: Session, plugin_id: str) -> list[CatalogVersion]:
    rows = session.scalars(select(CatalogVersion).where(CatalogVersion.plugin_id == plugin_id,
                                                        CatalogVersion.published.is_(True),
                                                        CatalogVersion.yanked.is_(False))).all()
    return [row for row in rows if semantic_version(row)]


def pick_version(rows: list[CatalogVersion], wanted: str = "*") -> CatalogVersion | None:
    """The highest version satisfying `wanted`, preferring releases over pre-releases."""
    by_version = {semantic_version(row): row for row in rows if semantic_version(row)}
    versions = list(by_version)
    if not versions:
        return None
    for include_prerelease in (False, True):
        try:
            best = nodesemver.max_satisfying(versions, wanted, loose=True, include_prerelease=include_prerelease)
        except (ValueError, TypeError):
            return None
        if best:
            return by_version.get(best)
    return None


def resolve_version(session: Session, plugin: CatalogPlugin, wanted: str | None) -> CatalogVersion:
    """The version to install: exact, a range's best match, or the latest; refuses yanked ones."""
    label = plugin.name or plugin.id
    if wanted:
        wanted = wanted.strip()
        row = _exact_version(session, plugin.id, wanted)
        if row is not None and row.yanked:
            raise ApiError(409, VERSION_YANKED,
                           f"Version {wanted} of plugin '{label}' was yanked and cannot be installed",
                           {"pluginId": plugin.id, "version": wanted, "reason": row.yank_reason})
        if row is not None and row.published:
            return row
        if _semver(wanted) is None and _range(wanted) is not None:
            best = pick_version(installable_versions(session, plugin.id), wanted)
            if best is not None:
                return best
        raise ApiError(404, VERSION_NOT_FOUND, f"Version '{wanted}' of plugin '{label}' not found",
                       {"pluginId": plugin.id, "version": wanted})
    best = pick_version(installable_versions(session, plugin.id))
    if best is None:
        raise ApiError(404, VERSION_NOT_FOUND, f"Plugin '{label}' has no installable version",
                       {"pluginId": plugin.id})
    return best


def _exact_version(session: Session, plugin_id: str, wanted: str) -> CatalogVersion | None:
    """The version named as the catalog lists it (`0.2`) or by its full form (`0.2.0`)."""
    row = session.get(CatalogVersion, (plugin_id, wanted))
    if row is None and _semver(wanted) is not None:
        row = session.scalars(select(CatalogVersion).where(CatalogVersion.plugin_id == plugin_id,
                                                           CatalogVersion.normalized == _semver(wanted))
                              .order_by(CatalogVersion.published.desc())).first()
    return row


# -- validation ----------------------------------------------------------------
def _pointer(parts) -> str:
    return "".join("/" + str(part).replace("~", "~0").replace("/", "~1") for part in parts)


def configuration_errors(schema: dict | None, configuration: dict, prefix: str = "/configuration") -> list[dict]:
    """Each way `configuration` breaks the version's JSON Schema, with a JSON pointer into the request body."""
    if not schema:
        return []
    try:
        validator_class = validators.validator_for(schema, default=validators.Draft202012Validator)
        validator_class.check_schema(schema)
    except jsonschema_exceptions.SchemaError as exc:
        log.warning("ignoring an invalid configuration schema: %s", exc.message)
        return []
    validator = validator_class(schema, format_checker=validator_class.FORMAT_CHECKER)
    found = []
    ordered = sorted(validator.iter_errors(configuration), key=lambda e: (list(map(str, e.absolute_path)), e.message))
    for error in ordered:
        parts = list(error.absolute_path)
        if error.validator == "required" and isinstance(error.instance, dict):
            missing = [name for name in error.validator_value if name not in error.instance]
            if missing:
                parts = [*parts, missing[0]]
        found.append({"pointer": prefix + _pointer(parts), "message": error.message, "keyword": error.validator})
    return found


def check_configuration(schema: dict | None, configuration: dict) -> None:
    errors = configuration_errors(schema, configuration)
    if errors:
        fields = {}
        for error in errors:
            fields.setdefault(error["pointer"].lstrip("/").replace("/", "."), []).append(error["message"])
        raise ApiError(400, VALIDATION_ERROR, "The configuration does not match the plugin's configuration schema",
                       {"errors": errors, "fields": fields})


def compatibility_clashes(version: CatalogVersion, environment: Environment) -> list[dict]:
    """The version's ranges the environment's versions fall outside of (npm semver semantics)."""
    compatibility = version.compatibility or {}
    clashes = []
    for component, actual in (("backstage", environment.backstage_version), ("node", environment.node_version)):
        required = compatibility.get(component)
        normalized = _range(required)
        if normalized is None or normalized in ("*", ""):
            continue
        if not nodesemver.satisfies(actual, required, loose=True, include_prerelease=True):
            clashes.append({"component": component, "required": required, "actual": actual})
    return clashes


def check_compatibility(version: CatalogVersion, environment: Environment, plugin_label: str) -> None:
    clashes = compatibility_clashes(version, environment)
    if clashes:
        summary = ", ".join(f"{c['component']} {c['actual']} does not satisfy {c['required']}" for c in clashes)
        raise ApiError(409, INCOMPATIBLE_ENVIRONMENT,
                       f"Plugin '{plugin_label}' {version.version} is incompatible with environment "
                       f"'{environment.name}': {summary}",
                       {"environment": environment.name, "version": version.version, "clashes": clashes})


# -- environments --------------------------------------------------------------
def _check_versions(backstage_version: str | None, node_version: str | None) -> None:
    fields = {}
    if backstage_version is not None and _semver(backstage_version) is None:
        fields["backstageVersion"] = ["Not a semantic version (e.g. 1.35.0)."]
    if node_version is not None and _semver(node_version) is None:
        fields["nodeVersion"] = ["Not a semantic version (e.g. 20.11.0)."]
    if fields:
        raise ApiError(400, VALIDATION_ERROR, f"Invalid request parameters: {', '.join(sorted(fields))}",
                       {"fields": fields})


def get_or_create_environment(session: Session, name: str, config) -> Environment:
    """The environment, created with the configured default versions when an install first names it."""
    environment = session.get(Environment, name)
    if environment is not None:
        return environment
    try:
        with session.begin_nested():
            environment = Environment(name=name, backstage_version=config.DEFAULT_BACKSTAGE_VERSION,
                                      node_version=config.DEFAULT_NODE_VERSION)
            session.add(environment)
    except IntegrityError:
        environment = session.get(Environment, name)
    return environment


def list_environments(session: Session, page: int, limit: int) -> tuple[list[Environment], int]:
    total = session.scalar(select(func.count()).select_from(Environment))
    rows = session.scalars(select(Environment).order_by(Environment.name).offset((page - 1) * limit).limit(limit)).all()
    return list(rows), total


def get_environment(session: Session, name: str) -> Environment:
    environment = session.get(Environment, name)
    if environment is None:
        raise ApiError(404, ENVIRONMENT_NOT_FOUND, f"Environment '{name}' not found")
    return environment


def create_environment(session: Session, name: str, backstage_version: str, node_version: str) -> Environment:
    _check_versions(backstage_version, node_version)
    if session.get(Environment, name) is not None:
        raise ApiError(409, ENVIRONMENT_EXISTS, f"Environment '{name}' already exists", {"name": name})
    environment = Environment(name=name, backstage_version=backstage_version, node_version=node_version)
    session.add(environment)
    try:
        session.flush()
    except IntegrityError as exc:
        raise ApiError(409, ENVIRONMENT_EXISTS, f"Environment '{name}' already exists", {"name": name}) from exc
    return environment


def update_environment(session: Session, name: str, changes: dict) -> Environment:
    environment = get_environment(session, name)
    _check_versions(changes.get("backstageVersion"), changes.get("nodeVersion"))
    if "backstageVersion" in changes:
        environment.backstage_version = changes["backstageVersion"]
    if "nodeVersion" in changes:
        environment.node_version = changes["nodeVersion"]
    environment.updated_at = utcnow()
    return environment


# -- installations -------------------------------------------------------------
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


def restore_previous(installation: Installation) -> None:
    """After an upgrade failed or was cancelled: the installation describes what is live again."""
    previous = installation.previous_state or {}
    if installation.action == UPGRADE and previous:
        installation.version = previous["version"]
        installation.configuration = previous["configuration"]
        installation.deployment_strategy = previous["deploymentStrategy"]
        installation.auto_start = previous["autoStart"]
        installation.integrity = previous.get("integrity")
    if installation.installed_version is None:
        installation.active_slot = None


def finish_cancelled(session: Session, installation: Installation) -> None:
    restore_previous(installation)
    now = utcnow()
    installation.status = CANCELLED
    installation.current_step = "Installation cancelled" if installation.action == INSTALL else "Upgrade cancelled"
    installation.completed_at = now
    installation.updated_at = now
    installation.lease_owner = None
    installation.lease_expires_at = None
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
    installation.status = CANCELLING
    installation.current_step = "Cancelling"
    installation.updated_at = utcnow()
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
    now = utcnow()
    installation.previous_state = {
        "version": installation.installed_version, "configuration": installation.configuration,
        "deploymentStrategy": installation.deployment_strategy, "autoStart": installation.auto_start,
        "integrity": installation.integrity}
    installation.previous_version = installation.installed_version
    installation.version = version.version
    installation.configuration = configuration
    installation.deployment_strategy = strategy
    installation.auto_start = auto_start
    _restart(installation, UPGRADE, IN_PROGRESS, f"Upgrade to {version.version} requested", now)
    add_log(session, installation.id, f"Upgrade from {installation.previous_version} to {version.version} "
            f"requested by {identity.id} ({strategy})", "queued")
    _enqueue(session, installation)
    return installation


def _restart(installation: Installation, action: str, status: str, step: str, now: datetime) -> None:
    installation.action = action
    installation.status = status
    installation.operation += 1
    installation.progress = 0
    installation.current_step = step
    installation.step = None
    installation.error = None
    installation.attempts = 0
    installation.lease_owner = None
    installation.lease_expires_at = None
    installation.started_at = None
    installation.completed_at = None
    installation.updated_at = now


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
        _restart(installation, UNINSTALL, UNINSTALLED, "Uninstalled", now)
        installation.completed_at = now
        installation.active_slot = None
        add_log(session, installation.id, f"Uninstall requested by {identity.id}: nothing was deployed", "remove")
        return installation
    _restart(installation, UNINSTALL, UNINSTALLING, "Uninstall requested", now)
    installation.previous_state = None
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
