"""The marketplace command over the fake API: settings, output, install exit codes."""

import json
import subprocess
import sys
from importlib.metadata import entry_points

import pytest
from sdk_fake_api import Reply, error_body

from backstage_marketplace import __version__, cli


@pytest.fixture
def env(api, monkeypatch, tmp_path):
    monkeypatch.setenv("MARKETPLACE_CONFIG", str(tmp_path / "config.json"))
    monkeypatch.setenv("MARKETPLACE_URL", api.url)
    monkeypatch.setenv("MARKETPLACE_API_KEY", "mkp_env")
    monkeypatch.setattr("time.sleep", lambda _s: None)
    return tmp_path


def plugins_page(items):
    return {"data": items, "pagination": {"page": 1, "limit": 20, "total": len(items), "totalPages": 1,
                                          "hasNextPage": False, "hasPrevPage": False}, "links": {}, "metadata": {}}


def test_settings_come_from_flags_then_environment_then_the_config_file(api, env, monkeypatch, capsys):
    api.route("GET", "/me", Reply(200, {"data": {"id": "acct_1", "name": "Ann", "role": "publisher"}}))
    api.route("GET", "/plugins", Reply(200, plugins_page([])))
    assert cli.main(["configure", "--url", api.url, "--api-key", "mkp_saved"]) == 0
    saved = json.loads((env / "config.json").read_text())
    assert saved == {"url": api.url, "apiKey": "mkp_saved"}
    assert oct((env / "config.json").stat().st_mode & 0o777) == "0o600"
    assert "as Ann (publisher)" in capsys.readouterr().out

    cli.main(["plugins", "list"])
    assert api.received[-1].headers["Authorization"] == "Bearer mkp_env"
    monkeypatch.delenv("MARKETPLACE_API_KEY")
    cli.main(["plugins", "list"])
    assert api.received[-1].headers["Authorization"] == "Bearer mkp_saved"
    cli.main(["plugins", "list", "--api-key", "mkp_flag"])
    assert api.received[-1].headers["Authorization"] == "Bearer mkp_flag"


def test_plugins_list_as_a_table_and_as_json(api, env, capsys):
    items = [{"id": "plugin_1", "name": "catalog", "version": "1.2.3", "category": "backend",
              "rating": {"average": 4.5, "count": 2}, "downloads": 10, "verified": True}]
    api.route("GET", "/plugins", Reply(200, plugins_page(items)))
    assert cli.main(["plugins", "list", "--category", "backend", "--verified"]) == 0
    out = capsys.readouterr().out
    assert "plugin_1" in out and "4.5 (2)" in out and out.splitlines()[0].split()[:2] == ["ID", "NAME"]
    assert api.received[-1].query == {"category": "backend", "verified": "true"}
    assert cli.main(["--json", "plugins", "list"]) == 0
    assert json.loads(capsys.readouterr().out)["data"] == items


def test_api_errors_exit_3_with_the_code_and_request_id(api, env, capsys):
    api.route("GET", "/plugins/nope", Reply(404, error_body("PLUGIN_NOT_FOUND", "Plugin with ID 'nope' not found",
                                                            request_id="req_42"), {"X-Request-Id": "req_42"}))
    assert cli.main(["plugins", "show", "nope"]) == cli.EXIT_API_ERROR
    err = capsys.readouterr().err
    assert "PLUGIN_NOT_FOUND" in err and "req_42" in err
    assert cli.main(["plugins", "show", "nope", "--json"]) == cli.EXIT_API_ERROR
    assert json.loads(capsys.readouterr().err)["error"]["code"] == "PLUGIN_NOT_FOUND"


def installation_api(api, statuses, error=None):
    polls = {"n": 0}

    def status(_request):
        state, percentage = statuses[min(polls["n"], len(statuses) - 1)]
        polls["n"] += 1
        data = {"installationId": "install_1", "pluginId": "plugin_1", "status": state, "duration": 3,
                "progress": {"current": percentage, "total": 100, "percentage": percentage,
                             "currentStep": "Deploying"}}
        if state == "failed":
            data["error"] = error
        return Reply(200, {"data": data})

    def logs(request):
        cursor = int(request.query.get("cursor", 0))
        lines = [{"id": str(n), "timestamp": f"2024-08-07T10:00:0{n}Z", "level": "info", "step": "deploy",
                  "message": f"message {n}"} for n in range(cursor + 1, min(polls["n"], 3) + 1)]
        return Reply(200, {"data": lines, "pagination": {"nextCursor": lines[-1]["id"] if lines else
                                                         request.query.get("cursor")}})

    api.route("POST", "/plugins/plugin_1/install",
              Reply(202, {"data": {"installationId": "install_1", "status": "pending",
                                   "message": "Installation of plugin 'x' has been initiated"}}))
    api.route("GET", "/installations/install_1", status)
    api.route("GET", "/installations/install_1/logs", logs)


