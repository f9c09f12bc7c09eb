"""Installations routes: thin views over the use cases (services.py, environments.py) and representations.py.

Who may see or act on an installation: the account that installed it, or an administrator. Anyone else
gets 404 INSTALLATION_NOT_FOUND, so that installations of other accounts are not disclosed.
"""

from urllib.parse import urlencode

from flask import current_app, request

from marketplace_shared.api import API_PREFIX, Blueprint
from marketplace_shared.db import request_session
from marketplace_shared.errors import VALIDATION_ERROR, ApiError, validation_error
from marketplace_shared.identity import require_identity, requires
from marketplace_shared.pagination import PageArgsSchema, page_body

from . import environments, representations, services
from .schemas import (
    AcceptedResponseSchema,
    EnvironmentCreateSchema,
    EnvironmentListSchema,
    EnvironmentResponseSchema,
    EnvironmentUpdateSchema,
    InstallationListSchema,
    InstallationQueryArgsSchema,
    InstallationResponseSchema,
    InstallSchema,
    LogListSchema,
    LogQueryArgsSchema,
    UpgradeSchema,
)

blp = Blueprint("installs", __name__, url_prefix=API_PREFIX, description="Installations")
environments_blp = Blueprint("environments", __name__, url_prefix=API_PREFIX,
                             description="Environments plugins are installed into (administrators; "
                                         "anyone signed in may read one)")

IDEMPOTENCY_HEADER = "Idempotency-Key"


def _config():
    return current_app.extensions["service_config"]


def _accepted(installation, message: str, status: int = 202):
    session = request_session()
    estimated = services.estimated_seconds(session, _config().DEFAULT_ESTIMATED_SECONDS)
    body = {"data": representations.accepted_view(installation, message, estimated)}
    return body, status, {"Location": f"{API_PREFIX}/installations/{installation.id}"}


@blp.route("/plugins/<plugin_id>/install", methods=["POST"])
@requires("user")
@blp.arguments(InstallSchema())
@blp.response(202, AcceptedResponseSchema)
@blp.alt_response(400, description="Invalid body or configuration (VALIDATION_ERROR with JSON pointers)")
@blp.alt_response(404, description="PLUGIN_NOT_FOUND or VERSION_NOT_FOUND")
@blp.alt_response(409, description="VERSION_YANKED, INCOMPATIBLE_ENVIRONMENT, ALREADY_INSTALLED or "
                                   "IDEMPOTENCY_KEY_REUSED")
def install_plugin(body, plugin_id):
    """Install a plugin into an environment (asynchronous; follow the links)"""
    identity = require_identity("user")
    key = request.headers.get(IDEMPOTENCY_HEADER)
    if key is not None and not (1 <= len(key) <= 255):
        raise validation_error("Idempotency-Key must be 1 to 255 characters",
                               {"fields": {IDEMPOTENCY_HEADER: ["Must be 1 to 255 characters."]}})
    session = request_session()
    installation, _created = services.request_install(session, _config(), identity, plugin_id, body, key or None)
    session.commit()
    return _accepted(installation, f"Installation of plugin '{installation.plugin_name}' has been initiated")


@blp.route("/installations", methods=["GET"])
@requires("user")
@blp.arguments(InstallationQueryArgsSchema(), location="query")
@blp.response(200, InstallationListSchema)
def list_installations(args):
    """List installations (your own; administrators see all)"""
    identity = require_identity("user")
    page, limit = args.pop("page"), args.pop("limit")
    rows, total = services.list_installations(request_session(), identity, args, page, limit)
    return page_body([representations.installation_view(row) for row in rows], page, limit, total)


@blp.route("/installations/<installation_id>", methods=["GET"])
@blp.response(200, InstallationResponseSchema)
def get_installation(installation_id):
    """Check installation status"""
    identity = require_identity("user")
    installation = services.get_installation(request_session(), installation_id, identity)
    return {"data": representations.installation_view(installation)}


@blp.route("/installations/<installation_id>", methods=["PATCH"])
@requires("user")
@blp.arguments(UpgradeSchema(), required=False)
@blp.response(202, AcceptedResponseSchema)
def upgrade_installation(body, installation_id):
    """Upgrade (or reconfigure) an installation: a new job, like an install"""
    identity = require_identity("user")
    session = request_session()
    installation = services.request_upgrade(session, _config(), installation_id, identity, body)
    session.commit()
    return _accepted(installation, f"Upgrade of plugin '{installation.plugin_name}' from "
                                   f"{installation.previous_version} to {installation.version} has been initiated")


