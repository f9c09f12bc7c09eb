"""POST /plugins/{id}/install and the routes around it, with the job run in-process (fake downloader)."""

import json

import install_testkit as factories
from sqlalchemy import select

from install_service.models import Installation, OutboxEvent

PREFIX = "/api/marketplace/v1"


def install(client, config, plugin, body=None, account="acct_ann", **kwargs):
    body = {"environment": "production", "namespace": "team-a"} if body is None else body
    return client.post(f"{PREFIX}/plugins/{plugin}/install", json=body,
                       headers={**factories.headers(config, account), **kwargs.pop("headers", {})}, **kwargs)


def run_jobs(database, runner):
    """Run the queued installation.requested jobs, as the worker would."""
    with database.session() as session:
        jobs = session.scalars(select(OutboxEvent).where(OutboxEvent.event_type == "installation.requested",
                                                         OutboxEvent.published_at.is_(None))).all()
        payloads = [job.payload for job in jobs]
        for job in jobs:
            session.delete(job)
        session.commit()
    for payload in payloads:
        runner.run(payload)


def events_of(database, event_type):
    with database.session() as session:
        return [row.payload["data"] for row in session.scalars(
            select(OutboxEvent).where(OutboxEvent.event_type == event_type).order_by(OutboxEvent.id))]


def test_install_answers_202_in_the_spec_shape_and_queues_a_job(client, config, catalog, database):
    plugin = catalog.publish("catalog-backend", ["1.0.0", "1.2.3"])
    response = install(client, config, plugin, {"version": "1.2.3", "configuration": {"apiUrl": "x"},
                                                "environment": "production", "namespace": "backstage-plugins",
                                                "deploymentStrategy": "blue-green", "autoStart": True})
    assert response.status_code == 202, response.get_json()
    data = response.get_json()["data"]
    assert set(data) == {"installationId", "pluginId", "status", "message", "details", "progress", "estimatedTime",
                         "links"}
    assert data["installationId"].startswith("install_")
    assert data["pluginId"] == plugin and data["status"] == "in_progress"  # the spec's 202
    assert data["message"] == "Installation of plugin 'catalog-backend' has been initiated"
    assert data["details"] == {"version": "1.2.3", "environment": "production", "namespace": "backstage-plugins",
                               "deploymentStrategy": "blue-green"}
    assert data["progress"] == {"current": 0, "total": 100, "percentage": 0,
                                "currentStep": "Initializing installation"}
    assert isinstance(data["estimatedTime"], int)
    status_link = f"{PREFIX}/installations/{data['installationId']}"
    assert data["links"] == {"status": status_link, "logs": f"{status_link}/logs", "cancel": f"{status_link}/cancel"}
    assert response.headers["Location"] == status_link
    jobs = events_of(database, "installation.requested")
    assert jobs == [{"installationId": data["installationId"], "pluginId": plugin, "version": "1.2.3",
                     "action": "install", "operation": 1}]


def test_install_by_name_defaults_to_the_latest_release(client, config, catalog):
    catalog.publish("latest-check", ["1.0.0", "1.10.0", "1.9.0", "2.0.0-beta.1"])
    response = install(client, config, "latest-check", {"environment": "dev"})
    assert response.status_code == 202
    assert response.get_json()["data"]["details"]["version"] == "1.10.0"
    assert response.get_json()["data"]["details"]["namespace"] == "default"


def test_unknown_plugin_and_version_are_404(client, config, catalog):
    plugin = catalog.publish("known")
    response = install(client, config, "plugin_nope")
    assert response.status_code == 404
    assert response.get_json()["error"]["code"] == "PLUGIN_NOT_FOUND"
    response = install(client, config, plugin, {"version": "9.9.9", "environment": "dev"})
    assert response.status_code == 404
    assert response.get_json()["error"]["code"] == "VERSION_NOT_FOUND"


def test_unpublished_plugin_is_404(client, config, catalog):
    plugin = catalog.publish("gone")
    catalog.apply(factories.unpublished(plugin))
    assert install(client, config, plugin).get_json()["error"]["code"] == "PLUGIN_NOT_FOUND"


def test_yanked_version_is_refused_and_not_picked_as_latest(client, config, catalog):
    plugin = catalog.publish("yanky", ["1.0.0", "1.1.0"])
    catalog.apply(factories.version_yanked(plugin, "1.1.0", "security hole"))
    response = install(client, config, plugin, {"version": "1.1.0", "environment": "dev"})
    assert response.status_code == 409
    error = response.get_json()["error"]
    assert error["code"] == "VERSION_YANKED" and error["details"]["reason"] == "security hole"
    response = install(client, config, plugin, {"environment": "dev"})
    assert response.get_json()["data"]["details"]["version"] == "1.0.0"


def test_yank_before_publish_still_counts(client, config, catalog):
    plugin = factories.new_plugin_id()
    catalog.apply(factories.version_yanked(plugin, "1.0.0"))
    catalog.publish("early-yank", ["1.0.0"], plugin_id=plugin)
    assert install(client, config, plugin, {"version": "1.0.0", "environment": "dev"}).status_code == 409


