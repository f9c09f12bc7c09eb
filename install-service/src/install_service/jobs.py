"""The install worker's jobs: run an installation's steps, recover interrupted jobs, check health.

A job is one `installation.requested` message. It claims its installation with a compare-and-set on the
lease columns (two workers never run the same job), renews the lease at each step, honours a cancel at
the next step boundary, and rolls the deployer back on any failure. A worker killed mid-job leaves its
lease behind: the redelivered message (or the periodic recovery) takes the job over, rolls the partial
deployment back and starts it again; after INSTALL_MAX_ATTEMPTS interruptions it fails cleanly instead.
"""

import logging
import os
import socket
import time
import uuid
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

from sqlalchemy import case, select, update

from marketplace_shared.errors import INTERNAL_ERROR, PLUGIN_NOT_FOUND
from marketplace_shared.outbox import utcnow

from . import archive, events, representations, services, versions
from .deployer import DeployError, DeploySpec, Health, Target, folder_name
from .downloader import Downloaded, DownloadError
from .errors import (
    CHECKSUM_MISMATCH,
    CONFIGURATION_INVALID,
    DEPENDENCY_UNRESOLVED,
    DEPLOYMENT_IN_PROGRESS,
    HEALTH_CHECK_FAILED,
    JOB_ABANDONED,
    PACKAGE_UNVERIFIABLE,
    VERSION_NOT_FOUND,
    VERSION_YANKED,
)
from .models import (
    BUSY,
    CANCELLED,
    CANCELLING,
    COMPLETED,
    FAILED,
    IN_PROGRESS,
    PENDING,
    UNINSTALL,
    UNINSTALLED,
    UPGRADE,
    CatalogPlugin,
    CatalogVersion,
    Installation,
)

log = logging.getLogger(__name__)

# Identifies this process in lease owners: "host|pid|boot" (a restarted process gets a new boot token).
PROCESS_ID = f"{socket.gethostname()}|{os.getpid()}|{uuid.uuid4().hex[:8]}"

INSTALL_STEPS = [
    ("resolve", 10, "Resolving version and dependencies"),
    ("download", 30, "Downloading package"),
    ("validate", 45, "Validating configuration"),
    ("deploy", 65, "Deploying"),
    ("health", 85, "Checking health"),
    ("activate", 95, "Activating"),
]
UNINSTALL_STEPS = [
    ("remove", 50, "Removing the plugin"),
]


class StepFailed(Exception):
    def __init__(self, code: str, message: str, details: dict | None = None):
        super().__init__(message)
        self.code = code
        self.message = message
        self.details = details or {}


class Cancelled(Exception):
    pass


class LeaseLost(Exception):
    """Another worker took the job over (this one was presumed dead): stop without touching anything."""


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


