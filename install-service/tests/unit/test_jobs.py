"""The job runner with the filesystem deployer and a fake downloader: steps, cancel, failure, crash, lifecycle."""

import json
import socket
import subprocess
import sys
from datetime import timedelta

import install_testkit as factories
import pytest
from sqlalchemy import select, update

from install_service.deployer import FilesystemDeployer, Target
from install_service.jobs import JobRunner
from install_service.maintenance import check_health, recover_stalled
from install_service.models import Installation, OutboxEvent
from marketplace_shared.outbox import utcnow

PREFIX = "/api/marketplace/v1"


def post_install(client, config, plugin, **body):
    body = {"environment": "production", "namespace": "team-a", **body}
    response = client.post(f"{PREFIX}/plugins/{plugin}/install", json=body, headers=factories.headers(config))
    assert response.status_code == 202, response.get_json()
    return response.get_json()["data"]["installationId"]


def take_jobs(database):
    with database.session() as session, session.begin():
        rows = session.scalars(select(OutboxEvent).where(OutboxEvent.event_type == "installation.requested",
                                                         OutboxEvent.published_at.is_(None))).all()
        for row in rows:
            row.published_at = utcnow()
        return [row.payload for row in rows]


def run_all(database, runner):
    for job in take_jobs(database):
        runner.run(job)


def get(client, config, installation_id):
    return client.get(f"{PREFIX}/installations/{installation_id}", headers=factories.headers(config)).get_json()["data"]


def events_of(database, event_type):
    with database.session() as session:
        return [row.payload["data"] for row in session.scalars(
            select(OutboxEvent).where(OutboxEvent.event_type == event_type).order_by(OutboxEvent.id))]


def snapshot(root):
    base = root / "production"
    if not base.exists():
        return {}
    return {str(p.relative_to(root)): (p.read_bytes() if p.is_file() else None) for p in sorted(base.rglob("*"))}


def yaml_entries(config):
    from pathlib import Path

    path = Path(config.INSTALL_ROOT) / "production/team-a/dynamic-plugins.yaml"
    return json.loads(path.read_text())["plugins"] if path.exists() else []


def dead_owner() -> str:
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return f"{socket.gethostname()}|{process.pid}|gone|r1"


class Crash(BaseException):
    """Stands for SIGKILL: nothing after it runs in the job."""


class CrashingDeployer(FilesystemDeployer):
    def __init__(self, root, crash_in: str):
        super().__init__(root)
        self.crash_in = crash_in

    def activate(self, target, spec, strategy):
        super().activate(target, spec, strategy)
        if self.crash_in == "activate":
            raise Crash()

    def deploy(self, target, spec, strategy):
        super().deploy(target, spec, strategy)
        if self.crash_in == "deploy":
            raise Crash()


def test_upgrade_then_uninstall(client, config, catalog, database, runner):
    plugin = catalog.publish("lifecycle", ["1.0.0", "2.0.0"], schema=factories.SCHEMA)
    installation_id = post_install(client, config, plugin, version="1.0.0", configuration={"apiUrl": "a"})
    run_all(database, runner)
    response = client.patch(f"{PREFIX}/installations/{installation_id}", json={"version": "2.0.0",
                            "configuration": {"apiUrl": "b"}, "deploymentStrategy": "blue-green"},
                            headers=factories.headers(config))
    assert response.status_code == 202, response.get_json()
    assert response.get_json()["data"]["status"] == "in_progress"
    run_all(database, runner)
    data = get(client, config, installation_id)
    assert (data["status"], data["installedVersion"], data["previousVersion"]) == ("completed", "2.0.0", "1.0.0")
    assert yaml_entries(config)[0]["pluginConfig"] == {"apiUrl": "b"}
    assert yaml_entries(config)[0]["package"] == "./plugins/lifecycle-blue"
    updated = events_of(database, "plugin.updated")
    assert updated == [{"pluginId": plugin, "version": "2.0.0", "installationId": installation_id,
                        "environment": "production", "namespace": "team-a", "accountId": "acct_ann",
                        "previousVersion": "1.0.0"}]
    same = client.patch(f"{PREFIX}/installations/{installation_id}", json={"version": "2.0.0"},
                        headers=factories.headers(config))
    assert same.status_code == 409
    response = client.delete(f"{PREFIX}/installations/{installation_id}", headers=factories.headers(config))
    assert response.status_code == 202 and response.get_json()["data"]["status"] == "uninstalling"
    run_all(database, runner)
    assert get(client, config, installation_id)["status"] == "uninstalled"
    assert yaml_entries(config) == []
    assert events_of(database, "plugin.uninstalled")[0]["version"] == "2.0.0"
    # The place is free again.
    post_install(client, config, plugin, configuration={"apiUrl": "c"})