def test_configuration_errors_carry_json_pointers(client, config, catalog):
    plugin = catalog.publish("configured", schema=factories.SCHEMA)
    response = install(client, config, plugin, {"environment": "dev",
                                                "configuration": {"retries": -1, "extra": True}})
    assert response.status_code == 400
    error = response.get_json()["error"]
    assert error["code"] == "VALIDATION_ERROR"
    pointers = sorted(item["pointer"] for item in error["details"]["errors"])
    assert pointers == ["/configuration", "/configuration/apiUrl", "/configuration/retries"]


def test_names_must_be_dns_labels_and_unknown_fields_are_refused(client, config, catalog):
    plugin = catalog.publish("dns")
    response = install(client, config, plugin, {"environment": "Prod_1", "namespace": "-x"})
    assert response.status_code == 400
    assert set(response.get_json()["error"]["details"]["fields"]) == {"environment", "namespace"}
    response = install(client, config, plugin, {"environment": "dev", "colour": "red"})
    assert response.status_code == 400
    assert "colour" in response.get_json()["error"]["details"]["fields"]
    response = install(client, config, plugin, {"environment": "dev", "deploymentStrategy": "yolo"})
    assert "deploymentStrategy" in response.get_json()["error"]["details"]["fields"]


def test_incompatible_environment_is_409_with_the_ranges(client, config, catalog):
    plugin = catalog.publish("picky", backstage="^1.40.0", node=">=22")
    admin = factories.headers(config, "acct_admin", "admin")
    assert client.post(f"{PREFIX}/environments", json={"name": "old", "backstageVersion": "1.35.2",
                                                       "nodeVersion": "20.11.0"}, headers=admin).status_code == 201
    response = install(client, config, plugin, {"environment": "old"})
    assert response.status_code == 409
    error = response.get_json()["error"]
    assert error["code"] == "INCOMPATIBLE_ENVIRONMENT"
    assert error["details"]["clashes"] == [
        {"component": "backstage", "required": "^1.40.0", "actual": "1.35.2"},
        {"component": "node", "required": ">=22", "actual": "20.11.0"}]
    patched = client.patch(f"{PREFIX}/environments/old", json={"backstageVersion": "1.41.0", "nodeVersion": "22.1.0"},
                           headers=admin)
    assert patched.status_code == 200
    assert install(client, config, plugin, {"environment": "old"}).status_code == 202


def test_unknown_environment_is_created_with_the_defaults(client, config, catalog):
    plugin = catalog.publish("auto-env")
    assert install(client, config, plugin, {"environment": "fresh"}).status_code == 202
    admin = factories.headers(config, "acct_admin", "admin")
    body = client.get(f"{PREFIX}/environments/fresh", headers=admin).get_json()["data"]
    assert (body["backstageVersion"], body["nodeVersion"]) == (config.DEFAULT_BACKSTAGE_VERSION,
                                                               config.DEFAULT_NODE_VERSION)
    assert client.get(f"{PREFIX}/environments", headers=factories.headers(config)).status_code == 403


def test_anyone_signed_in_may_read_one_environment_but_not_list_or_change_them(client, config):
    """The pre-install check needs the environment's versions for every user; the rest stays with admins."""
    admin, user = factories.headers(config, "acct_admin", "admin"), factories.headers(config)
    created = client.post(f"{PREFIX}/environments", headers=admin,
                          json={"name": "staging", "backstageVersion": "1.40.0", "nodeVersion": "20.11.0"})
    assert created.status_code == 201
    read = client.get(f"{PREFIX}/environments/staging", headers=user)
    assert read.status_code == 200 and read.get_json()["data"] == created.get_json()["data"]
    assert client.get(f"{PREFIX}/environments/missing", headers=user).get_json()["error"]["code"] == \
        "ENVIRONMENT_NOT_FOUND"
    assert client.get(f"{PREFIX}/environments/staging").status_code == 401
    assert client.get(f"{PREFIX}/environments", headers=user).status_code == 403
    assert client.patch(f"{PREFIX}/environments/staging", headers=user, json={"nodeVersion": "22.1.0"}).status_code \
        == 403
    assert client.post(f"{PREFIX}/environments", headers=user,
                       json={"name": "mine", "backstageVersion": "1.40.0", "nodeVersion": "20.11.0"}).status_code == 403


def test_second_install_in_the_same_place_points_to_the_upgrade(client, config, catalog):
    plugin = catalog.publish("twice")
    first = install(client, config, plugin).get_json()["data"]["installationId"]
    response = install(client, config, plugin)
    assert response.status_code == 409
    error = response.get_json()["error"]
    assert error["code"] == "ALREADY_INSTALLED"
    assert error["details"]["upgrade"] == {"method": "PATCH", "href": f"{PREFIX}/installations/{first}"}
    other_namespace = install(client, config, plugin, {"environment": "production", "namespace": "team-b"})
    assert other_namespace.status_code == 202