class JobRunner:
    """Runs installation jobs; `run(event)` is the job queue's handler."""

    def __init__(self, config, database, deployer, downloader, owner: str | None = None,
                 sleep: Callable[[float], None] = time.sleep):
        self.config = config
        self.database = database
        self.deployer = deployer
        self.downloader = downloader
        self.owner = owner or f"{PROCESS_ID}|{uuid.uuid4().hex[:6]}"
        self.sleep = sleep
        self.lease = timedelta(seconds=config.INSTALL_LEASE_SECONDS)
        self.work_dir = Path(config.INSTALL_ROOT) / ".state" / "downloads"

    # -- the job queue handler ---------------------------------------------
    def run(self, event: dict) -> None:
        data = event["data"]
        installation_id = data["installationId"]
        if not self.claim(installation_id, data.get("operation")):
            return
        try:
            self._execute(installation_id)
        except LeaseLost:
            log.warning("installation %s was taken over by another worker", installation_id)
        finally:
            self._release(installation_id)

    def claim(self, installation_id: str, operation: int | None) -> bool:
        """Compare-and-set the lease; False for a finished, stale or live-held job (the message is dropped)."""
        with self.database.session() as session, session.begin():
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
            if (holder is not None and holder != self.owner and installation.lease_expires_at is not None
                    and installation.lease_expires_at > now and not holder_is_dead(holder)):
                log.info("installation %s is held by %s; leaving it to that worker", installation_id, holder)
                return False
            held_by = Installation.lease_owner.is_(None) if holder is None else Installation.lease_owner == holder
            result = session.execute(
                update(Installation)
                .where(Installation.id == installation_id, Installation.operation == installation.operation,
                       Installation.status.in_(BUSY), held_by)
                .values(lease_owner=self.owner, lease_expires_at=now + self.lease,
                        attempts=Installation.attempts + 1, updated_at=now,
                        status=case((Installation.status == PENDING, IN_PROGRESS),
                                    else_=Installation.status),
                        started_at=case((Installation.started_at.is_(None), now),
                                        else_=Installation.started_at))
                .execution_options(synchronize_session=False))
            return result.rowcount == 1

    def _release(self, installation_id: str) -> None:
        try:
            with self.database.session() as session, session.begin():
                session.execute(update(Installation)
                                .where(Installation.id == installation_id, Installation.lease_owner == self.owner)
                                .values(lease_owner=None, lease_expires_at=None)
                                .execution_options(synchronize_session=False))
        except Exception:  # noqa: BLE001 - the lease then simply expires
            log.exception("could not release the lease of %s", installation_id)

    # -- running -------------------------------------------------------------
    def _load(self) -> Installation:
        with self.database.session() as session:
            return session.get(Installation, self.installation_id)

    def _execute(self, installation_id: str) -> None:
        self.installation_id = installation_id
        installation = self._load()
        target = Target(installation.environment, installation.namespace)
        key = f"{installation.id}:{installation.operation}"
        spec = DeploySpec(name=folder_name(installation.plugin_name, installation.plugin_id), key=key,
                          configuration=installation.configuration, disabled=not installation.auto_start,
                          integrity=installation.integrity or "", max_unpacked_bytes=self.config.MAX_UNPACKED_BYTES)
        state = {"step": None, "download": None}
        try:
            if installation.attempts > 1:
                self._log(f"Attempt {installation.attempts}: the previous attempt was interrupted", level="warning")
            if installation.attempts > self.config.INSTALL_MAX_ATTEMPTS:
                raise StepFailed(JOB_ABANDONED, f"Gave up after {installation.attempts - 1} interrupted attempts")
            self._settle(target, spec.name, key)
            if installation.action == UNINSTALL:
                for step, percent, label in UNINSTALL_STEPS:
                    state["step"] = step
                    self._boundary(step, percent, label, cancellable=False)
                    self.deployer.remove(target, spec)
                    self._log("Removed from dynamic-plugins.yaml and the files set aside", step)
                self._finish_uninstall(target, spec)
                return
            for step, percent, label in INSTALL_STEPS:
                state["step"] = step
                if step == "deploy":
                    label = f"Deploying ({installation.deployment_strategy})"
                self._boundary(step, percent, label)
                getattr(self, f"_step_{step}")(installation, target, spec, state)
            self._finish_install(target, spec)
        except Cancelled:
            self._rollback(target, spec.name, state["step"])
            self._finish_cancelled()
        except LeaseLost:
            raise
        except (StepFailed, DeployError, DownloadError, archive.ArchiveError) as exc:
            self._rollback(target, spec.name, state["step"])
            self._finish_failed(exc.code, exc.message, state["step"], getattr(exc, "details", None))
        except Exception as exc:  # noqa: BLE001 - any other failure also ends the job cleanly
            log.exception("installation %s failed", installation_id)
            self._rollback(target, spec.name, state["step"])
            self._finish_failed(INTERNAL_ERROR, f"Unexpected error: {exc.__class__.__name__}: {exc}", state["step"])
        finally:
            download = state.get("download")
            if download is not None:
                Path(download.path).unlink(missing_ok=True)

    def _settle(self, target: Target, name: str, key: str) -> None:
        """Deal with a deployer journal left behind by a crash: undo an unfinished one, forget a committed one."""
        pending = self.deployer.pending(target, name)
        if pending is None:
            return
        if pending == key:
            self.deployer.rollback(target, name)
            self._log("Rolled back the partial deployment of the interrupted attempt", "resolve", "warning")
            return
        other_id, _, other_op = pending.rpartition(":")
        with self.database.session() as session:
            other = session.get(Installation, other_id)
        if other is None or other.operation > int(other_op or 0) or other.status in (COMPLETED,
                                                                                      UNINSTALLED):
            self.deployer.finalize(target, name, pending)
        elif other.status in BUSY:
            raise StepFailed(DEPLOYMENT_IN_PROGRESS, f"Another operation ({pending}) is deploying {name}")
        else:
            self.deployer.rollback(target, name)

    def _rollback(self, target: Target, name: str, step: str | None) -> None:
        try:
            if self.deployer.rollback(target, name):
                self._log("Rolled back: the previous deployment is restored exactly", step, "warning")
        except Exception:  # noqa: BLE001 - a crash-safe journal stays for the next attempt
            log.exception("rollback of %s failed", self.installation_id)
            self._log("Rollback failed; it will be retried by the next operation", step, "error")

    # -- step boundaries -----------------------------------------------------
    def _boundary(self, step: str, percent: int, label: str, cancellable: bool = True) -> None:
        """Wait the configured delay, honour a cancel, renew the lease and report the step."""
        delay = self.config.INSTALL_STEP_DELAY_SECONDS
        deadline = time.monotonic() + delay
        while True:
            status = self._heartbeat()
            if cancellable and status == CANCELLING:
                raise Cancelled()
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            self.sleep(min(remaining, 0.1))
        with self.database.session() as session, session.begin():
            result = session.execute(update(Installation)
                                     .where(Installation.id == self.installation_id,
                                            Installation.lease_owner == self.owner)
                                     .values(step=step, progress=percent, current_step=label, updated_at=utcnow())
                                     .execution_options(synchronize_session=False))
            if result.rowcount != 1:
                raise LeaseLost()
            services.add_log(session, self.installation_id, label, step)

    def _heartbeat(self) -> str:
        now = utcnow()
        with self.database.session() as session, session.begin():
            result = session.execute(update(Installation)
                                     .where(Installation.id == self.installation_id,
                                            Installation.lease_owner == self.owner)
                                     .values(lease_expires_at=now + self.lease)
                                     .execution_options(synchronize_session=False))
            if result.rowcount != 1:
                raise LeaseLost()
            return session.scalar(select(Installation.status).where(Installation.id == self.installation_id))

    def _log(self, message: str, step: str | None = None, level: str = "info") -> None:
        with self.database.session() as session, session.begin():
            services.add_log(session, self.installation_id, message, step, level)

    # -- the steps -------------------------------------------------------------
    def _step_resolve(self, installation, target, spec, state) -> None:
        with self.database.session() as session:
            plugin = session.get(CatalogPlugin, installation.plugin_id)
            version = session.get(CatalogVersion, (installation.plugin_id, installation.version))
            if plugin is None or not plugin.is_published:
                raise StepFailed(PLUGIN_NOT_FOUND, f"Plugin {installation.plugin_id} is no longer published")
            if version is None or not version.published:
                raise StepFailed(VERSION_NOT_FOUND, f"Version {installation.version} is not in the catalog")
            if version.yanked:
                raise StepFailed(VERSION_YANKED, f"Version {installation.version} was yanked: {version.yank_reason}")
            if not (version.package or {}).get("sha256"):
                raise StepFailed(PACKAGE_UNVERIFIABLE, "The catalog gave no SHA-256 for this package")
            state["version"] = {"package": dict(version.package), "schema": version.configuration_schema}
            messages = [f"Resolved {installation.plugin_name} {version.version}"]
            messages += self._resolve_dependencies(session, installation, version.dependencies)
        for message in messages:
            self._log(message, "resolve")

    @staticmethod
    def _dependency_list(dependencies) -> list[tuple[str, str]]:
        if isinstance(dependencies, dict):
            return [(str(name), str(wanted)) for name, wanted in dependencies.items()]
        found = []
        for item in dependencies or []:
            if isinstance(item, dict) and item.get("name"):
                found.append((str(item["name"]), str(item.get("version") or "*")))
            elif isinstance(item, str):
                found.append((item, "*"))
        return found

    def _resolve_dependencies(self, session, installation, dependencies) -> list[str]:
        messages = []
        for name, wanted in self._dependency_list(dependencies):
            plugin = session.scalars(select(CatalogPlugin).where(CatalogPlugin.name == name)).first()
            if plugin is None:
                messages.append(f"Dependency {name}@{wanted}: provided by the portal")
                continue
            best = versions.pick_version(versions.installable_versions(session, plugin.id), wanted)
            if best is None:
                raise StepFailed(DEPENDENCY_UNRESOLVED,
                                 f"No published version of dependency {name} satisfies {wanted}")
            installed = session.scalars(select(Installation).where(
                Installation.plugin_id == plugin.id, Installation.environment == installation.environment,
                Installation.namespace == installation.namespace,
                Installation.installed_version.is_not(None))).first()
            where = (f"installed ({installed.installed_version})" if installed
                     else f"not installed in {installation.environment}/{installation.namespace}")
            messages.append(f"Dependency {name}@{wanted}: resolves to {best.version}, {where}")
        return messages

    def _step_download(self, installation, target, spec, state) -> None:
        package = state["version"]["package"]
        self.work_dir.mkdir(parents=True, exist_ok=True)
        destination = self.work_dir / f"{installation.id}-{installation.operation}-{uuid.uuid4().hex[:8]}.pkg"

        def progress(size: int) -> None:
            self._heartbeat()

        try:
            downloaded: Downloaded = self.downloader.download(installation.plugin_id, installation.version, package,
                                                              destination, installation.account_id, progress)
        except Exception:
            destination.unlink(missing_ok=True)
            raise
        state["download"] = downloaded
        expected_size = package.get("size")
        if isinstance(expected_size, int) and expected_size != downloaded.size:
            raise StepFailed(CHECKSUM_MISMATCH, f"Downloaded {downloaded.size} bytes, the catalog announced "
                             f"{expected_size}")
        if downloaded.sha256 != str(package["sha256"]).lower():
            raise StepFailed(CHECKSUM_MISMATCH, f"SHA-256 mismatch: expected {package['sha256']}, "
                             f"got {downloaded.sha256}")
        if package.get("integrity") and package["integrity"].startswith("sha512-") \
                and package["integrity"] != downloaded.integrity:
            raise StepFailed(CHECKSUM_MISMATCH, "The package does not match its sha512 integrity")
        spec.package_file = downloaded.path
        spec.integrity = package.get("integrity") or downloaded.integrity
        self._log(f"Downloaded {downloaded.size} bytes; SHA-256 {downloaded.sha256} verified", "download")

    def _step_validate(self, installation, target, spec, state) -> None:
        errors = versions.configuration_errors(state["version"]["schema"], installation.configuration)
        if errors:
            raise StepFailed(CONFIGURATION_INVALID, "The configuration does not match the plugin's schema: "
                             + "; ".join(f"{e['pointer']}: {e['message']}" for e in errors), {"errors": errors})
        fmt, members = archive.inspect(spec.package_file, self.config.MAX_UNPACKED_BYTES)
        files = [member for member in members if not member.is_dir]
        self._log(f"Configuration valid; package is a {fmt} archive of {len(files)} files", "validate")

    def _step_deploy(self, installation, target, spec, state) -> None:
        self.deployer.deploy(target, spec, installation.deployment_strategy)
        self._log(f"Deployed {installation.plugin_name} {installation.version} "
                  f"({installation.deployment_strategy})", "deploy")

    def _step_health(self, installation, target, spec, state) -> None:
        health: Health = self.deployer.verify(target, spec, installation.deployment_strategy)
        if health.status != "healthy":
            raise StepFailed(HEALTH_CHECK_FAILED, "Health check failed: " + "; ".join(health.problems))
        self._log("Health check passed: files intact, integrity and configuration as expected", "health")

    def _step_activate(self, installation, target, spec, state) -> None:
        self.deployer.activate(target, spec, installation.deployment_strategy)
        self._log("Activated" + (" (switched to the new colour)" if installation.deployment_strategy == "blue-green"
                                 else ""), "activate")

    # -- endings ---------------------------------------------------------------
    def _locked_row(self, session) -> Installation | None:
        """The installation, row-locked, if this runner still holds it."""
        installation = session.scalars(select(Installation).where(Installation.id == self.installation_id)
                                       .with_for_update()).first()
        if installation is None or installation.lease_owner != self.owner:
            return None
        return installation

    def _finish_install(self, target: Target, spec: DeploySpec) -> None:
        with self.database.session() as session, session.begin():
            installation = self._locked_row(session)
            if installation is None:
                raise LeaseLost()
            if installation.status == CANCELLING:
                raise Cancelled()
            upgrade = installation.action == UPGRADE
            installation.complete(spec.integrity, utcnow())
            if upgrade:
                data = events.plugin_updated(installation)
                event_type = events.PLUGIN_UPDATED
            else:
                data = events.plugin_installed(installation)
                event_type = events.PLUGIN_INSTALLED
            events.record(session, event_type, data, installation.plugin_id)
            services.add_log(session, installation.id, installation.current_step, "done")
        self._finalize(target, spec)

    def _finish_uninstall(self, target: Target, spec: DeploySpec) -> None:
        with self.database.session() as session, session.begin():
            installation = self._locked_row(session)
            if installation is None:
                raise LeaseLost()
            data = events.plugin_uninstalled(installation)
            installation.uninstalled(utcnow())
            events.record(session, events.PLUGIN_UNINSTALLED, data, installation.plugin_id)
            services.add_log(session, installation.id, "Uninstalled", "done")
        self._finalize(target, spec)

    def _finalize(self, target: Target, spec: DeploySpec) -> None:
        try:
            self.deployer.finalize(target, spec.name, spec.key)
        except Exception:  # noqa: BLE001 - the journal is settled by the next operation
            log.exception("finalize of %s failed", spec.key)

    def _finish_cancelled(self) -> None:
        with self.database.session() as session, session.begin():
            installation = self._locked_row(session)
            if installation is None:
                raise LeaseLost()
            services.finish_cancelled(session, installation)

    def _finish_failed(self, code: str, message: str, step: str | None, details: dict | None = None) -> None:
        with self.database.session() as session, session.begin():
            installation = self._locked_row(session)
            if installation is None:
                raise LeaseLost()
            error = {"code": code, "message": message, "step": step}
            data = events.plugin_error(installation, code, message, step)
            if details:
                error = {**error, "details": details}
            installation.fail(error, utcnow())
            events.record(session, events.PLUGIN_ERROR, data, installation.plugin_id)
            services.add_log(session, installation.id, f"Failed ({code}): {message}", step, "error")


