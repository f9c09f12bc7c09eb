"""The install worker's job runner: run an installation's steps, each job with its own `Run` context.

A job is one `installation.requested` message. It claims its installation (leases.py: two workers never
run the same job), renews the lease at each step, honours a cancel at the next step boundary, and rolls
the deployer back on any failure. A worker killed mid-job leaves its lease behind: the redelivered message
(or the periodic recovery in maintenance.py) takes the job over, rolls the partial deployment back and
starts it again; after INSTALL_MAX_ATTEMPTS interruptions it fails cleanly instead.
"""

import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from sqlalchemy import select

from marketplace_shared.clock import utcnow
from marketplace_shared.errors import INTERNAL_ERROR, PLUGIN_NOT_FOUND

from . import archive, events, leases, services, versions
from .deployer import DeploySpec, Health, Target, folder_name
from .downloader import Downloaded
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
    JobFailed,
)
from .leases import LeaseLost
from .models import (
    BUSY,
    CANCELLING,
    COMPLETED,
    UNINSTALL,
    UNINSTALLED,
    UPGRADE,
    CatalogPlugin,
    CatalogVersion,
    Installation,
)

log = logging.getLogger(__name__)

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


class StepFailed(JobFailed):
    """One of the runner's own checks failed (the catalog's version, dependencies, the package's digest)."""


class Cancelled(Exception):
    pass


@dataclass
class Run:
    """One job's state while it runs: the installation as claimed, where and what it deploys, how far it got."""

    installation: Installation
    target: Target
    spec: DeploySpec
    step: str | None = None
    version: dict | None = None  # the catalog's package and configuration schema (the resolve step)
    download: Downloaded | None = None

    @property
    def installation_id(self) -> str:
        return self.installation.id


