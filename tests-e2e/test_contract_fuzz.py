"""The published contract is true: schemathesis against the running gateway's merged OpenAPI document.

Every check and every phase (examples, coverage, fuzzing, stateful through the document's links), on
the real system (PostgreSQL, RabbitMQ), once as a publisher and once as an admin. The stack runs with
WEBHOOK_ALLOWED_NETWORKS_ONLY=true and loopback allowed, so no generated webhook URL leaves this machine.

`make test` runs FUZZ_EXAMPLES (default 8) examples per operation with a fixed seed; `make fuzz` many more
with a random one (FUZZ_SEED=random). A failure prints schemathesis' report: each case with a curl line.
"""

import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from api_client import PREFIX
from factories import new_account

SCHEMATHESIS = Path(sys.executable).with_name("schemathesis")
EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "8"))
SEED = os.environ.get("FUZZ_SEED", "20261201")
TIMEOUT = float(os.environ.get("FUZZ_TIMEOUT", "600"))


def schemathesis_run(stack, key: str, report_dir: Path) -> subprocess.CompletedProcess:
    command = [
        str(SCHEMATHESIS), "--no-color", "run", f"{stack.gateway_url}{PREFIX}/openapi.json",
        "--url", stack.gateway_url,
        "--checks", "all",
        "--phases", "examples,coverage,fuzzing,stateful",
        "--max-examples", str(EXAMPLES),
        "--workers", "1",
        "--header", f"Authorization: Bearer {key}",
        "--request-timeout", "30",
        "--generation-database", "none",
        "--report", "junit", "--report-dir", str(report_dir),
    ]
    if SEED != "random":
        command += ["--seed", SEED]
    env = {**os.environ, "NO_PROXY": "*", "no_proxy": "*"}
    env.pop("HTTP_PROXY", None)
    env.pop("HTTPS_PROXY", None)
    return subprocess.run(command, capture_output=True, text=True, timeout=TIMEOUT, env=env, check=False)


@pytest.mark.timeout(TIMEOUT + 60)
def test_schemathesis_finds_no_failure_as_a_publisher_and_as_an_admin(stack, admin, tmp_path):
    publisher = new_account(admin, "publisher")
    roles = {"publisher": publisher.key, "admin": stack.admin_key}
    with ThreadPoolExecutor(len(roles)) as pool:
        runs = {role: pool.submit(schemathesis_run, stack, key, tmp_path / role) for role, key in roles.items()}
        results = {role: run.result() for role, run in runs.items()}
    failed = {role: result for role, result in results.items() if result.returncode != 0}
    report = "\n\n".join(f"===== schemathesis as {role} (exit {result.returncode}) =====\n"
                         f"{result.stdout[-60_000:]}\n{result.stderr[-5_000:]}" for role, result in failed.items())
    assert not failed, report
    for role, result in results.items():
        # The run really tested the operations, in every phase (not an empty or unreachable document).
        assert "No failures" in result.stdout or "passed" in result.stdout, result.stdout[-3000:]
        assert "Stateful" in result.stdout and "Fuzzing" in result.stdout, result.stdout[-3000:]
