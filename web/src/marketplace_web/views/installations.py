"""Installing: the form generated from the configuration schema, a job's live page, one's installations."""

import json
import secrets
from urllib.parse import quote

import nodesemver
from flask import Blueprint, abort, jsonify, redirect, render_template, request, url_for

from .. import schema_form
from ..api import MarketplaceError, client
from .common import login_required

bp = Blueprint("installations", __name__)
STRATEGIES = ("rolling", "blue-green", "recreate")
FINAL = frozenset({"completed", "failed", "cancelled", "uninstalled"})
STATUSES = ("pending", "in_progress", "completed", "failed", "cancelling", "cancelled", "uninstalling", "uninstalled")


def _satisfies(version: str | None, wanted: str | None) -> bool | None:
    if not version or not wanted:
        return None
    try:
        return bool(nodesemver.satisfies(version, wanted, loose=True))
    except Exception:  # noqa: BLE001 - a range the library cannot read: unknown, not a crash
        return None


def compatibility_report(plugin: dict, version: dict | None, environment: str, namespace: str) -> dict:
    """What the environment says before anything is installed: its versions against the ranges, dependencies."""
    api = client()
    ranges = (version or {}).get("compatibility") or plugin.get("compatibility") or {}
    report = {"environment": None, "checks": [], "dependencies": [], "known": False}
    try:
        # Anyone signed in may read one environment; a new one is unknown (404) until an install creates it.
        report["environment"] = api.data("GET", f"/environments/{quote(environment, safe='')}")
        report["known"] = True
    except MarketplaceError:
        report["environment"] = None
    env = report["environment"] or {}
    for label, key, env_key in (("Backstage", "backstage", "backstageVersion"), ("Node.js", "node", "nodeVersion")):
        wanted = ranges.get(key)
        have = env.get(env_key)
        report["checks"].append({"label": label, "wanted": wanted, "have": have, "ok": _satisfies(have, wanted)})
    # The API gives them as [{"name", "version" (a range)}] (its DependencyDoc).
    dependencies = [(item["name"], item["version"])
                    for item in (version or {}).get("dependencies") or plugin.get("dependencies") or []]
    if dependencies:
        installed = {}
        try:
            for item in api.installations.list(environment=environment, namespace=namespace, status="completed",
                                               limit=100):
                installed[item.get("pluginName")] = item.get("installedVersion") or item.get("version")
        except MarketplaceError:
            installed = {}
        for name, wanted in dependencies:
            have = installed.get(name)
            report["dependencies"].append({"name": name, "wanted": wanted, "installed": have,
                                           "ok": _satisfies(have, wanted) if have else None})
    return report


def _choose_version(plugin: dict, wanted: str | None) -> dict | None:
    versions = [v for v in plugin.get("versions") or [] if not v.get("yanked")]
    if wanted:
        return next((v for v in versions if v.get("version") == wanted), None)
    return next((v for v in versions if v.get("version") == plugin.get("version")), versions[0] if versions else None)