class JobRunner:
    """Runs installation jobs; `run(event)` is the job queue's handler. Holds only its dependencies."""

    def __init__(self, config, database, deployer, downloader, owner: str | None = None,
                 sleep: Callable[[float], None] = time.sleep):
        self.config = config
        self.database = database
        self.deployer = deployer
        self.downloader = downloader
        self.owner = owner or leases.new_owner()
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
            self._execute(self._start(installation_id))
        except LeaseLost:
            log.warning("installation %s was taken over by another worker", installation_id)
        finally:
            leases.release(self.database, installation_id, self.owner)

    def claim(self, installation_id: str, operation: int | None) -> bool:
        """Compare-and-set the lease; False for a finished, stale or live-held job (the message is dropped)."""
        return leases.claim(self.database, installation_id, operation, self.owner, self.lease)

    def _start(self, installation_id: str) -> Run:
        with self.database.session() as session:
            installation = session.get(Installation, installation_id)
        spec = DeploySpec(name=folder_name(installation.plugin_name, installation.plugin_id),
                          key=f"{installation.id}:{installation.operation}",
                          configuration=installation.configuration, disabled=not installation.auto_start,
                          integrity=installation.integrity or "", max_unpacked_bytes=self.config.MAX_UNPACKED_BYTES)
        return Run(installation, Target(installation.environment, installation.namespace), spec)

    # -- running -------------------------------------------------------------
    def _execute(self, run: Run) -> None:
        installation = run.installation
        try:
            if installation.attempts > 1:
                self._log(run, f"Attempt {installation.attempts}: the previous attempt was interrupted",
                          level="warning")
            if installation.attempts > self.config.INSTALL_MAX_ATTEMPTS:
                raise StepFailed(JOB_ABANDONED, f"Gave up after {installation.attempts - 1} interrupted attempts")
            self._settle(run)
            if installation.action == UNINSTALL:
                for step, percent, label in UNINSTALL_STEPS:
                    run.step = step
                    self._boundary(run, step, percent, label, cancellable=False)
                    self.deployer.remove(run.target, run.spec)
                    self._log(run, "Removed from dynamic-plugins.yaml and the files set aside", step)
                self._finish_uninstall(run)
                return
            for step, percent, label in INSTALL_STEPS:
                run.step = step
                if step == "deploy":
                    label = f"Deploying ({installation.deployment_strategy})"
                self._boundary(run, step, percent, label)
                getattr(self, f"_step_{step}")(run)
            self._finish_install(run)
        except Cancelled:
            self._rollback(run)
            self._finish_cancelled(run)
        except LeaseLost:
            raise
        except JobFailed as exc:  # StepFailed, DownloadError, ArchiveError, DeployError
            self._rollback(run)
            self._finish_failed(run, exc.code, exc.message, exc.details)
        except Exception as exc:  # noqa: BLE001 - any other failure also ends the job cleanly
            log.exception("installation %s failed", run.installation_id)
            self._rollback(run)
            self._finish_failed(run, INTERNAL_ERROR, f"Unexpected error: {exc.__class__.__name__}: {exc}")
        finally:
            if run.download is not None:
                Path(run.download.path).unlink(missing_ok=True)

    def _settle(self, run: Run) -> None:
        """Deal with a deployer journal left behind by a crash: undo an unfinished one, forget a committed one."""
        target, name = run.target, run.spec.name
        pending = self.deployer.pending(target, name)
        if pending is None:
            return
        if pending == run.spec.key:
            self.deployer.rollback(target, name)
            self._log(run, "Rolled back the partial deployment of the interrupted attempt", "resolve", "warning")
            return
        other_id, _, other_op = pending.rpartition(":")
        with self.database.session() as session:
            other = session.get(Installation, other_id)
        if other is None or other.operation > int(other_op or 0) or other.status in (COMPLETED, UNINSTALLED):
            self.deployer.finalize(target, name, pending)
        elif other.status in BUSY:
            raise StepFailed(DEPLOYMENT_IN_PROGRESS, f"Another operation ({pending}) is deploying {name}")
        else:
            self.deployer.rollback(target, name)

    def _rollback(self, run: Run) -> None:
        try:
            if self.deployer.rollback(run.target, run.spec.name):
                self._log(run, "Rolled back: the previous deployment is restored exactly", run.step, "warning")
        except Exception:  # noqa: BLE001 - a crash-safe journal stays for the next attempt
            log.exception("rollback of %s failed", run.installation_id)
            self._log(run, "Rollback failed; it will be retried by the next operation", run.step, "error")

    # -- step boundaries -----------------------------------------------------
    def _boundary(self, run: Run, step: str, percent: int, label: str, cancellable: bool = True) -> None:
        """Wait the configured delay, honour a cancel, renew the lease and report the step."""
        delay = self.config.INSTALL_STEP_DELAY_SECONDS
        deadline = time.monotonic() + delay
        while True:
            status = self._heartbeat(run)
            if cancellable and status == CANCELLING:
                raise Cancelled()
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            self.sleep(min(remaining, 0.1))
        with self.database.session() as session, session.begin():
            leases.update_held(session, run.installation_id, self.owner, step=step, progress=percent,
                               current_step=label, updated_at=utcnow())
            services.add_log(session, run.installation_id, label, step)

    def _heartbeat(self, run: Run) -> str:
        with self.database.session() as session, session.begin():
            leases.update_held(session, run.installation_id, self.owner, lease_expires_at=utcnow() + self.lease)
            return leases.current_status(session, run.installation_id)

    def _log(self, run: Run, message: str, step: str | None = None, level: str = "info") -> None:
        with self.database.session() as session, session.begin():
            services.add_log(session, run.installation_id, message, step, level)

    # -- the steps -------------------------------------------------------------
    def _step_resolve(self, run: Run) -> None:
        installation = run.installation
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
            run.version = {"package": dict(version.package), "schema": version.configuration_schema}
            messages = [f"Resolved {installation.plugin_name} {version.version}"]
            messages += self._resolve_dependencies(session, installation, version.dependencies)
        for message in messages:
            self._log(run, message, "resolve")

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

    def _step_download(self, run: Run) -> None:
        installation, spec = run.installation, run.spec
        package = run.version["package"]
        self.work_dir.mkdir(parents=True, exist_ok=True)
        destination = self.work_dir / f"{installation.id}-{installation.operation}-{uuid.uuid4().hex[:8]}.pkg"

        def progress(size: int) -> None:
            self._heartbeat(run)

        try:
            downloaded: Downloaded = self.downloader.download(installation.plugin_id, installation.version, package,
                                                              destination, installation.account_id, progress)
        except Exception:
            destination.unlink(missing_ok=True)
            raise
        run.download = downloaded
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
        self._log(run, f"Downloaded {downloaded.size} bytes; SHA-256 {downloaded.sha256} verified", "download")

    def _step_validate(self, run: Run) -> None:
        errors = versions.configuration_errors(run.version["schema"], run.installation.configuration)
        if errors:
            raise StepFailed(CONFIGURATION_INVALID, "The configuration does not match the plugin's schema: "
                             + "; ".join(f"{e['pointer']}: {e['message']}" for e in errors), {"errors": errors})
        fmt, members = archive.inspect(run.spec.package_file, self.config.MAX_UNPACKED_BYTES)
        files = [member for member in members if not member.is_dir]
        self._log(run, f"Configuration valid; package is a {fmt} archive of {len(files)} files", "validate")

    def _step_deploy(self, run: Run) -> None:
        installation = run.installation
        self.deployer.deploy(run.target, run.spec, installation.deployment_strategy)
        self._log(run, f"Deployed {installation.plugin_name} {installation.version} "
                  f"({installation.deployment_strategy})", "deploy")

    def _step_health(self, run: Run) -> None:
        health: Health = self.deployer.verify(run.target, run.spec, run.installation.deployment_strategy)
        if health.status != "healthy":
            raise StepFailed(HEALTH_CHECK_FAILED, "Health check failed: " + "; ".join(health.problems))
        self._log(run, "Health check passed: files intact, integrity and configuration as expected", "health")

    def _step_activate(self, run: Run) -> None:
        strategy = run.installation.deployment_strategy
        self.deployer.activate(run.target, run.spec, strategy)
        self._log(run, "Activated" + (" (switched to the new colour)" if strategy == "blue-green" else ""),
                  "activate")

    # -- endings ---------------------------------------------------------------
    def _finish_install(self, run: Run) -> None:
        with self.database.session() as session, session.begin():
            installation = leases.locked_row(session, run.installation_id, self.owner)
            if installation.status == CANCELLING:
                raise Cancelled()
            upgrade = installation.action == UPGRADE
            installation.complete(run.spec.integrity, utcnow())
            if upgrade:
                data = events.plugin_updated(installation)
                event_type = events.PLUGIN_UPDATED
            else:
                data = events.plugin_installed(installation)
                event_type = events.PLUGIN_INSTALLED
            events.record(session, event_type, data, installation.plugin_id)
            services.add_log(session, installation.id, installation.current_step, "done")
        self._finalize(run)

    def _finish_uninstall(self, run: Run) -> None:
        with self.database.session() as session, session.begin():
            installation = leases.locked_row(session, run.installation_id, self.owner)
            data = events.plugin_uninstalled(installation)
            installation.uninstalled(utcnow())
            events.record(session, events.PLUGIN_UNINSTALLED, data, installation.plugin_id)
            services.add_log(session, installation.id, "Uninstalled", "done")
        self._finalize(run)

    def _finalize(self, run: Run) -> None:
        try:
            self.deployer.finalize(run.target, run.spec.name, run.spec.key)
        except Exception:  # noqa: BLE001 - the journal is settled by the next operation
            log.exception("finalize of %s failed", run.spec.key)

    def _finish_cancelled(self, run: Run) -> None:
        with self.database.session() as session, session.begin():
            installation = leases.locked_row(session, run.installation_id, self.owner)
            services.finish_cancelled(session, installation)

    def _finish_failed(self, run: Run, code: str, message: str, details: dict | None = None) -> None:
        step = run.step
        with self.database.session() as session, session.begin():
            installation = leases.locked_row(session, run.installation_id, self.owner)
            error = {"code": code, "message": message, "step": step}
            data = events.plugin_error(installation, code, message, step)
            if details:
                error = {**error, "details": details}
            installation.fail(error, utcnow())
            events.record(session, events.PLUGIN_ERROR, data, installation.plugin_id)
            services.add_log(session, installation.id, f"Failed ({code}): {message}", step, "error")
