"""How the install service's rows read in API bodies: installations, the 202 answers, environments, log lines."""

from marketplace_shared.api import API_PREFIX
from marketplace_shared.clock import iso, utcnow

from .models import Environment, Installation, InstallationLog


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