@blp.route("/installations/<installation_id>", methods=["DELETE"])
@blp.response(202, AcceptedResponseSchema)
def uninstall_installation(installation_id):
    """Uninstall a plugin (asynchronous)"""
    identity = require_identity("user")
    session = request_session()
    installation = services.request_uninstall(session, installation_id, identity)
    session.commit()
    return _accepted(installation, f"Uninstall of plugin '{installation.plugin_name}' has been initiated")


@blp.route("/installations/<installation_id>/cancel", methods=["POST"])
@blp.response(202, InstallationResponseSchema)
@blp.alt_response(409, description="INSTALLATION_FINISHED: nothing left to cancel")
def cancel_installation(installation_id):
    """Cancel an installation or upgrade (stops at the next step and rolls back)"""
    identity = require_identity("user")
    session = request_session()
    installation = services.cancel_installation(session, installation_id, identity)
    session.commit()
    return {"data": representations.installation_view(installation)}


@blp.route("/installations/<installation_id>/telemetry", methods=["POST"])
@blp.response(200, InstallationResponseSchema)
def installation_telemetry(installation_id):
    """Report that the installed plugin is running (feeds the health check)"""
    identity = require_identity("user")
    session = request_session()
    installation = services.record_telemetry(session, installation_id, identity)
    session.commit()
    return {"data": representations.installation_view(installation)}


@blp.route("/installations/<installation_id>/logs", methods=["GET"])
@requires("user")
@blp.arguments(LogQueryArgsSchema(), location="query")
@blp.response(200, LogListSchema)
def installation_logs(args, installation_id):
    """Installation log lines, oldest first; follow with `cursor`"""
    identity = require_identity("user")
    session = request_session()
    installation = services.get_installation(session, installation_id, identity)
    lines, has_more = services.list_logs(session, installation, args["after"], args["limit"])
    next_cursor = str(lines[-1].id) if lines else (str(args["after"]) if args["after"] is not None else None)
    path = f"{API_PREFIX}/installations/{installation_id}/logs"
    links = {"self": f"{path}?{urlencode({k: v for k, v in request.args.items()})}".rstrip("?")}
    if next_cursor is not None:
        links["next"] = f"{path}?{urlencode({'cursor': next_cursor, 'limit': args['limit']})}"
    return {
        "data": [representations.log_view(line) for line in lines],
        "pagination": {"limit": args["limit"], "cursor": args.get("cursor"), "nextCursor": next_cursor,
                       "hasMore": has_more},
        "links": links,
        "installation": {"status": installation.status,
                         "progress": representations.progress_block(installation)},
    }


# -- environments ---------------------------------------------------------------
@environments_blp.route("/environments", methods=["GET"])
@requires("admin")
@environments_blp.arguments(PageArgsSchema(), location="query")
@environments_blp.response(200, EnvironmentListSchema)
def list_environments(args):
    """List environments"""
    require_identity("admin")
    page, limit = args["page"], args["limit"]
    rows, total = environments.list_environments(request_session(), page, limit)
    return page_body([representations.environment_view(row) for row in rows], page, limit, total)


@environments_blp.route("/environments", methods=["POST"])
@requires("admin")
@environments_blp.arguments(EnvironmentCreateSchema())
@environments_blp.response(201, EnvironmentResponseSchema)
def create_environment(body):
    """Create an environment"""
    require_identity("admin")
    session = request_session()
    environment = environments.create_environment(session, body["name"], body["backstageVersion"],
                                                  body["nodeVersion"])
    session.commit()
    return {"data": representations.environment_view(environment)}, 201, {
        "Location": f"{API_PREFIX}/environments/{environment.name}"}


@environments_blp.route("/environments/<name>", methods=["GET"])
@requires("user")
@environments_blp.response(200, EnvironmentResponseSchema)
@environments_blp.alt_response(404, description="ENVIRONMENT_NOT_FOUND")
def get_environment(name):
    """Get an environment

    Any signed-in account may read one environment's Backstage and Node.js versions, to check a plugin's
    compatibility ranges before installing it (the web portal's install page does); an anonymous caller
    gets 401. Listing, creating and changing environments is for administrators.
    """
    return {"data": representations.environment_view(environments.get_environment(request_session(), name))}


@environments_blp.route("/environments/<name>", methods=["PATCH"])
@requires("admin")
@environments_blp.arguments(EnvironmentUpdateSchema(), required=False)
@environments_blp.response(200, EnvironmentResponseSchema)
def update_environment(body, name):
    """Change an environment's Backstage or Node.js version"""
    require_identity("admin")
    if not body:
        raise ApiError(400, VALIDATION_ERROR, "Nothing to change: give backstageVersion and/or nodeVersion",
                       {"fields": {"_schema": ["Give backstageVersion and/or nodeVersion."]}})
    session = request_session()
    environment = environments.update_environment(session, name, body)
    session.commit()
    return {"data": representations.environment_view(environment)}