def recover_stalled(config, database) -> int:
    """Re-queue jobs whose worker died (lease expired) or whose message was lost; returns how many."""
    now = utcnow()
    stale = now - timedelta(seconds=config.JOB_REQUEUE_AFTER_SECONDS)
    requeued = 0
    with database.session() as session:
        candidates = session.execute(
            select(Installation.id, Installation.lease_owner, Installation.operation)
            .where(Installation.status.in_(BUSY),
                   ((Installation.lease_owner.is_not(None)) & (Installation.lease_expires_at < now))
                   | ((Installation.lease_owner.is_(None)) & (Installation.updated_at < stale)))
            .limit(100)).all()
    for installation_id, owner, operation in candidates:
        with database.session() as session, session.begin():
            held_by = Installation.lease_owner.is_(None) if owner is None else Installation.lease_owner == owner
            result = session.execute(update(Installation)
                                     .where(Installation.id == installation_id, held_by,
                                            Installation.operation == operation,
                                            Installation.status.in_(BUSY))
                                     .values(lease_owner=None, lease_expires_at=None, updated_at=now)
                                     .execution_options(synchronize_session=False))
            if result.rowcount != 1:
                continue
            installation = session.get(Installation, installation_id)
            services.add_log(session, installation_id, "The job stalled (its worker stopped); queued again",
                             installation.step, "warning")
            events.record(session, events.INSTALLATION_REQUESTED, events.job_data(installation), installation_id)
            requeued += 1
    return requeued


