"""The TypeScript SDK (sdk/typescript) against the real system, through the gateway only.

The package is built the way a user gets it: `npm ci` from the committed lockfile, the build, `npm pack`,
and the tarball installed into an empty project; then tests-e2e/typescript/e2e.mjs uses it: the spec's
TypeScript example verbatim, every resource, pagination across pages, the error mapping, a 429 retried
after Retry-After (a second gateway with a two-second window), `installations.wait` following a job to
`completed`, and webhooks received by a Node receiver and checked with `verifyWebhook`.
"""

import json
import secrets
import shutil
import subprocess
from pathlib import Path

import pytest

from factories import strict_gateway_beside
from seed import npm_package, png_icon

ROOT = Path(__file__).resolve().parents[1]
SDK_DIR = ROOT / "sdk" / "typescript"
SCRIPTS = Path(__file__).resolve().parent / "typescript"
SPEC = ROOT / "docs" / "spec" / "marketplace-api.md"
CHECKS = ["accounts", "publisher", "catalog", "pagination", "errors", "rate-limits", "webhooks", "installations",
          "reviews", "spec-example"]


def npm(*args: str, cwd: Path, timeout: float = 300) -> str:
    result = subprocess.run(["npm", *args, "--no-audit", "--no-fund"], cwd=cwd, capture_output=True, text=True,
                            timeout=timeout)
    assert result.returncode == 0, f"npm {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}"
    return result.stdout


@pytest.fixture(scope="module")
def sdk_project(tmp_path_factory) -> Path:
    """An empty project with the SDK installed from the tarball `npm pack` makes."""
    npm("ci", cwd=SDK_DIR)
    npm("run", "build", cwd=SDK_DIR)
    packed = tmp_path_factory.mktemp("sdk-pack")
    tarball = packed / json.loads(npm("pack", "--json", "--pack-destination", str(packed), cwd=SDK_DIR))[0]["filename"]
    project = tmp_path_factory.mktemp("sdk-project")
    (project / "package.json").write_text(json.dumps({"name": "sdk-e2e", "private": True, "type": "module"}))
    npm("install", "--offline", str(tarball), cwd=project)  # no runtime dependency: nothing to fetch
    installed = json.loads((project / "node_modules" / "@backstage" / "marketplace-sdk" / "package.json").read_text())
    assert installed["name"] == "@backstage/marketplace-sdk" and not installed.get("dependencies")
    for script in SCRIPTS.glob("*.mjs"):
        shutil.copy(script, project / script.name)
    return project


@pytest.fixture
def strict_gateway(stack, tmp_path):
    """A second gateway on the same accounts with a window of 3 requests per 2 seconds."""
    with strict_gateway_beside(stack, tmp_path) as second:
        yield second


def test_the_typescript_sdk_against_the_real_system(stack, strict_gateway, sdk_project, tmp_path):
    names = [f"ts-{secrets.token_hex(5)}" for _ in range(3)]
    releases = [(names[0], "1.0.0"), (names[0], "1.2.3"), (names[1], "0.1.0"), (names[1], "0.2.0"), (names[2], "1.0.0")]
    packages = {f"{name}-{version}": npm_package(name, version) for name, version in releases}
    files = {}
    for name, content in {**packages, **{f"icon{i}": png_icon(i) for i in range(3)}}.items():
        path = tmp_path / name
        path.write_bytes(content)
        files[name] = str(path)
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"gatewayUrl": stack.gateway_url, "strictGatewayUrl": strict_gateway.gateway_url,
                                  "adminKey": stack.admin_key, "names": names, "files": files, "spec": str(SPEC)}))
    env = {"PATH": "/usr/local/bin:/usr/bin:/bin", "E2E_CONFIG": str(config), "NODE_NO_WARNINGS": "1"}
    result = subprocess.run(["node", "e2e.mjs"], cwd=sdk_project, env=env, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, f"stdout:\n{result.stdout}\nstderr:\n{result.stderr}"
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    assert summary == {"ok": True, "checks": CHECKS}
