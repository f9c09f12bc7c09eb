"""Installations end to end, through the gateway (issue 6): install → poll → completed with the files Red Hat
Developer Hub reads, each deployment strategy, cancel mid-way, refusals up front (configuration, compatibility,
already installed, yanked, idempotency), upgrade and uninstall with their events, access rules, logs with a
cursor, list filters, and a worker killed with SIGKILL in the middle of a deploy.

Besides the gateway, the tests only read the deployed files under INSTALL_ROOT and stop/start the install
worker process through the Stack. Jobs that must be caught mid-way use a package with a large zero-filled
file (small to upload, slow to unpack and hash), so the stack needs no artificial step delay.
"""

import gzip
import io
import json
import signal
import tarfile
from pathlib import Path

import pytest

from api_client import PREFIX, expect, expect_error
from factories import (
    WebhookReceiver,
    integrity_of,
    new_account,
    package_bytes,
    publish_plugin,
    wait_for_installation,
    wait_until_known,
)
from marketplace_shared.testing import unique_name, wait_for
from stack import SERVICES

INSTALL_WORKER = "install-service-worker"
BIG_MEGABYTES = 160
SPEC_ACCEPTED_FIELDS = {"installationId", "pluginId", "status", "message", "details", "progress", "estimatedTime",
                        "links"}
SPEC_STATUS_FIELDS = {"installationId", "pluginId", "status", "progress", "startedAt", "completedAt", "duration"}
SCHEMA = {
    "type": "object",
    "properties": {
        "apiUrl": {"type": "string"},
        "refreshIntervalSeconds": {"type": "integer", "minimum": 10},
    },
    "required": ["apiUrl"],
    "additionalProperties": False,
}


# -- helpers ---------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def install_root(stack) -> Path:
    return Path(stack.env["INSTALL_ROOT"])


def env_name() -> str:
    return unique_name("env").replace("_", "-")


def new_plugin(admin, publisher, client, versions: dict[str, bytes], schema: dict | None = None) -> dict:
    """A plugin whose versions carry the given package bytes, once the install service knows all of them."""
    plugin = publish_plugin(publisher, versions=())
    for version, package in versions.items():
        # Like factories.publish_version, with defaults that satisfy a schema with required fields.
        metadata = {"version": version, "changelog": f"Release {version}",
                    "compatibility": {"backstage": "^1.30.0", "node": ">=18.0.0"},
                    "configuration": {"schema": schema or {}, "examples": [],
                                      "defaults": {"apiUrl": "https://api.example.com"} if schema else {}}}
        expect(publisher.post(f"/plugins/{plugin['id']}/versions", data={"metadata": json.dumps(metadata)},
                              files={"package": (f"{version}.tgz", package, "application/gzip")}), 201)
    for version in versions:
        wait_until_known(admin, client, plugin["id"], version)
    return plugin


def packages(*versions: str, big: str | None = None) -> dict[str, bytes]:
    name = unique_name("pkg")
    return {version: package_bytes(name, version, BIG_MEGABYTES if version == big else 0) for version in versions}


def install(client, plugin_id: str, headers: dict | None = None, **body) -> dict:
    body.setdefault("environment", env_name())
    response = client.post(f"/plugins/{plugin_id}/install", json=body, headers=headers or {})
    data = expect(response, 202)["data"]
    assert response.headers["Location"] == f"{PREFIX}/installations/{data['installationId']}"
    return data


def status_of(client, installation_id: str) -> dict:
    return expect(client.get(f"/installations/{installation_id}"), 200)["data"]


def wait_for_status(client, installation_id: str, predicate, message: str, timeout: float = 30) -> dict:
    return wait_for(lambda: (lambda data: data if predicate(data) else None)(status_of(client, installation_id)),
                    timeout=timeout, interval=0.02, message=message)


def all_logs(client, installation_id: str) -> list[dict]:
    return expect(client.get(f"/installations/{installation_id}/logs", params={"limit": 1000}), 200)["data"]


def entry_of(package: bytes, folder: str, configuration: dict, disabled: bool = False, integrity: str = "") -> dict:
    """The dynamic-plugins.yaml entry expected for a package: its integrity may use any SRI algorithm
    (the catalog announces sha256-…, npm uses sha512-…) but must be the digest of exactly these bytes."""
    algorithm = integrity.partition("-")[0]
    assert algorithm in ("sha256", "sha384", "sha512"), integrity
    return {"package": f"./plugins/{folder}", "integrity": integrity_of(package, algorithm), "disabled": disabled,
            "pluginConfig": configuration}


