"""Events the install service publishes, and its own copy of the catalog fields it reads."""

from sqlalchemy.orm import Session

from marketplace_shared.outbox import record_event

from .models import OutboxEvent

SOURCE = "install-service"

# Published (docs/asyncapi.yaml); built only here.
INSTALLATION_REQUESTED = "installation.requested"
PLUGIN_INSTALLED = "plugin.installed"
PLUGIN_UPDATED = "plugin.updated"
PLUGIN_UNINSTALLED = "plugin.uninstalled"
PLUGIN_ERROR = "plugin.error"
PLUGIN_HEALTH_CHANGED = "plugin.health_changed"
PUBLISHED = (INSTALLATION_REQUESTED, PLUGIN_INSTALLED, PLUGIN_UPDATED, PLUGIN_UNINSTALLED, PLUGIN_ERROR,
             PLUGIN_HEALTH_CHANGED)

# Consumed from the catalog.
PLUGIN_PUBLISHED = "plugin.published"
PLUGIN_VERSION_PUBLISHED = "plugin.version_published"
PLUGIN_COMPATIBILITY_CHANGED = "plugin.compatibility_changed"
PLUGIN_UNPUBLISHED = "plugin.unpublished"
PLUGIN_VERSION_YANKED = "plugin.version_yanked"


def lifecycle_data(installation, **extra) -> dict:
    """The fields every plugin.* lifecycle event carries, plus the type's own."""
    return {
        "pluginId": installation.plugin_id,
        "version": installation.version,
        "installationId": installation.id,
        "environment": installation.environment,
        "namespace": installation.namespace,
        "accountId": installation.account_id,
        **extra,
    }


def record(session: Session, event_type: str, data: dict, subject: str | None = None) -> dict:
    """Write one of the install service's events to its outbox, in the caller's transaction."""
    return record_event(session, OutboxEvent, event_type, SOURCE, data, subject)


def plugin_installed(installation) -> dict:
    return lifecycle_data(installation)


def plugin_updated(installation) -> dict:
    return lifecycle_data(installation, previousVersion=installation.previous_version)


def plugin_uninstalled(installation) -> dict:
    """Built before the row forgets its installed version."""
    return lifecycle_data(installation, version=installation.installed_version)


def plugin_error(installation, code: str, message: str, step: str | None) -> dict:
    return lifecycle_data(installation, error={"code": code, "message": message, "step": step})


def plugin_health_changed(installation, previous: str | None, current: str) -> dict:
    return lifecycle_data(installation, version=installation.installed_version, previous=previous, current=current)


def job_data(installation) -> dict:
    """installation.requested: `operation` names the operation the job is for (older ones are stale)."""
    return {
        "installationId": installation.id,
        "pluginId": installation.plugin_id,
        "version": installation.version,
        "action": installation.action,
        "operation": installation.operation,
    }