def test_install_follows_progress_and_logs_and_exits_0_when_completed(api, env, capsys):
    installation_api(api, [("pending", 0), ("in_progress", 65), ("completed", 100)])
    code = cli.main(["install", "plugin_1", "--version", "1.0.0", "-e", "production", "-n", "plugins",
                     "--strategy", "blue-green", "--config", '{"apiUrl": "https://x"}', "--poll-interval", "0"])
    captured = capsys.readouterr()
    assert code == 0
    assert api.requests_to("POST", "/plugins/plugin_1/install")[0].json() == {
        "version": "1.0.0", "environment": "production", "namespace": "plugins", "deploymentStrategy": "blue-green",
        "configuration": {"apiUrl": "https://x"}}
    assert [line for line in captured.out.splitlines() if "message" in line] == [
        f"2024-08-07T10:00:0{n}Z INFO [deploy] message {n}" for n in (1, 2, 3)]
    assert "[ 65%] in_progress: Deploying" in captured.err and "[100%] completed" in captured.err
    assert "installation install_1 completed in 3s" in captured.out


def test_install_exits_1_when_the_installation_fails(api, env, capsys):
    installation_api(api, [("in_progress", 10), ("failed", 10)],
                     {"code": "DEPENDENCY_UNRESOLVED", "message": "No version satisfies ^9", "step": "resolve"})
    assert cli.main(["install", "plugin_1", "--poll-interval", "0", "--json"]) == cli.EXIT_FAILED
    captured = capsys.readouterr()
    assert json.loads(captured.out)["status"] == "failed"


def test_install_config_from_a_file_and_bad_json(api, env, capsys):
    installation_api(api, [("completed", 100)])
    (env / "conf.json").write_text('{"a": 1}')
    assert cli.main(["install", "plugin_1", "--config", f"@{env / 'conf.json'}", "--no-wait"]) == 0
    assert api.received[-1].json() == {"configuration": {"a": 1}}
    assert cli.main(["install", "plugin_1", "--config", "{nope"]) == cli.EXIT_USAGE
    assert "not valid JSON" in capsys.readouterr().err


def test_live_progress_bar_on_a_terminal():
    class Terminal:
        def __init__(self):
            self.text = ""

        def write(self, value):
            self.text += value

        def flush(self):
            pass

    out, err = Terminal(), Terminal()
    reporter = cli.ProgressReporter(out, err, live=True)
    reporter.progress({"status": "in_progress", "progress": {"percentage": 50, "currentStep": "Deploying"}})
    reporter.log({"timestamp": "t", "level": "info", "message": "hello"})
    reporter.finish()
    assert "[###############---------------]  50.0%  in_progress  Deploying" in err.text
    assert "\r\033[K" in err.text and out.text == "t INFO hello\n"


def test_publish_creates_a_plugin_and_a_version_from_files(api, env, capsys):
    (env / "plugin.json").write_text(json.dumps({"name": "my-plugin", "description": "d", "category": "ci"}))
    (env / "version.json").write_text(json.dumps({"version": "0.9.0", "changelog": "c"}))
    (env / "pkg.tgz").write_bytes(b"\x1f\x8bpackage")
    api.route("POST", "/plugins", Reply(201, {"data": {"id": "plugin_9", "name": "my-plugin"}}))
    api.route("POST", "/plugins/plugin_9/versions", Reply(201, {"data": {"version": "1.0.0", "package": {
        "integrity": "sha256-abc"}}}))
    assert cli.main(["publish", "--plugin-file", str(env / "plugin.json"), "--metadata", str(env / "version.json"),
                     "--version", "1.0.0", "--package", str(env / "pkg.tgz")]) == 0
    out = capsys.readouterr().out
    assert "created plugin plugin_9" in out and "published plugin_9 1.0.0 sha256-abc" in out
    assert b'{"version": "1.0.0", "changelog": "c"}' in api.received[-1].body
    assert cli.main(["publish", "--package", str(env / "pkg.tgz")]) == cli.EXIT_USAGE


def test_webhooks_create_shows_the_secret_once(api, env, capsys):
    api.route("POST", "/webhooks", Reply(201, {"data": {"id": "wh_1", "url": "https://x/h", "active": True,
                                                        "events": ["plugin.*"], "secret": "whsec_abc"}}))
    assert cli.main(["webhooks", "create", "https://x/h", "--event", "plugin.*"]) == 0
    assert "whsec_abc" in capsys.readouterr().out
    assert api.received[-1].json() == {"url": "https://x/h", "events": ["plugin.*"]}


def test_unreachable_api_exits_4(env, monkeypatch, capsys):
    monkeypatch.setenv("MARKETPLACE_URL", "http://127.0.0.1:9")
    assert cli.main(["plugins", "list", "--retries", "0"]) == cli.EXIT_UNREACHABLE
    assert "could not reach" in capsys.readouterr().err


def test_the_console_script_and_python_dash_m_run_the_same_main():
    (script,) = entry_points(group="console_scripts", name="marketplace")
    assert script.value == "backstage_marketplace.cli:main" and script.load() is cli.main
    ran = subprocess.run([sys.executable, "-m", "backstage_marketplace.cli", "--version"], capture_output=True,
                         text=True, timeout=60)
    assert (ran.returncode, ran.stdout) == (0, f"marketplace {__version__}\n")