class Deployed:
    """What the filesystem deployer left under INSTALL_ROOT/<environment>/<namespace>/ for one plugin."""

    def __init__(self, root: Path, installation: dict, plugin: dict):
        self.root = root
        self.namespace_dir = root / installation["environment"] / installation["namespace"]
        self.yaml_path = self.namespace_dir / "dynamic-plugins.yaml"
        self.name = plugin["name"]  # a DNS-ish name such as plugin-1a2b3c: also its folder name
        self.environment, self.namespace = installation["environment"], installation["namespace"]

    def document(self) -> dict | None:
        if not self.yaml_path.exists():
            return None
        return json.loads(self.yaml_path.read_text())  # JSON is the YAML the deployer writes

    def entries(self) -> list[dict]:
        document = self.document()
        if document is None:
            return []
        folders = {f"./plugins/{self.name}{suffix}" for suffix in ("", "-blue", "-green")}
        return [entry for entry in document["plugins"] if entry.get("package") in folders]

    def entry(self) -> dict:
        entries = self.entries()
        assert len(entries) == 1, self.document()
        return entries[0]

    def folder(self, suffix: str = "") -> Path:
        return self.namespace_dir / "plugins" / f"{self.name}{suffix}"

    def plugin_folders(self) -> list[str]:
        plugins = self.namespace_dir / "plugins"
        if not plugins.exists():
            return []
        return sorted(path.name for path in plugins.iterdir() if path.name.startswith(self.name))

    def version_in(self, folder: Path) -> str:
        return json.loads((folder / "package.json").read_text())["version"]

    def journal(self) -> Path:
        return self.root / ".state" / "journal" / self.environment / self.namespace / f"{self.name}.json"

    def leftovers(self) -> list[str]:
        """What an unfinished operation leaves: its journal, a staging tree, a backup of this plugin."""
        found = [str(self.journal())] if self.journal().exists() else []
        staging = self.root / ".state" / "staging"
        if staging.exists():
            found += [str(path) for path in staging.iterdir()]
        backup = self.root / ".state" / "backup"
        if backup.exists():
            found += [str(path) for path in backup.glob("*/*") if path.name.startswith(self.name)]
        return found

    def assert_settled(self) -> None:
        """Nothing unfinished is left behind. The worker records `completed` first and then drops the journal
        and backups (a crash in between is settled by the next operation), so allow it a moment."""
        try:
            wait_for(lambda: not self.leftovers(), timeout=10, interval=0.05, message="the deployer to settle")
        except TimeoutError:
            raise AssertionError(f"left behind: {self.leftovers()}") from None


@pytest.fixture
def receiver():
    """A webhook receiver on loopback that keeps every request."""
    with WebhookReceiver() as made:
        yield made


def received_event(receiver, event_type: str, installation_id: str) -> dict:
    def find():
        return next((request.json["data"] for request in receiver.received()
                     if request.json.get("event") == event_type
                     and request.json["data"].get("installationId") == installation_id), None)

    return wait_for(find, timeout=30, interval=0.1, message=f"{event_type} delivered for {installation_id}")


# -- install → poll → completed ----------------------------------------------------------------------

def test_install_is_accepted_in_the_spec_shape_and_completes_with_dynamic_plugins_yaml(
        admin, publisher, user, install_root):
    versions = packages("1.0.0")
    plugin = new_plugin(admin, publisher, user, versions, schema=SCHEMA)
    configuration = {"apiUrl": "https://api.example.com", "refreshIntervalSeconds": 30}
    environment = env_name()

    response = user.post(f"/plugins/{plugin['id']}/install", json={
        "version": "1.0.0", "configuration": configuration, "environment": environment,
        "namespace": "backstage-plugins", "deploymentStrategy": "rolling", "autoStart": True})
    accepted = expect(response, 202)["data"]
    installation_id = accepted["installationId"]
    assert set(accepted) == SPEC_ACCEPTED_FIELDS, accepted
    assert installation_id.startswith("install_") and accepted["pluginId"] == plugin["id"]
    assert response.headers["Location"] == f"{PREFIX}/installations/{installation_id}"
    assert accepted["status"] in ("pending", "in_progress")
    assert accepted["message"] == f"Installation of plugin '{plugin['name']}' has been initiated"
    assert accepted["details"] == {"version": "1.0.0", "environment": environment,
                                   "namespace": "backstage-plugins", "deploymentStrategy": "rolling"}
    assert accepted["progress"] == {"current": 0, "total": 100, "percentage": 0,
                                    "currentStep": "Initializing installation"}
    assert isinstance(accepted["estimatedTime"], int) and accepted["estimatedTime"] > 0
    assert accepted["links"] == {"status": f"{PREFIX}/installations/{installation_id}",
                                 "logs": f"{PREFIX}/installations/{installation_id}/logs",
                                 "cancel": f"{PREFIX}/installations/{installation_id}/cancel"}

    # Poll the status link until the job is done; progress never goes backwards.
    seen = []

    def finished():
        data = expect(user.get(accepted["links"]["status"]), 200)["data"]
        seen.append((data["status"], data["progress"]["percentage"]))
        return data if data["status"] not in ("pending", "in_progress") else None

    done = wait_for(finished, timeout=60, interval=0.05, message="the installation to finish")
    assert done["status"] == "completed", done
    percentages = [percentage for _status, percentage in seen]
    assert percentages == sorted(percentages), seen
    assert set(done) >= SPEC_STATUS_FIELDS, done
    assert done["progress"] == {"current": 100, "total": 100, "percentage": 100,
                                "currentStep": "Installation completed"}
    assert done["startedAt"].endswith("Z") and done["completedAt"].endswith("Z")
    assert done["startedAt"] <= done["completedAt"]
    assert isinstance(done["duration"], int) and done["duration"] >= 0
    assert done["installedVersion"] == "1.0.0" and done["configuration"] == configuration
    assert done["health"] == "healthy" and done["error"] is None

    # What Red Hat Developer Hub reads: the plugin, its integrity and its configuration.
    deployed = Deployed(install_root, done, plugin)
    entry = deployed.entry()
    assert entry == entry_of(versions["1.0.0"], plugin["name"], configuration, integrity=entry["integrity"])
    assert deployed.version_in(deployed.folder()) == "1.0.0"
    assert (deployed.folder() / "dist" / "index.js").is_file()
    assert deployed.plugin_folders() == [plugin["name"]]
    deployed.assert_settled()