def test_a_failed_upgrade_restores_the_previous_version_exactly(client, config, catalog, database, runner,
                                                                 downloader):
    plugin = catalog.publish("fragile", ["1.0.0", "2.0.0"])
    installation_id = post_install(client, config, plugin, version="1.0.0")
    run_all(database, runner)
    before = snapshot(runner.deployer.root)
    downloader.packages[(plugin, "2.0.0")] = b"tampered bytes"
    client.patch(f"{PREFIX}/installations/{installation_id}", json={"version": "2.0.0"},
                 headers=factories.headers(config))
    run_all(database, runner)
    data = get(client, config, installation_id)
    assert data["status"] == "failed"
    assert data["error"]["code"] == "CHECKSUM_MISMATCH" and data["error"]["step"] == "download"
    assert (data["version"], data["installedVersion"]) == ("1.0.0", "1.0.0")
    assert snapshot(runner.deployer.root) == before
    error = events_of(database, "plugin.error")[0]
    assert error["version"] == "2.0.0" and error["error"]["step"] == "download"
    assert set(error) == {"pluginId", "version", "installationId", "environment", "namespace", "accountId", "error"}


def test_a_failing_health_check_rolls_the_deployment_back(client, config, catalog, database, runner, monkeypatch):
    plugin = catalog.publish("sick")
    installation_id = post_install(client, config, plugin, deploymentStrategy="recreate")
    original = runner.deployer.verify

    def sick_verify(target, spec, strategy):
        health = original(target, spec, strategy)
        health.status, health.problems = "unhealthy", ["plugin did not start"]
        return health

    monkeypatch.setattr(runner.deployer, "verify", sick_verify)
    run_all(database, runner)
    data = get(client, config, installation_id)
    assert data["status"] == "failed" and data["error"]["code"] == "HEALTH_CHECK_FAILED"
    assert data["error"]["step"] == "health"
    assert snapshot(runner.deployer.root) == {}
    # Nothing is installed, so the same place can be installed into again.
    post_install(client, config, plugin)


def test_cancel_at_the_next_step_boundary_rolls_back(client, config, catalog, database, runner, monkeypatch):
    plugin = catalog.publish("cancel-me")
    installation_id = post_install(client, config, plugin)
    original = runner.deployer.deploy

    def deploy_then_cancel(target, spec, strategy):
        original(target, spec, strategy)
        response = client.post(f"{PREFIX}/installations/{installation_id}/cancel", headers=factories.headers(config))
        assert response.status_code == 202
        assert response.get_json()["data"]["status"] == "cancelling"

    monkeypatch.setattr(runner.deployer, "deploy", deploy_then_cancel)
    run_all(database, runner)
    data = get(client, config, installation_id)
    assert data["status"] == "cancelled"
    assert snapshot(runner.deployer.root) == {}
    again = client.post(f"{PREFIX}/installations/{installation_id}/cancel", headers=factories.headers(config))
    assert again.status_code == 409 and again.get_json()["error"]["code"] == "INSTALLATION_FINISHED"


def test_cancel_before_any_worker_started_finishes_at_once(client, config, catalog, database, runner):
    plugin = catalog.publish("early-cancel")
    installation_id = post_install(client, config, plugin)
    response = client.post(f"{PREFIX}/installations/{installation_id}/cancel", headers=factories.headers(config))
    assert response.get_json()["data"]["status"] == "cancelled"
    run_all(database, runner)  # the job finds it finished and does nothing
    assert get(client, config, installation_id)["status"] == "cancelled"
    assert snapshot(runner.deployer.root) == {}


