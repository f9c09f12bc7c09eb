"""Request and response schemas of the installation routes (marshmallow)."""

import re

import marshmallow as ma
from marshmallow import fields, validate

from marketplace_shared.api import JsonBoolean
from marketplace_shared.pagination import PageArgsSchema, page_schema

from .deployer import STRATEGIES
from .services import STATES_DESCRIPTION, STATUSES

DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")


# A validator apispec documents as the field's `pattern`.
dns_label = validate.Regexp(DNS_LABEL, error="Must be a DNS label: 1-63 lower-case letters, digits or '-', "
                                               "starting and ending with a letter or digit.")
STATUS_LIST = rf"^\s*(?:{'|'.join(STATUSES)})\s*(?:,\s*(?:{'|'.join(STATUSES)})\s*)*$"


class InstallSchema(ma.Schema):
    version = fields.String(validate=validate.Length(min=1, max=64),
                            metadata={"description": "A version or an npm range; default: the latest"})
    configuration = fields.Dict(keys=fields.String(), load_default=dict,
                                metadata={"description": "Checked against the version's JSON Schema"})
    environment = fields.String(required=True, validate=dns_label)
    namespace = fields.String(load_default="default", validate=dns_label)
    deploymentStrategy = fields.String(load_default="rolling", validate=validate.OneOf(STRATEGIES))
    autoStart = JsonBoolean(load_default=True)


class UpgradeSchema(ma.Schema):
    version = fields.String(validate=validate.Length(min=1, max=64),
                            metadata={"description": "A version or an npm range; default: the latest"})
    configuration = fields.Dict(keys=fields.String(), allow_none=True)
    deploymentStrategy = fields.String(validate=validate.OneOf(STRATEGIES))
    autoStart = JsonBoolean()


class InstallationQueryArgsSchema(PageArgsSchema):
    plugin = fields.String(metadata={"description": "Plugin id or name"})
    environment = fields.String()
    namespace = fields.String()
    status = fields.String(validate=validate.Regexp(STATUS_LIST, error=f"Comma-separated: {', '.join(STATUSES)}"),
                           metadata={"description": f"Comma-separated: {', '.join(STATUSES)}"})
    accountId = fields.String(metadata={"description": "Administrators only: whose installations"})

    @ma.post_load
    def split_status(self, data, **_kwargs):
        if data.get("status"):
            statuses = [item.strip() for item in data["status"].split(",") if item.strip()]
            unknown = [item for item in statuses if item not in STATUSES]
            if unknown:
                raise ma.ValidationError(f"Unknown status: {', '.join(unknown)}", "status")
            data["status"] = statuses
        return data


class LogQueryArgsSchema(ma.Schema):
    cursor = fields.String(validate=validate.Regexp(r"^[0-9]{0,18}$", error="Not a cursor returned by this endpoint."),
                           metadata={"description": "The `nextCursor` of the previous page: lines after it"})
    limit = fields.Integer(load_default=100, validate=validate.Range(min=1, max=1000))

    @ma.post_load
    def parse_cursor(self, data, **_kwargs):
        cursor = data.get("cursor")
        if cursor:
            data["after"] = int(cursor)
        else:
            data["after"] = None
        return data


class EnvironmentCreateSchema(ma.Schema):
    name = fields.String(required=True, validate=dns_label)
    backstageVersion = fields.String(required=True, validate=validate.Length(min=1, max=64))
    nodeVersion = fields.String(required=True, validate=validate.Length(min=1, max=64))


class EnvironmentUpdateSchema(ma.Schema):
    backstageVersion = fields.String(validate=validate.Length(min=1, max=64))
    nodeVersion = fields.String(validate=validate.Length(min=1, max=64))


# -- responses -------------------------------------------------------------------
class ProgressSchema(ma.Schema):
    current = fields.Integer()
    total = fields.Integer()
    percentage = fields.Integer()
    currentStep = fields.String()


class InstallationLinksSchema(ma.Schema):
    status = fields.String()
    logs = fields.String()
    cancel = fields.String()


class AcceptedDetailsSchema(ma.Schema):
    version = fields.String()
    environment = fields.String()
    namespace = fields.String()
    deploymentStrategy = fields.String()


class AcceptedSchema(ma.Schema):
    installationId = fields.String()
    pluginId = fields.String()
    status = fields.String(metadata={"enum": list(STATUSES), "example": "in_progress",
                                     "description": "`in_progress` for an accepted install or upgrade, `uninstalling` "
                                                    "for an uninstall. " + STATES_DESCRIPTION})
    message = fields.String()
    details = fields.Nested(AcceptedDetailsSchema)
    progress = fields.Nested(ProgressSchema)
    estimatedTime = fields.Integer(metadata={"description": "Seconds"})
    links = fields.Nested(InstallationLinksSchema)


class AcceptedResponseSchema(ma.Schema):
    data = fields.Nested(AcceptedSchema)


class InstallationErrorSchema(ma.Schema):
    code = fields.String()
    message = fields.String()
    step = fields.String(allow_none=True)
    details = fields.Dict()


class InstallationSchema(ma.Schema):
    installationId = fields.String()
    pluginId = fields.String()
    status = fields.String(metadata={"enum": list(STATUSES), "description": STATES_DESCRIPTION})
    progress = fields.Nested(ProgressSchema)
    startedAt = fields.String(allow_none=True)
    completedAt = fields.String(allow_none=True)
    duration = fields.Integer(allow_none=True, metadata={"description": "Seconds"})
    pluginName = fields.String()
    action = fields.String(metadata={"enum": ["install", "upgrade", "uninstall"]})
    version = fields.String()
    installedVersion = fields.String(allow_none=True)
    previousVersion = fields.String(allow_none=True)
    environment = fields.String()
    namespace = fields.String()
    deploymentStrategy = fields.String()
    autoStart = fields.Boolean()
    configuration = fields.Dict()
    accountId = fields.String()
    health = fields.String(allow_none=True, metadata={"enum": ["healthy", "degraded", "unhealthy"]})
    healthDetails = fields.List(fields.String())
    healthCheckedAt = fields.String(allow_none=True)
    error = fields.Nested(InstallationErrorSchema, allow_none=True)
    attempts = fields.Integer()
    createdAt = fields.String()
    updatedAt = fields.String()
    links = fields.Nested(InstallationLinksSchema)


class InstallationResponseSchema(ma.Schema):
    data = fields.Nested(InstallationSchema)


InstallationListSchema = page_schema("InstallationListSchema", InstallationSchema)


class LogLineSchema(ma.Schema):
    id = fields.String()
    timestamp = fields.String()
    level = fields.String()
    step = fields.String(allow_none=True)
    message = fields.String()


class LogCursorSchema(ma.Schema):
    limit = fields.Integer()
    cursor = fields.String(allow_none=True)
    nextCursor = fields.String(allow_none=True, metadata={"description": "Pass as `cursor` to follow the log"})
    hasMore = fields.Boolean()


class LogListSchema(ma.Schema):
    data = fields.List(fields.Nested(LogLineSchema))
    pagination = fields.Nested(LogCursorSchema)
    links = fields.Dict(keys=fields.String(), values=fields.String())
    installation = fields.Dict(metadata={"description": "status and progress, to know when to stop following"})


class EnvironmentSchema(ma.Schema):
    name = fields.String()
    backstageVersion = fields.String()
    nodeVersion = fields.String()
    createdAt = fields.String()
    updatedAt = fields.String()


class EnvironmentResponseSchema(ma.Schema):
    data = fields.Nested(EnvironmentSchema)


EnvironmentListSchema = page_schema("EnvironmentListSchema", EnvironmentSchema)