@pytest.mark.parametrize("strategy", ["rolling", "blue-green", "recreate"])
def test_each_deployment_strategy_leaves_its_files(admin, publisher, user, install_root, strategy):
    versions = packages("1.0.0", "2.0.0")
    plugin = new_plugin(admin, publisher, user, versions)
    auto_start = strategy != "recreate"  # one of them deployed disabled
    first = install(user, plugin["id"], version="1.0.0", deploymentStrategy=strategy, autoStart=auto_start,
                    configuration={"colour": "one"})
    assert first["details"]["deploymentStrategy"] == strategy
    done = wait_for_installation(user, first["installationId"])
    assert done["deploymentStrategy"] == strategy
    deployed = Deployed(install_root, done, plugin)
    live = "-blue" if strategy == "blue-green" else ""
    assert deployed.plugin_folders() == [plugin["name"] + live]
    entry = deployed.entry()
    assert entry == entry_of(versions["1.0.0"], plugin["name"] + live, {"colour": "one"}, disabled=not auto_start,
                             integrity=entry["integrity"])
    assert deployed.version_in(deployed.folder(live)) == "1.0.0"
    deployed.assert_settled()

    expect(user.patch(f"/installations/{first['installationId']}",
                      json={"version": "2.0.0", "configuration": {"colour": "two"}}), 202)
    upgraded = wait_for_installation(user, first["installationId"])
    assert upgraded["installedVersion"] == "2.0.0" and upgraded["deploymentStrategy"] == strategy
    if strategy == "blue-green":
        # Deployed beside the live copy, switched atomically, and the old colour kept for a rollback.
        assert deployed.plugin_folders() == [f"{plugin['name']}-blue", f"{plugin['name']}-green"]
        assert deployed.entry()["package"] == f"./plugins/{plugin['name']}-green"
        assert deployed.version_in(deployed.folder("-green")) == "2.0.0"
        assert deployed.version_in(deployed.folder("-blue")) == "1.0.0"
    else:
        # rolling replaces in place (the backup is dropped once committed); recreate removes then deploys.
        assert deployed.plugin_folders() == [plugin["name"]]
        assert deployed.entry()["package"] == f"./plugins/{plugin['name']}"
        assert deployed.version_in(deployed.folder()) == "2.0.0"
    entry = deployed.entry()
    assert entry == entry_of(versions["2.0.0"], entry["package"].removeprefix("./plugins/"), {"colour": "two"},
                             disabled=not auto_start, integrity=entry["integrity"])
    deployed.assert_settled()


# -- cancel ----------------------------------------------------------------------------------------

def test_cancel_mid_way_stops_and_rolls_back(admin, publisher, user, install_root):
    plugin = new_plugin(admin, publisher, user, packages("1.0.0", big="1.0.0"))
    started = install(user, plugin["id"], namespace="team-a")
    running = wait_for_status(user, started["installationId"], lambda d: d["startedAt"] is not None,
                              "a worker to start the job")
    assert running["status"] == "in_progress", running

    response = user.post(started["links"]["cancel"])
    cancelling = expect(response, 202)["data"]
    assert cancelling["status"] == "cancelling", cancelling  # caught mid-way, not after the end

    done = wait_for_installation(user, started["installationId"], statuses=("cancelled",))
    assert done["installedVersion"] is None and done["completedAt"] is not None
    assert done["progress"]["percentage"] < 100, done
    messages = [line["message"] for line in all_logs(user, started["installationId"])]
    assert any(message.startswith("Cancel requested") for message in messages), messages
    assert any(message.startswith("Cancelled") for message in messages), messages

    # Nothing of the cancelled install is left deployed.
    deployed = Deployed(install_root, done, plugin)
    assert deployed.entries() == [] and deployed.plugin_folders() == []
    deployed.assert_settled()
    expect_error(user.post(started["links"]["cancel"]), 409, "INSTALLATION_FINISHED")


# -- refused up front --------------------------------------------------------------------------------

