"""The Go SDK (sdk/go) against the real system: a Go program (tests-e2e/go, using the module through a
`replace` directive) drives every service through the gateway, and the spec's Go example runs verbatim.

The program prints one result per named check; each test here asserts one of them. A second gateway with a
window of 3 requests per 2 seconds lets the SDK's retry of a 429 honour Retry-After. Go builds offline
(GOPROXY=off): the SDK needs nothing but the standard library.
"""

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from factories import strict_gateway_beside

ROOT = Path(__file__).resolve().parents[1]
PROGRAM = ROOT / "tests-e2e" / "go"
SDK = ROOT / "sdk" / "go"
SPEC = ROOT / "docs" / "spec" / "marketplace-api.md"
CHECKS = ["setup", "publisher", "plugins", "pagination", "errors", "quota_used_up", "retried_429", "installations",
          "cancel", "reviews", "webhooks", "me_and_api_keys", "environments", "context"]


def go_env(tmp: Path) -> dict:
    env = {key: value for key, value in os.environ.items() if "proxy" not in key.lower()}
    env.update({"GOFLAGS": "-mod=mod", "GOPROXY": "off", "GOTOOLCHAIN": "local", "GOWORK": "off",
                "GOCACHE": env.get("GOCACHE") or str(Path.home() / ".cache" / "go-build"),
                "GOPATH": env.get("GOPATH") or str(tmp / "gopath")})
    return env


def go_build(directory: Path, output: Path, env: dict) -> Path:
    go = shutil.which("go")
    assert go, "go is not installed (make test installs Debian's golang-go)"
    built = subprocess.run([go, "build", "-o", str(output), "."], cwd=directory, env=env, capture_output=True,
                           text=True, timeout=300)
    assert built.returncode == 0, built.stdout + built.stderr
    return output


@pytest.fixture(scope="module")
def strict_gateway(stack, tmp_path_factory):
    """A second gateway on the same accounts with a window of 3 requests per 2 seconds."""
    with strict_gateway_beside(stack, tmp_path_factory.mktemp("strict-gateway")) as second:
        yield second


@pytest.fixture(scope="module")
def go_run(stack, strict_gateway, tmp_path_factory):
    """Build and run the e2e program once; its JSON result and stderr (one line per check)."""
    tmp = tmp_path_factory.mktemp("go-e2e")
    env = go_env(tmp)
    binary = go_build(PROGRAM, tmp / "marketplace-e2e", env)
    run_env = {**env, "MARKETPLACE_URL": stack.gateway_url, "ADMIN_API_KEY": stack.admin_key,
               "STRICT_URL": strict_gateway.gateway_url}
    result = subprocess.run([str(binary)], env=run_env, capture_output=True, text=True, timeout=600)
    assert result.stdout.strip(), f"no output (exit {result.returncode}):\n{result.stderr}"
    return {"exit": result.returncode, "stderr": result.stderr, **json.loads(result.stdout)}


@pytest.mark.parametrize("check", CHECKS)
def test_go_sdk_check(go_run, check):
    assert go_run["checks"].get(check) == "ok", f"{check}: {go_run['checks'].get(check)}\n{go_run['stderr']}"


def test_go_program_exits_0_when_every_check_passes(go_run):
    assert set(go_run["checks"]) == set(CHECKS)
    assert go_run["exit"] == (0 if all(v == "ok" for v in go_run["checks"].values()) else 1)


def spec_go_example() -> str:
    text = SPEC.read_text()
    section = text[text.index("### Go"):]
    return re.search(r"```go\n(.*?)```", section, re.S).group(1)


def test_the_spec_go_example_compiles_and_runs_as_written(stack, go_run, tmp_path):
    """The example exactly as the spec writes it, in a main function; only the key, the URL and the plugin id
    are the local ones (plugin ids are generated: 'plugin_123' names the plugin the program published, in
    category monitoring, verified, with a version 1.2.3). After it, the program waits for the installation."""
    assert go_run["checks"]["setup"] == "ok", go_run["stderr"]
    example = spec_go_example()
    import_line = 'import "github.com/backstage/marketplace-sdk-go"'
    assert import_line in example and "client.Plugins.List(&marketplace.ListOptions{" in example
    assert 'client.Plugins.Install("plugin_123", &marketplace.InstallOptions{' in example
    body = example.replace(import_line, "")
    body = (body.replace('"YOUR_API_KEY"', json.dumps(go_run["userKey"]))
                .replace('"https://your-portal.com"', json.dumps(stack.gateway_url))
                .replace('"plugin_123"', json.dumps(go_run["plugin"])))
    body = "\n".join("\t" + line for line in body.strip().splitlines())
    source = f"""package main

{import_line}

import (
\t"context"
\t"encoding/json"
\t"os"
\t"time"
)

func main() {{
{body}

\tctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
\tdefer cancel()
\tvar final *marketplace.Installation
\tif err == nil {{
\t\tpoll := &marketplace.WaitOptions{{PollInterval: 200 * time.Millisecond}}
\t\tfinal, err = client.Installations.Wait(ctx, installation.InstallationID, poll)
\t}}
\tout := map[string]interface{{}}{{"plugins": plugins, "installation": installation, "final": final}}
\tif err != nil {{
\t\tout["error"] = err.Error()
\t}}
\t_ = json.NewEncoder(os.Stdout).Encode(out)
}}
"""
    (tmp_path / "main.go").write_text(source)
    (tmp_path / "go.mod").write_text("module spec-example\n\ngo 1.19\n\n"
                                     "require github.com/backstage/marketplace-sdk-go v0.0.0\n\n"
                                     f"replace github.com/backstage/marketplace-sdk-go => {SDK}\n")
    env = go_env(tmp_path)
    binary = go_build(tmp_path, tmp_path / "spec-example", env)
    result = subprocess.run([str(binary)], env=env, capture_output=True, text=True, timeout=180)
    assert result.returncode == 0, result.stdout + result.stderr
    out = json.loads(result.stdout)
    assert "error" not in out, out
    plugins, installation, final = out["plugins"], out["installation"], out["final"]
    assert plugins["data"] and all(p["category"] == "monitoring" and p["verified"] for p in plugins["data"])
    assert installation["pluginId"] == go_run["plugin"] and installation["details"]["version"] == "1.2.3"
    assert installation["details"]["environment"] == "production"
    assert final["status"] == "completed", final


def test_the_e2e_program_is_gofmt_and_vet_clean(tmp_path):
    env = go_env(tmp_path)
    unformatted = subprocess.run(["gofmt", "-l", "."], cwd=PROGRAM, env=env, capture_output=True, text=True, timeout=60)
    assert unformatted.returncode == 0 and unformatted.stdout == "", unformatted.stdout + unformatted.stderr
    vet = subprocess.run(["go", "vet", "./..."], cwd=PROGRAM, env=env, capture_output=True, text=True, timeout=300)
    assert vet.returncode == 0, vet.stdout + vet.stderr
