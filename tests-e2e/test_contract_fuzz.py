"""The published contract is true: schemathesis against the running gateway's merged OpenAPI document.

Every check and every phase (examples, coverage, fuzzing, stateful through the document's links), on
the real system (PostgreSQL, RabbitMQ), once as a publisher and once as an admin. The stack runs with
WEBHOOK_ALLOWED_NETWORKS_ONLY=true and loopback allowed, so no generated webhook URL leaves this machine.

`make test` runs FUZZ_EXAMPLES (default 3) examples per operation with a fixed seed; `make fuzz` many more
with a random one (FUZZ_SEED=random). A failure prints schemathesis' report: each case with a curl line.
"""

import os
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import jwt
import pytest

from api_client import PREFIX, expect
from marketplace_shared.testing import unique_name

SCHEMATHESIS = Path(sys.executable).with_name("schemathesis")
CONFIG = Path(__file__).resolve().with_name("schemathesis.toml")
EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "3"))
WORKERS = os.environ.get("FUZZ_WORKERS", "2")
SEED = os.environ.get("FUZZ_SEED", "20261201")
TIMEOUT = float(os.environ.get("FUZZ_TIMEOUT", "600"))


def schemathesis_run(stack, token: str, report_dir: Path) -> subprocess.CompletedProcess:
    command = [
        str(SCHEMATHESIS), "--no-color", "--config-file", str(CONFIG),
        "run", f"{stack.gateway_url}{PREFIX}/openapi.json",
        "--url", stack.gateway_url,
        "--checks", "all",
        "--phases", "examples,coverage,fuzzing,stateful",
        "--max-examples", str(EXAMPLES),
        "--workers", WORKERS,
        "--header", f"Authorization: Bearer {token}",
        "--request-timeout", "30",
        "--generation-database", "none",
        "--report", "junit", "--report-dir", str(report_dir),
    ]
    if SEED != "random":
        command += ["--seed", SEED]
    here = str(Path(__file__).resolve().parent)
    env = {**os.environ, "NO_PROXY": "*", "no_proxy": "*", "SCHEMATHESIS_HOOKS": "fuzz_hooks",
           "PYTHONPATH": os.pathsep.join(filter(None, [here, os.environ.get("PYTHONPATH")]))}
    env.pop("HTTP_PROXY", None)
    env.pop("HTTPS_PROXY", None)
    return subprocess.run(command, capture_output=True, text=True, timeout=TIMEOUT, env=env, check=False)


def caller_token(stack, admin, role: str) -> str:
    """A new account of the role, signed in with an identity provider's token (JWT_SHARED_SECRET): the
    fuzzer revokes keys it finds (DELETE /api-keys/{key_id}), but nothing it sends can revoke this."""
    subject = unique_name(f"fuzz-{role}")
    expect(admin.post("/admin/accounts", json={"name": subject, "email": f"{subject}@example.com", "role": role,
                                               "externalSubject": subject}), 201)
    return jwt.encode({"sub": subject, "exp": int(time.time()) + 3600}, stack.jwt_secret, algorithm="HS256")


@pytest.mark.timeout(2 * TIMEOUT + 60)
def test_schemathesis_finds_no_failure_as_a_publisher_and_as_an_admin(stack, admin, tmp_path):
    tokens = {role: caller_token(stack, admin, role) for role in ("publisher", "admin")}
    # Side by side (the admin's run may change the publisher's account: fewer cases reach the service then,
    # but none can fail for it).
    with ThreadPoolExecutor(len(tokens)) as pool:
        runs = {role: pool.submit(schemathesis_run, stack, token, tmp_path / role) for role, token in tokens.items()}
        results = {role: run.result() for role, run in runs.items()}
    failed = {role: result for role, result in results.items() if result.returncode != 0}
    report = "\n\n".join(f"===== schemathesis as {role} (exit {result.returncode}) =====\n"
                         f"{result.stdout[-60_000:]}\n{result.stderr[-5_000:]}" for role, result in failed.items())
    assert not failed, report
    for result in results.values():
        # Every phase ran and found nothing (not an empty or unreachable document).
        summary = result.stdout[result.stdout.rindex("SUMMARY"):]
        # (the document has no examples, so that phase is skipped)
        for phase in ("Coverage", "Fuzzing", "Stateful"):
            assert f"✅ {phase}" in summary, summary
        assert "No failures" in summary or " passed" in summary, summary