def test_bad_configuration_names_and_request_errors_are_refused_with_json_pointers(admin, publisher, user):
    plugin = new_plugin(admin, publisher, user, packages("1.0.0"), schema=SCHEMA)
    url = f"/plugins/{plugin['id']}/install"

    body = expect_error(user.post(url, json={"environment": env_name(), "configuration": {
        "apiUrl": 42, "refreshIntervalSeconds": 5}}), 400, "VALIDATION_ERROR")
    errors = body["error"]["details"]["errors"]
    assert {error["pointer"] for error in errors} == {"/configuration/apiUrl", "/configuration/refreshIntervalSeconds"}
    assert {error["keyword"] for error in errors} == {"type", "minimum"}
    assert all(error["message"] for error in errors)

    missing = expect_error(user.post(url, json={"environment": env_name(), "configuration": {"extra": 1}}),
                           400, "VALIDATION_ERROR")["error"]["details"]["errors"]
    assert {(error["pointer"], error["keyword"]) for error in missing} == {
        ("/configuration/apiUrl", "required"), ("/configuration", "additionalProperties")}

    for bad in ({"environment": "Prod_Env"}, {"environment": "prod", "namespace": "-team"},
                {"environment": "x" * 64}):
        field = "namespace" if "namespace" in bad else "environment"
        details = expect_error(user.post(url, json={**bad, "configuration": {"apiUrl": "https://x"}}), 400,
                               "VALIDATION_ERROR")["error"]["details"]
        assert field in json.dumps(details), details
    for bad, field in (({"deploymentStrategy": "canary"}, "deploymentStrategy"), ({"colour": "red"}, "colour"),
                       ({}, "environment")):
        body = {"environment": env_name(), **bad} if field != "environment" else {}
        details = expect_error(user.post(url, json=body), 400, "VALIDATION_ERROR")["error"]["details"]
        assert field in json.dumps(details), details

    expect_error(user.post("/plugins/plugin_does_not_exist/install", json={"environment": env_name()}),
                 404, "PLUGIN_NOT_FOUND")
    expect_error(user.post(url, json={"environment": env_name(), "version": "9.9.9"}), 404, "VERSION_NOT_FOUND")

    # Nothing was queued by any of these.
    listed = expect(user.get("/installations", params={"plugin": plugin["id"]}), 200)
    assert listed["data"] == [] and listed["pagination"]["total"] == 0


def test_incompatible_environment_is_refused_with_the_clashing_ranges(admin, publisher, user):
    plugin = new_plugin(admin, publisher, user, packages("1.0.0"))
    environment = env_name()
    expect_error(user.post("/environments", json={"name": environment, "backstageVersion": "1.20.0",
                                                  "nodeVersion": "16.20.0"}), 403, "FORBIDDEN")
    expect_error(user.get("/environments"), 403, "FORBIDDEN")
    created = expect(admin.post("/environments", json={"name": environment, "backstageVersion": "1.20.0",
                                                       "nodeVersion": "16.20.0"}), 201)
    assert created["data"]["name"] == environment and created["data"]["backstageVersion"] == "1.20.0"

    body = expect_error(user.post(f"/plugins/{plugin['id']}/install", json={"environment": environment}), 409,
                        "INCOMPATIBLE_ENVIRONMENT")
    assert body["error"]["details"]["environment"] == environment
    assert body["error"]["details"]["clashes"] == [
        {"component": "backstage", "required": "^1.30.0", "actual": "1.20.0"},
        {"component": "node", "required": ">=18.0.0", "actual": "16.20.0"}]
    assert "^1.30.0" in body["error"]["message"] and ">=18.0.0" in body["error"]["message"]

    # Once the environment is brought up to date, the same install goes through.
    expect(admin.patch(f"/environments/{environment}", json={"backstageVersion": "1.36.0", "nodeVersion": "20.11.0"}),
           200)
    started = install(user, plugin["id"], environment=environment)
    wait_for_installation(user, started["installationId"])

    # An environment first named by an install is created with the configured defaults.
    fresh = env_name()
    wait_for_installation(user, install(user, plugin["id"], environment=fresh)["installationId"])
    defaults = expect(admin.get(f"/environments/{fresh}"), 200)["data"]
    assert defaults["backstageVersion"] and defaults["nodeVersion"], defaults


def test_already_installed_is_refused_pointing_to_the_upgrade(admin, publisher, user):
    plugin = new_plugin(admin, publisher, user, packages("1.0.0"))
    environment = env_name()
    first = install(user, plugin["id"], environment=environment, namespace="portal")
    href = f"{PREFIX}/installations/{first['installationId']}"
    # Refused at once (the job may still be running), and again after it completed.
    for _ in range(2):
        body = expect_error(user.post(f"/plugins/{plugin['id']}/install",
                                      json={"environment": environment, "namespace": "portal"}),
                            409, "ALREADY_INSTALLED")
        assert body["error"]["details"]["installationId"] == first["installationId"]
        assert body["error"]["details"]["upgrade"] == {"method": "PATCH", "href": href}
        assert f"PATCH {href}" in body["error"]["message"]
        wait_for_installation(user, first["installationId"])
    # Another namespace of the same environment is another slot.
    other = install(user, plugin["id"], environment=environment, namespace="portal-2")
    wait_for_installation(user, other["installationId"])