@bp.route("/plugins/<path:name>/install", methods=["GET", "POST"])
@login_required
def install(name: str):
    """Choose version, environment, namespace, strategy; the configuration form; the checks; submit."""
    api = client()
    plugin = api.plugins.get(name)
    source = request.form if request.method == "POST" else request.args
    version = _choose_version(plugin, source.get("version"))
    choice = {"version": (version or {}).get("version", ""), "environment": source.get("environment", "production"),
              "namespace": source.get("namespace", "default"),
              "deploymentStrategy": source.get("deploymentStrategy", "rolling"),
              "mode": source.get("mode", "form")}
    configuration = plugin.get("configuration") or {}
    schema = configuration.get("schema") or {}
    fields = schema_form.fields_of(schema, configuration.get("examples"))
    defaults = configuration.get("defaults") or {}
    values = {f.name: defaults.get(f.name, f.default) for f in fields}
    raw_json = json.dumps({k: v for k, v in values.items() if v is not None}, indent=2)
    errors: dict[str, str] = {}
    api_error = None
    if request.method == "POST":
        try:
            if choice["mode"] == "json":
                raw_json = request.form.get("configuration_json", "")
                config = schema_form.read_json(raw_json)
            else:
                config = schema_form.read_form(fields, request.form)
            values.update(config)
            errors = schema_form.validate(schema, config)
        except schema_form.FormError as error:
            errors = error.errors
            config = None
        if request.form.get("check"):
            # "Check again": the report for the environment now chosen, the form kept as typed, nothing installed
            # (a POST, so that secrets typed into the form never travel in a URL).
            errors, config = {}, None
        elif version is None:
            errors["version"] = "Choose a version that can be installed."
        if choice["deploymentStrategy"] not in STRATEGIES:
            errors["deploymentStrategy"] = "Choose a strategy."
        if not errors and config is not None:
            try:
                started = api.plugins.install(plugin["id"], {
                    "version": choice["version"], "configuration": config, "environment": choice["environment"],
                    "namespace": choice["namespace"], "deploymentStrategy": choice["deploymentStrategy"]},
                    idempotency_key=request.form.get("idempotency_key") or None)
                return redirect(url_for("installations.detail", installation_id=started["installationId"]), 303)
            except MarketplaceError as error:
                if error.status in (400, 409, 422):
                    api_error = error
                    errors = schema_form.pointer_errors(error.details)
                else:
                    raise
    report = compatibility_report(plugin, version, choice["environment"], choice["namespace"])
    status = 400 if errors or api_error else 200
    return render_template("installations/install.html", plugin=plugin, version=version, choice=choice,
                           fields=fields, values=values, raw_json=raw_json, errors=errors, api_error=api_error,
                           report=report, strategies=STRATEGIES, idempotency_key=secrets.token_urlsafe(16)), status


@bp.get("/installations")
@login_required
def installation_list():
    """The signed-in person's installations with status and health."""
    status = request.args.get("status") or None
    if status and status not in STATUSES:
        status = None
    try:
        page_number = max(1, int(request.args.get("page", "1")))
    except ValueError:
        page_number = 1
    page = client().installations.list(status=status, page=page_number, limit=20)
    return render_template("installations/list.html", page=page, status=status, statuses=STATUSES)


def _progress(installation_id: str, cursor: str | None) -> dict:
    api = client()
    installation = api.installations.get(installation_id)
    logs = api.installations.logs(installation_id, cursor=cursor, limit=200)
    return {"installation": installation, "logs": list(logs.data), "cursor": logs.next_cursor or cursor,
            "final": installation.get("status") in FINAL}


@bp.get("/installations/<installation_id>")
@login_required
def detail(installation_id: str):
    """The job live: progress, current step, log lines (polled by installation.js), cancel; then the outcome."""
    state = _progress(installation_id, None)
    plugin = None
    if state["final"] and state["installation"].get("status") == "completed":
        try:
            plugin = client().plugins.get(state["installation"]["pluginId"])
        except MarketplaceError:
            plugin = None
    return render_template("installations/detail.html", installation=state["installation"], logs=state["logs"],
                           cursor=state["cursor"], final=state["final"], plugin=plugin)


@bp.get("/installations/<installation_id>/progress")
@login_required
def progress(installation_id: str):
    """JSON for the live page: the installation and the log lines after `cursor`."""
    state = _progress(installation_id, request.args.get("cursor") or None)
    item = state["installation"]
    return jsonify({"status": item.get("status"), "progress": item.get("progress"), "error": item.get("error"),
                    "final": state["final"], "cursor": state["cursor"],
                    "logs": [{"timestamp": line.get("timestamp"), "level": line.get("level"),
                              "step": line.get("step"), "message": line.get("message")} for line in state["logs"]]})


@bp.post("/installations/<installation_id>/<action>")
@login_required
def act(installation_id: str, action: str):
    """Cancel, upgrade or uninstall; back to the live page."""
    api = client()
    if action == "cancel":
        api.installations.cancel(installation_id)
        return redirect(url_for("installations.detail", installation_id=installation_id), 303)
    if action == "upgrade":
        started = api.installations.upgrade(installation_id, request.form.get("version") or None)
    elif action == "uninstall":
        started = api.installations.uninstall(installation_id)
    else:
        abort(404)
    target = (started or {}).get("installationId") or installation_id
    return redirect(url_for("installations.detail", installation_id=target), 303)
