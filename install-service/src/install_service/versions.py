"""What can be installed: plugins and versions from the catalog's read model, version resolution, and the
checks of a version against a configuration and an environment."""

import logging

import nodesemver
from jsonschema import exceptions as jsonschema_exceptions
from jsonschema import validators
from sqlalchemy import select
from sqlalchemy.orm import Session

from marketplace_shared.errors import PLUGIN_NOT_FOUND, VALIDATION_ERROR, ApiError

from .errors import INCOMPATIBLE_ENVIRONMENT, VERSION_NOT_FOUND, VERSION_YANKED
from .models import CatalogPlugin, CatalogVersion, Environment

log = logging.getLogger(__name__)


def find_plugin(session: Session, plugin_ref: str) -> CatalogPlugin:
    """A published plugin by id or by name, else 404 PLUGIN_NOT_FOUND."""
    plugin = session.get(CatalogPlugin, plugin_ref)
    if plugin is None:
        plugin = session.scalars(select(CatalogPlugin).where(CatalogPlugin.name == plugin_ref)
                                 .order_by(CatalogPlugin.updated_at.desc())).first()
    if plugin is None or not plugin.is_published:
        raise ApiError(404, PLUGIN_NOT_FOUND, f"Plugin with ID '{plugin_ref}' not found")
    return plugin


def semver(value: str) -> str | None:
    try:
        parsed = nodesemver.valid(value, loose=True)
    except (ValueError, TypeError):
        return None
    return None if parsed is None else str(parsed.version)


def semver_range(value) -> str | None:
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
    return row.normalized or semver(row.version)


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
        if semver(wanted) is None and semver_range(wanted) is not None:
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
    if row is None and semver(wanted) is not None:
        row = session.scalars(select(CatalogVersion).where(CatalogVersion.plugin_id == plugin_id,
                                                           CatalogVersion.normalized == semver(wanted))
                              .order_by(CatalogVersion.published.desc())).first()
    return row


# -- checks of a version -------------------------------------------------------
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
        normalized = semver_range(required)
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