def test_idempotency_key_replays_the_same_installation(admin, publisher, user):
    plugin = new_plugin(admin, publisher, user, packages("1.0.0"))
    environment = env_name()
    key = {"Idempotency-Key": unique_name("key")}
    first = install(user, plugin["id"], headers=key, environment=environment)
    again = install(user, plugin["id"], headers=key, environment=environment)
    assert again["installationId"] == first["installationId"]
    done = wait_for_installation(user, first["installationId"])
    replay = install(user, plugin["id"], headers=key, environment=environment)
    assert replay["installationId"] == first["installationId"] and replay["status"] == done["status"]

    body = expect_error(user.post(f"/plugins/{plugin['id']}/install", headers=key,
                                  json={"environment": environment, "namespace": "elsewhere"}),
                        409, "IDEMPOTENCY_KEY_REUSED")
    assert body["error"]["details"]["installationId"] == first["installationId"]
    expect_error(user.post(f"/plugins/{plugin['id']}/install", headers={"Idempotency-Key": "k" * 256},
                           json={"environment": env_name()}), 400, "VALIDATION_ERROR")
    listed = expect(user.get("/installations", params={"plugin": plugin["id"]}), 200)
    assert [row["installationId"] for row in listed["data"]] == [first["installationId"]]


def test_a_yanked_version_is_refused(admin, publisher, user):
    plugin = new_plugin(admin, publisher, user, packages("1.0.0", "1.1.0"))
    expect(publisher.post(f"/plugins/{plugin['id']}/versions/1.1.0/yank", json={"reason": "corrupts the catalog"}),
           200)
    wait_for(lambda: wait_until_known(admin, user, plugin["id"], "1.1.0")["error"]["code"] == "VERSION_YANKED",
             timeout=30, message="the install service to learn of the yank")

    body = expect_error(user.post(f"/plugins/{plugin['id']}/install",
                                  json={"environment": env_name(), "version": "1.1.0"}), 409, "VERSION_YANKED")
    assert body["error"]["details"] == {"pluginId": plugin["id"], "version": "1.1.0",
                                        "reason": "corrupts the catalog"}
    # The latest installable version is now 1.0.0.
    started = install(user, plugin["id"])
    assert started["details"]["version"] == "1.0.0"
    assert wait_for_installation(user, started["installationId"])["installedVersion"] == "1.0.0"


# -- lifecycle ---------------------------------------------------------------------------------------

def test_upgrade_then_uninstall_announce_plugin_updated_and_plugin_uninstalled(
        admin, publisher, user, install_root, receiver):
    versions = packages("1.0.0", "2.0.0")
    plugin = new_plugin(admin, publisher, user, versions, schema=SCHEMA)
    expect(user.post("/webhooks", json={"url": receiver.url, "events": ["plugin.updated", "plugin.uninstalled"],
                                        "pluginIds": [plugin["id"]]}), 201)
    started = install(user, plugin["id"], version="1.0.0", namespace="portal",
                      configuration={"apiUrl": "https://v1.example.com"})
    installation_id = started["installationId"]
    done = wait_for_installation(user, installation_id)
    deployed = Deployed(install_root, done, plugin)
    assert deployed.version_in(deployed.folder()) == "1.0.0"

    # Upgrade: PATCH with a version (and a new configuration, checked against the new version's schema).
    expect_error(user.patch(f"/installations/{installation_id}", json={"version": "2.0.0",
                                                                      "configuration": {"apiUrl": 1}}),
                 400, "VALIDATION_ERROR")
    new_configuration = {"apiUrl": "https://v2.example.com", "refreshIntervalSeconds": 60}
    response = user.patch(f"/installations/{installation_id}", json={"version": "2.0.0",
                                                                    "configuration": new_configuration})
    accepted = expect(response, 202)["data"]
    assert set(accepted) == SPEC_ACCEPTED_FIELDS and accepted["installationId"] == installation_id
    assert accepted["details"]["version"] == "2.0.0" and accepted["status"] == "in_progress"
    assert response.headers["Location"] == f"{PREFIX}/installations/{installation_id}"
    upgraded = wait_for_installation(user, installation_id)
    assert upgraded["action"] == "upgrade" and upgraded["progress"]["currentStep"] == "Upgrade completed"
    assert (upgraded["version"], upgraded["installedVersion"], upgraded["previousVersion"]) == (
        "2.0.0", "2.0.0", "1.0.0")
    assert deployed.version_in(deployed.folder()) == "2.0.0"
    entry = deployed.entry()
    assert entry == entry_of(versions["2.0.0"], plugin["name"], new_configuration, integrity=entry["integrity"])
    updated = received_event(receiver, "plugin.updated", installation_id)
    assert updated["pluginId"] == plugin["id"] and updated["version"] == "2.0.0"
    assert updated["previousVersion"] == "1.0.0"
    assert (updated["environment"], updated["namespace"]) == (done["environment"], "portal")
    expect_error(user.patch(f"/installations/{installation_id}", json={"version": "2.0.0"}), 409,
                 "NOTHING_TO_CHANGE")

    # Uninstall: DELETE takes the entry out of dynamic-plugins.yaml and the files away.
    response = user.delete(f"/installations/{installation_id}")
    assert expect(response, 202)["data"]["status"] == "uninstalling"
    gone = wait_for_installation(user, installation_id, statuses=("uninstalled",))
    assert gone["installedVersion"] is None and gone["action"] == "uninstall"
    assert deployed.entries() == [] and deployed.plugin_folders() == []
    deployed.assert_settled()
    uninstalled = received_event(receiver, "plugin.uninstalled", installation_id)
    assert uninstalled["pluginId"] == plugin["id"] and uninstalled["version"] == "2.0.0"
    assert (uninstalled["environment"], uninstalled["namespace"]) == (done["environment"], "portal")

    expect_error(user.delete(f"/installations/{installation_id}"), 409, "INSTALLATION_FINISHED")
    expect_error(user.patch(f"/installations/{installation_id}", json={"version": "1.0.0"}), 409, "NOT_INSTALLED")
    # The slot is free again.
    again = install(user, plugin["id"], version="1.0.0", environment=done["environment"], namespace="portal",
                    configuration={"apiUrl": "https://again.example.com"})
    assert again["installationId"] != installation_id
    wait_for_installation(user, again["installationId"])
    assert deployed.version_in(deployed.folder()) == "1.0.0"