@pytest.mark.parametrize("crash_in", ["deploy", "activate"])
@pytest.mark.parametrize("outcome", ["completed", "failed"])
def test_a_job_interrupted_by_a_crash_is_resumed_by_the_redelivery(client, config, catalog, database, runner,
                                                                     crash_in, outcome, downloader):
    plugin = catalog.publish("crashy", ["1.0.0", "2.0.0"])
    installation_id = post_install(client, config, plugin, version="1.0.0", deploymentStrategy="blue-green")
    run_all(database, runner)
    before = snapshot(runner.deployer.root)
    client.patch(f"{PREFIX}/installations/{installation_id}", json={"version": "2.0.0"},
                 headers=factories.headers(config))
    [job] = take_jobs(database)
    owner = dead_owner()
    crashing = JobRunner(config, database, CrashingDeployer(config.INSTALL_ROOT, crash_in), runner.downloader,
                         owner=owner)
    with pytest.raises(Crash):
        crashing.run(job)
    # SIGKILL skips the lease release the test process just ran: put the dead holder's lease back.
    with database.session() as session, session.begin():
        session.execute(update(Installation).where(Installation.id == installation_id).values(
            lease_owner=owner, lease_expires_at=utcnow() + timedelta(minutes=5)))
    assert get(client, config, installation_id)["status"] == "in_progress"
    assert snapshot(runner.deployer.root) != before
    if outcome == "failed":
        downloader.packages[(plugin, "2.0.0")] = b"now broken"
    runner.run(job)  # the redelivered message
    data = get(client, config, installation_id)
    logs = client.get(f"{PREFIX}/installations/{installation_id}/logs", headers=factories.headers(config))
    messages = [line["message"] for line in logs.get_json()["data"]]
    assert "Rolled back the partial deployment of the interrupted attempt" in messages
    if outcome == "failed":
        assert (data["status"], data["installedVersion"], data["attempts"]) == ("failed", "1.0.0", 2)
        assert snapshot(runner.deployer.root) == before
        return
    assert (data["status"], data["installedVersion"], data["attempts"]) == ("completed", "2.0.0", 2)
    assert yaml_entries(config)[0]["package"] == "./plugins/crashy-green"
    assert runner.deployer.check(Target("production", "team-a"), _spec(database, installation_id)).status == "healthy"


def _spec(database, installation_id):
    from install_service.deployer import DeploySpec

    with database.session() as session:
        row = session.get(Installation, installation_id)
        return DeploySpec(name="crashy", key="", configuration=row.configuration, integrity=row.integrity)


def test_a_live_holder_keeps_its_job_and_too_many_crashes_fail_cleanly(client, config, catalog, database, runner):
    plugin = catalog.publish("held")
    installation_id = post_install(client, config, plugin)
    [job] = take_jobs(database)
    other = JobRunner(config, database, runner.deployer, runner.downloader)  # alive: this very process
    assert other.claim(installation_id, 1) is True
    assert runner.claim(installation_id, 1) is False  # two workers never run the same job
    assert runner.claim(installation_id, 99) is False  # a stale job is dropped
    with database.session() as session, session.begin():
        session.execute(update(Installation).where(Installation.id == installation_id).values(
            lease_owner=dead_owner(), attempts=config.INSTALL_MAX_ATTEMPTS))
    runner.run(job)
    data = get(client, config, installation_id)
    assert data["status"] == "failed" and data["error"]["code"] == "JOB_ABANDONED"
    assert snapshot(runner.deployer.root) == {}


def test_recovery_requeues_a_job_whose_lease_expired(client, config, catalog, database, runner):
    plugin = catalog.publish("stalled")
    installation_id = post_install(client, config, plugin)
    [job] = take_jobs(database)
    with database.session() as session, session.begin():
        session.execute(update(Installation).where(Installation.id == installation_id).values(
            status="in_progress", lease_owner="elsewhere|1|x|y", lease_expires_at=utcnow() - timedelta(seconds=1)))
    assert recover_stalled(config, database) == 1
    assert recover_stalled(config, database) == 0
    [requeued] = take_jobs(database)
    assert requeued["data"] == job["data"]
    runner.run(requeued)
    assert get(client, config, installation_id)["status"] == "completed"


def test_health_check_announces_transitions(client, config, catalog, database, runner):
    plugin = catalog.publish("watched")
    installation_id = post_install(client, config, plugin)
    run_all(database, runner)
    assert check_health(config, database, runner.deployer) == 0
    from pathlib import Path

    (Path(config.INSTALL_ROOT) / "production/team-a/plugins/watched/dist/index.js").write_text("broken")
    assert check_health(config, database, runner.deployer) == 1
    assert check_health(config, database, runner.deployer) == 0
    data = get(client, config, installation_id)
    assert data["health"] == "unhealthy" and "watched/dist/index.js was modified" in data["healthDetails"]
    changed = events_of(database, "plugin.health_changed")
    assert [(e["previous"], e["current"], e["installationId"]) for e in changed] == [
        ("healthy", "unhealthy", installation_id)]