def check_health(config, database, deployer) -> int:
    """Check every active installation; record and announce changes. Returns how many changed."""
    stale_after = timedelta(seconds=config.TELEMETRY_STALE_SECONDS)
    with database.session() as session:
        rows = session.scalars(select(Installation).where(
            Installation.installed_version.is_not(None),
            Installation.status.in_((COMPLETED, FAILED, CANCELLED)))).all()
    changed = 0
    for installation in rows:
        spec = DeploySpec(name=folder_name(installation.plugin_name, installation.plugin_id), key="",
                          configuration=installation.configuration, disabled=not installation.auto_start,
                          integrity=installation.integrity or "")
        try:
            health = deployer.check(Target(installation.environment, installation.namespace), spec)
        except Exception as exc:  # noqa: BLE001 - an unreadable deployment is unhealthy
            health = Health("unhealthy", [f"check failed: {exc}"])
        current, problems = health.status, list(health.problems)
        now = utcnow()
        if current == "healthy" and installation.last_telemetry_at is not None \
                and now - installation.last_telemetry_at > stale_after:
            current = "degraded"
            problems.append(f"no telemetry since {representations.iso(installation.last_telemetry_at)}")
        with database.session() as session, session.begin():
            row = session.scalars(select(Installation).where(Installation.id == installation.id)
                                  .with_for_update()).first()
            if row is None or row.operation != installation.operation or row.status in BUSY:
                continue
            previous = row.health
            row.health_checked_at = now
            row.health_details = problems
            if previous == current:
                continue
            row.health = current
            changed += 1
            services.add_log(session, row.id, f"Health changed from {previous} to {current}"
                             + (f": {'; '.join(problems)}" if problems else ""), "health",
                             "info" if current == "healthy" else "warning")
            events.record(session, events.PLUGIN_HEALTH_CHANGED, events.plugin_health_changed(row, previous, current),
                          row.plugin_id)
    return changed