def package_failing_to_deploy(version: str) -> bytes:
    """A package the catalog accepts (safe paths) that cannot be unpacked: `dist` is first a file, then the
    folder of `dist/index.js`. The install worker refuses it while validating, after the download.
    (Rollback of a deploy that fails half-way is proven for each strategy by install-service's unit tests.)"""
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.USTAR_FORMAT) as archive:
        for path, content in (("package/package.json", json.dumps({"name": "broken", "version": version}).encode()),
                              ("package/dist", b"a file where a folder is expected"),
                              ("package/dist/index.js", b"export {};\n")):
            info = tarfile.TarInfo(path)
            info.size = len(content)
            info.mtime = 1_700_000_000
            archive.addfile(info, io.BytesIO(content))
    return gzip.compress(raw.getvalue(), mtime=0)


def tree(folder: Path) -> dict[str, bytes]:
    return {str(path.relative_to(folder)): path.read_bytes() for path in sorted(folder.rglob("*")) if path.is_file()}


def test_a_failed_upgrade_leaves_the_previous_deployment_exactly_as_it_was(
        admin, publisher, user, install_root, receiver):
    versions = {**packages("1.0.0"), "2.0.0": package_failing_to_deploy("2.0.0")}
    plugin = new_plugin(admin, publisher, user, versions)
    expect(user.post("/webhooks", json={"url": receiver.url, "events": ["plugin.error"],
                                        "pluginIds": [plugin["id"]]}), 201)
    started = install(user, plugin["id"], version="1.0.0", configuration={"release": 1})
    installation_id = started["installationId"]
    before = wait_for_installation(user, installation_id)
    deployed = Deployed(install_root, before, plugin)
    yaml_before, files_before = deployed.yaml_path.read_bytes(), tree(deployed.folder())

    expect(user.patch(f"/installations/{installation_id}", json={"version": "2.0.0", "configuration": {"release": 2}}),
           202)
    failed = wait_for_installation(user, installation_id, statuses=("failed",))
    assert failed["error"]["code"] and failed["error"]["message"], failed
    assert failed["error"]["step"] == "validate", failed
    assert failed["error"]["code"] == "UNSAFE_PACKAGE", failed
    # The installation describes what is live again: the previous version and configuration.
    assert (failed["installedVersion"], failed["version"], failed["configuration"]) == ("1.0.0", "1.0.0",
                                                                                       {"release": 1})
    assert deployed.yaml_path.read_bytes() == yaml_before
    assert tree(deployed.folder()) == files_before
    assert deployed.plugin_folders() == [plugin["name"]]
    deployed.assert_settled()
    messages = [line["message"] for line in all_logs(user, installation_id)]
    assert any("both a file and a folder" in message for message in messages), messages

    error = received_event(receiver, "plugin.error", installation_id)
    assert error["pluginId"] == plugin["id"] and error["error"]["code"] == failed["error"]["code"]
    assert error["error"]["step"] == "validate"
    # The health check still finds the previous deployment intact.
    checked = wait_for_status(user, installation_id,
                              lambda d: d["healthCheckedAt"] and d["healthCheckedAt"] > failed["completedAt"],
                              "a health check after the failure", timeout=30)
    assert checked["health"] == "healthy", checked


