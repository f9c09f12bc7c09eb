"""Environments: the portals plugins are installed into, with the versions compatibility is checked against."""

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from marketplace_shared.clock import utcnow
from marketplace_shared.errors import VALIDATION_ERROR, ApiError

from .errors import ENVIRONMENT_EXISTS, ENVIRONMENT_NOT_FOUND
from .models import Environment
from .versions import semver


def _check_versions(backstage_version: str | None, node_version: str | None) -> None:
    fields = {}
    if backstage_version is not None and semver(backstage_version) is None:
        fields["backstageVersion"] = ["Not a semantic version (e.g. 1.35.0)."]
    if node_version is not None and semver(node_version) is None:
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
