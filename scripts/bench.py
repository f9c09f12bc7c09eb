"""`make bench`: every benchmark in one run, each printing its own figures.

- gateway overhead: a stack on PostgreSQL and Redis (random databases, own broker prefix), then
  gateway/bench.py alternates `GET /plugins?limit=20` through the gateway and straight to the catalog;
- catalog at scale, installs, webhooks: each service's own bench.py, which starts what it needs.

Loopback only; every part is bounded in time. `--only gateway,install` runs some of them; `--plugins 2000
--quick` checks the tooling on a small catalog and short rounds (the figures then judge nothing).
"""

import argparse
import os
import secrets
import subprocess
import sys
import tempfile
from contextlib import ExitStack
from pathlib import Path

from marketplace_shared.testing import delete_broker_objects, free_port, temporary_postgres_database, unique_name
from stack import ALL, Stack

REPO = Path(__file__).resolve().parents[1]
PYTHON = sys.executable
SERVICE_BENCHES = {
    "catalog": REPO / "catalog-service" / "bench.py",
    "install": REPO / "install-service" / "bench.py",
    "webhook": REPO / "webhook-service" / "bench.py",
}


def banner(title: str) -> None:
    print(f"\n=== {title} " + "=" * max(0, 70 - len(title)), flush=True)


def gateway_bench(quick: bool = False) -> int:
    banner("gateway overhead (PostgreSQL, Redis rate limits)")
    run_id = unique_name("bench")
    prefix = f"{run_id}."
    admin_key = f"mkp_{secrets.token_urlsafe(30)}"
    with ExitStack() as cleanup:
        var_dir = Path(cleanup.enter_context(tempfile.TemporaryDirectory()))
        databases = {service.name: cleanup.enter_context(temporary_postgres_database(f"{run_id}_{service.package}"))
                     for service in ALL}
        env = {"EVENT_PREFIX": prefix, "MARKETPLACE_ADMIN_API_KEY": admin_key,
               "INTERNAL_TOKEN_SECRET": secrets.token_urlsafe(32),
               "REDIS_URL": os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/15"),
               "LOG_LEVEL": "WARNING"}
        stack = Stack(var_dir=var_dir, env=env, ports={s.name: free_port() for s in ALL}, databases=databases)
        cleanup.callback(delete_broker_objects, prefix,
                         [prefix + s.name for s in ALL if s.has_worker] + [prefix + "install-service.jobs"],
                         prefix + "marketplace.events")
        cleanup.callback(stack.stop)
        stack.start(timeout=120)
        return subprocess.call([PYTHON, str(REPO / "gateway" / "bench.py"), "--gateway-url", stack.gateway_url,
                                "--catalog-url", stack.url("catalog-service"), "--api-key", admin_key,
                                "--enterprise-from-admin", "--internal-secret", env["INTERNAL_TOKEN_SECRET"],
                                "--gateway-pid", str(stack.processes["gateway"].pid),
                                "--catalog-pid", str(stack.processes["catalog-service"].pid)]
                               + (["--duration", "4"] if quick else []))


def service_bench(name: str, extra: list[str]) -> int:
    script = SERVICE_BENCHES[name]
    banner(f"{name} ({script.relative_to(REPO)})")
    if not script.exists():
        print(f"{script.relative_to(REPO)} is not there yet: nothing measured")
        return 1
    return subprocess.call([PYTHON, str(script), *extra], cwd=script.parent,
                           env={**os.environ, "LOG_LEVEL": os.environ.get("LOG_LEVEL", "WARNING")})


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", default="gateway,catalog,install,webhook")
    parser.add_argument("--plugins", type=int, help="catalog bench: the largest catalog (the other is a tenth)")
    parser.add_argument("--quick", action="store_true", help="gateway and catalog: short runs to check the tooling")
    args = parser.parse_args(argv)
    catalog_args = ([f"--plugins={args.plugins}"] if args.plugins else []) + (["--quick"] if args.quick else [])
    failures = []
    for part in args.only.split(","):
        code = (gateway_bench(args.quick) if part == "gateway"
                else service_bench(part, catalog_args if part == "catalog" else []))
        if code:
            failures.append(part)
    if failures:
        print(f"\nbenchmarks that missed a goal or did not complete: {', '.join(failures)}", file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