# -- access ----------------------------------------------------------------------------------------

def test_installations_require_a_caller_and_stay_private(anonymous, admin, publisher, user):
    plugin = new_plugin(admin, publisher, user, packages("1.0.0"))
    expect_error(anonymous.post(f"/plugins/{plugin['id']}/install", json={"environment": env_name()}), 401,
                 "UNAUTHORIZED")
    started = install(user, plugin["id"])
    installation_id = started["installationId"]
    wait_for_installation(user, installation_id)
    path = f"/installations/{installation_id}"
    for method, suffix in (("GET", ""), ("GET", "/logs")):
        expect_error(anonymous.request(method, path + suffix), 401, "UNAUTHORIZED")
    expect_error(anonymous.get("/installations"), 401, "UNAUTHORIZED")
    expect_error(anonymous.post(path + "/cancel"), 401, "UNAUTHORIZED")

    # Someone else (even the plugin's publisher) cannot see or touch it: it does not exist for them.
    for other in (new_account(admin, "user"), publisher):
        expect_error(other.get(path), 404, "INSTALLATION_NOT_FOUND")
        expect_error(other.get(path + "/logs"), 404, "INSTALLATION_NOT_FOUND")
        expect_error(other.post(path + "/cancel"), 404, "INSTALLATION_NOT_FOUND")
        expect_error(other.patch(path, json={"version": "1.0.0"}), 404, "INSTALLATION_NOT_FOUND")
        expect_error(other.delete(path), 404, "INSTALLATION_NOT_FOUND")
        assert expect(other.get("/installations", params={"plugin": plugin["id"]}), 200)["data"] == []
    assert status_of(user, installation_id)["status"] == "completed"

    # An administrator sees everyone's.
    assert status_of(admin, installation_id)["accountId"] == user.account["id"]
    listed = expect(admin.get("/installations", params={"plugin": plugin["id"]}), 200)["data"]
    assert [row["installationId"] for row in listed] == [installation_id]


# -- logs and lists ----------------------------------------------------------------------------------

def test_logs_are_timestamped_ordered_and_followed_with_a_cursor(admin, publisher, user):
    plugin = new_plugin(admin, publisher, user, packages("1.0.0"))
    started = install(user, plugin["id"])
    logs_url = started["links"]["logs"]

    # Follow the log live, as a client would: page after page with nextCursor until the job is over.
    followed, cursor, finished_pages = [], None, 0

    def follow():
        nonlocal cursor, finished_pages
        params = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = expect(user.get(logs_url, params=params), 200)
        followed.extend(page["data"])
        assert page["pagination"]["limit"] == 2 and len(page["data"]) <= 2
        if page["data"]:
            assert page["pagination"]["nextCursor"] == page["data"][-1]["id"]
        cursor = page["pagination"]["nextCursor"] or cursor
        if page["installation"]["status"] in ("completed", "failed") and not page["pagination"]["hasMore"]:
            finished_pages += 1
        return finished_pages >= 2  # one more page after the end: nothing new arrives

    wait_for(follow, timeout=60, interval=0.02, message="the log to be followed to the end")
    assert status_of(user, started["installationId"])["status"] == "completed"

    lines = all_logs(user, started["installationId"])
    assert followed == lines  # nothing missed, nothing twice
    ids = [int(line["id"]) for line in lines]
    assert ids == sorted(ids) and len(set(ids)) == len(ids)
    timestamps = [line["timestamp"] for line in lines]
    assert all(stamp.endswith("Z") for stamp in timestamps) and timestamps == sorted(timestamps)
    steps = []
    for line in lines:
        if line["step"] not in steps:
            steps.append(line["step"])
    assert steps == ["queued", "resolve", "download", "validate", "deploy", "health", "activate", "done"], steps
    assert any("SHA-256" in line["message"] and "verified" in line["message"] for line in lines)

    end = expect(user.get(logs_url, params={"cursor": lines[-1]["id"]}), 200)
    assert end["data"] == [] and end["pagination"]["hasMore"] is False
    assert end["pagination"]["nextCursor"] == lines[-1]["id"]
    middle = expect(user.get(logs_url, params={"cursor": lines[1]["id"], "limit": 3}), 200)
    assert middle["data"] == lines[2:5] and middle["pagination"]["hasMore"] is True
    expect_error(user.get(logs_url, params={"cursor": "not-a-cursor"}), 400, "VALIDATION_ERROR")