def test_idempotency_key_replays_the_same_installation(client, config, catalog, database):
    plugin = catalog.publish("idem")
    first = install(client, config, plugin, headers={"Idempotency-Key": "k1"})
    again = install(client, config, plugin, headers={"Idempotency-Key": "k1"})
    assert first.status_code == again.status_code == 202
    assert first.get_json()["data"]["installationId"] == again.get_json()["data"]["installationId"]
    assert len(events_of(database, "installation.requested")) == 1
    different = install(client, config, plugin, {"environment": "other"}, headers={"Idempotency-Key": "k1"})
    assert different.status_code == 409
    assert different.get_json()["error"]["code"] == "IDEMPOTENCY_KEY_REUSED"


def test_installing_needs_an_identity(client, config, catalog):
    plugin = catalog.publish("anon")
    response = client.post(f"{PREFIX}/plugins/{plugin}/install", json={"environment": "dev"})
    assert response.status_code == 401


def test_install_runs_to_completed_and_writes_dynamic_plugins_yaml(client, config, catalog, database, runner):
    plugin = catalog.publish("runner-plugin", schema=factories.SCHEMA)
    response = install(client, config, plugin, {"environment": "production", "namespace": "team-a",
                                                "configuration": {"apiUrl": "https://api"}})
    installation_id = response.get_json()["data"]["installationId"]
    run_jobs(database, runner)
    headers = factories.headers(config)
    data = client.get(f"{PREFIX}/installations/{installation_id}", headers=headers).get_json()["data"]
    assert data["status"] == "completed", data
    assert data["progress"] == {"current": 100, "total": 100, "percentage": 100,
                                "currentStep": "Installation completed"}
    assert data["startedAt"] and data["completedAt"] and isinstance(data["duration"], int)
    assert data["installedVersion"] == "1.0.0" and data["health"] == "healthy"
    document = json.loads((config_root(config) / "production/team-a/dynamic-plugins.yaml").read_text())
    assert document["plugins"] == [{"package": "./plugins/runner-plugin", "integrity": data_integrity(database),
                                    "disabled": False, "pluginConfig": {"apiUrl": "https://api"}}]
    assert (config_root(config) / "production/team-a/plugins/runner-plugin/dist/index.js").is_file()
    installed = events_of(database, "plugin.installed")
    assert installed == [{"pluginId": plugin, "version": "1.0.0", "installationId": installation_id,
                          "environment": "production", "namespace": "team-a", "accountId": "acct_ann"}]
    logs = client.get(f"{PREFIX}/installations/{installation_id}/logs?limit=3", headers=headers).get_json()
    assert len(logs["data"]) == 3 and logs["pagination"]["hasMore"] is True
    rest = client.get(f"{PREFIX}/installations/{installation_id}/logs?cursor={logs['pagination']['nextCursor']}",
                      headers=headers).get_json()
    steps = [line["step"] for line in logs["data"] + rest["data"]]
    assert steps[0] == "queued" and steps[-1] == "done"
    assert [s for s in ("resolve", "download", "validate", "deploy", "health", "activate") if s not in steps] == []
    stamps = [line["timestamp"] for line in logs["data"] + rest["data"]]
    assert stamps == sorted(stamps)
    assert rest["pagination"]["hasMore"] is False


def config_root(config):
    from pathlib import Path

    return Path(config.INSTALL_ROOT)


def data_integrity(database):
    with database.session() as session:
        return session.scalars(select(Installation.integrity)).first()


def test_others_get_404_and_admins_see_everything(client, config, catalog):
    plugin = catalog.publish("private")
    installation_id = install(client, config, plugin).get_json()["data"]["installationId"]
    bob = factories.headers(config, "acct_bob")
    assert client.get(f"{PREFIX}/installations/{installation_id}", headers=bob).status_code == 404
    assert client.post(f"{PREFIX}/installations/{installation_id}/cancel", headers=bob).status_code == 404
    assert client.get(f"{PREFIX}/installations", headers=bob).get_json()["pagination"]["total"] == 0
    admin = factories.headers(config, "acct_admin", "admin")
    assert client.get(f"{PREFIX}/installations/{installation_id}", headers=admin).status_code == 200
    listed = client.get(f"{PREFIX}/installations?plugin=private&status=pending,in_progress&environment=production",
                        headers=admin).get_json()
    assert [row["installationId"] for row in listed["data"]] == [installation_id]
    assert client.get(f"{PREFIX}/installations?status=bogus", headers=admin).status_code == 400
    assert client.get(f"{PREFIX}/installations/{installation_id}").status_code == 401


def test_openapi_documents_every_route(client):
    paths = client.get("/openapi.json").get_json()["paths"]
    assert {"/api/marketplace/v1/plugins/{plugin_id}/install", "/api/marketplace/v1/installations",
            "/api/marketplace/v1/installations/{installation_id}",
            "/api/marketplace/v1/installations/{installation_id}/logs",
            "/api/marketplace/v1/installations/{installation_id}/cancel",
            "/api/marketplace/v1/environments", "/api/marketplace/v1/environments/{name}"} <= set(paths)
    assert {"get", "patch", "delete"} <= set(paths["/api/marketplace/v1/installations/{installation_id}"])