def test_list_installations_filters_by_plugin_environment_namespace_and_status(admin, publisher, user):
    first = new_plugin(admin, publisher, user, packages("1.0.0"))
    second = new_plugin(admin, publisher, user, packages("1.0.0"))
    staging, production = env_name(), env_name()
    ids = {
        "first-staging": install(user, first["id"], environment=staging, namespace="team-a"),
        "first-production": install(user, first["id"], environment=production, namespace="team-b"),
        "second-staging": install(user, second["id"], environment=staging, namespace="team-a"),
    }
    ids = {label: started["installationId"] for label, started in ids.items()}
    for installation_id in ids.values():
        wait_for_installation(user, installation_id)

    def listed(client=user, **params):
        body = expect(client.get("/installations", params=params), 200)
        assert body["pagination"]["total"] == len(body["data"]) or "limit" in params
        return {row["installationId"] for row in body["data"]}

    assert listed() == set(ids.values())
    assert listed(plugin=first["id"]) == {ids["first-staging"], ids["first-production"]}
    assert listed(plugin=first["name"]) == {ids["first-staging"], ids["first-production"]}
    assert listed(environment=staging) == {ids["first-staging"], ids["second-staging"]}
    assert listed(namespace="team-b") == {ids["first-production"]}
    assert listed(plugin=first["id"], environment=staging, namespace="team-a") == {ids["first-staging"]}
    assert listed(status="completed") == set(ids.values())
    assert listed(status="pending,in_progress,failed,cancelled") == set()
    assert listed(environment=unique_name("nowhere").replace("_", "-")) == set()
    page = expect(user.get("/installations", params={"limit": 2}), 200)
    assert len(page["data"]) == 2 and page["pagination"]["total"] == 3 and page["pagination"]["hasNextPage"]
    expect_error(user.get("/installations", params={"status": "exploded"}), 400, "VALIDATION_ERROR")
    # An administrator narrows everyone's installations down to one account.
    assert listed(admin, accountId=user.account["id"]) == set(ids.values())


# -- crash safety ----------------------------------------------------------------------------------

def test_a_worker_killed_during_deploy_leaves_nothing_stuck_and_the_files_consistent(
        stack, admin, publisher, user, install_root):
    versions = packages("1.0.0", "2.0.0", big="2.0.0")
    plugin = new_plugin(admin, publisher, user, versions)
    started = install(user, plugin["id"], version="1.0.0", configuration={"release": 1})
    installation_id = started["installationId"]
    before = wait_for_installation(user, installation_id)
    deployed = Deployed(install_root, before, plugin)
    old_entry = deployed.entry()

    # Upgrade to the big package, in place (rolling), and kill the worker in the middle of its deploy.
    expect(user.patch(f"/installations/{installation_id}", json={"version": "2.0.0", "configuration": {"release": 2}}),
           202)
    service = next(service for service in SERVICES if service.name == "install-service")
    try:
        deploying = wait_for_status(user, installation_id,
                                    lambda d: d["progress"]["currentStep"].startswith("Deploying")
                                    or d["status"] not in ("pending", "in_progress"),
                                    "the job to reach its deploy step", timeout=60)
        stack.stop_process(INSTALL_WORKER, signal.SIGKILL)
        assert deploying["status"] == "in_progress", deploying
        killed_at = status_of(user, installation_id)
        assert killed_at["status"] == "in_progress", killed_at  # the worker died holding the job
    finally:
        if INSTALL_WORKER not in stack.processes:
            stack.start_worker(service)
        wait_for(lambda: stack.is_ready(INSTALL_WORKER), timeout=60, message="the install worker to restart")

    # Never stuck: the job is taken over and ends either completed or failed-and-rolled-back.
    end = wait_for_installation(user, installation_id, statuses=("completed", "failed"), timeout=90)
    assert end["attempts"] >= 2, end
    messages = [line["message"] for line in all_logs(user, installation_id)]
    assert any("interrupted" in message for message in messages), messages
    if end["status"] == "completed":
        assert end["installedVersion"] == "2.0.0" and end["previousVersion"] == "1.0.0"
        entry = deployed.entry()
        assert entry == entry_of(versions["2.0.0"], plugin["name"], {"release": 2}, integrity=entry["integrity"])
        assert deployed.version_in(deployed.folder()) == "2.0.0"
        assert (deployed.folder() / "dist" / "big.bin").stat().st_size == BIG_MEGABYTES * 1024 * 1024
    else:
        # Rolled back: the previous deployment is exactly as it was, and the installation says so.
        assert end["error"]["code"], end
        assert end["installedVersion"] == "1.0.0" and end["version"] == "1.0.0"
        assert deployed.entry() == old_entry
        assert deployed.version_in(deployed.folder()) == "1.0.0"
        assert not (deployed.folder() / "dist" / "big.bin").exists()
    assert deployed.plugin_folders() == [plugin["name"]]
    deployed.assert_settled()

    # The periodic health check of the restarted worker agrees that the files are intact.
    checked = wait_for_status(user, installation_id,
                              lambda d: d["healthCheckedAt"] and d["healthCheckedAt"] > end["completedAt"],
                              "a health check after the job", timeout=30)
    assert checked["health"] == "healthy", checked
    # And the restarted worker takes new jobs: here, the uninstall of the big package (which also spares the
    # rest of the session a health check hashing it every second).
    expect(user.delete(f"/installations/{installation_id}"), 202)
    wait_for_installation(user, installation_id, statuses=("uninstalled",))
    assert deployed.plugin_folders() == []
