"""Gateway overhead benchmark: authenticated `GET /plugins?limit=20` through the gateway vs. straight to the catalog.

Starts nothing: point it at a running gateway and catalog (loopback only). Rounds alternate between the two
targets so that background noise hits both alike; the run is bounded by --duration.

    python gateway/bench.py --gateway-url http://127.0.0.1:8080 --catalog-url http://127.0.0.1:8081 --api-key mkp_...

Goals (issue 21): at most +1.5 ms at p50 and, with `--gateway-pid` (its gunicorn master), at most 1.0 ms of
gateway CPU per proxied request, read from the processes' own counters; the throughput ratio is for information.

The key's account must be allowed more requests per hour than the run makes (e.g. an enterprise account, or
RATE_LIMIT_AUTHENTICATED raised); `--enterprise-from-admin` creates such an account with an admin key.
"""

import argparse
import json
import os
import statistics
import sys
import threading
import time
from pathlib import Path

import urllib3

from marketplace_shared.testing import python_loop_seconds, require_loopback, run_clients

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))
from proccpu import CpuMeter, gunicorn  # noqa: E402

PATH = "/api/marketplace/v1/plugins?limit=20"
# Issue 21: the gateway is judged by its absolute cost; the throughput ratio stays in the output for information.
P50_OVERHEAD_GOAL_MS = 1.5
GATEWAY_CPU_GOAL_MS = 1.0  # gateway CPU per proxied request


def _percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(fraction * (len(ordered) - 1))))
    return ordered[index]


class Target:
    def __init__(self, name: str, base_url: str, headers: dict):
        self.name = name
        self.base_url = base_url.rstrip("/")
        self.headers = headers
        self.latencies: list[float] = []
        self.elapsed = 0.0
        self.errors: dict[str, int] = {}
        self.cpu: dict[str, float] = {}  # process kind -> CPU seconds during this target's rounds
        self.requests = 0  # every request of the measured rounds, answered or not

    def summary(self) -> dict:
        count = len(self.latencies)
        return {
            "requests": count,
            "seconds": round(self.elapsed, 3),
            "throughput": round(count / self.elapsed, 1) if self.elapsed else 0.0,
            "p50_ms": round(_percentile(self.latencies, 0.50) * 1000, 3) if count else None,
            "p99_ms": round(_percentile(self.latencies, 0.99) * 1000, 3) if count else None,
            "mean_ms": round(statistics.fmean(self.latencies) * 1000, 3) if count else None,
            "errors": self.errors,
            "cpu_ms_per_request": {name: round(seconds * 1000 / self.requests, 3)
                                   for name, seconds in self.cpu.items()} if self.requests else {},
        }


def _run_round(target: Target, pools: list, seconds: float, record: bool, meter: CpuMeter | None = None) -> None:
    deadline = time.perf_counter() + seconds
    lock = threading.Lock()
    sent = [0]

    def loop(pool):
        local, errors = [], {}
        while time.perf_counter() < deadline:
            started = time.perf_counter()
            try:
                response = pool.request("GET", PATH, headers=target.headers)
                status = response.status
            except urllib3.exceptions.HTTPError as exc:
                status = exc.__class__.__name__
            took = time.perf_counter() - started
            if status == 200:
                local.append(took)
            else:
                errors[str(status)] = errors.get(str(status), 0) + 1
        if record:
            with lock:
                sent[0] += len(local) + sum(errors.values())
                target.latencies.extend(local)
                for key, value in errors.items():
                    target.errors[key] = target.errors.get(key, 0) + value

    threads = [threading.Thread(target=loop, args=(pool,)) for pool in pools]
    before = meter.read() if meter and record else None
    took = run_clients(threads)
    if record:
        target.elapsed += took
        target.requests += sent[0]
        if before is not None:
            for name, value in meter.delta(before).items():
                target.cpu[name] = target.cpu.get(name, 0.0) + value


def enterprise_key(gateway_url: str, admin_key: str) -> str:
    """Create a throwaway enterprise account with a limit the run cannot reach, and a key for it."""
    http = urllib3.PoolManager(retries=False, timeout=10)
    headers = {"Authorization": f"Bearer {admin_key}", "Content-Type": "application/json"}
    stamp = time.time_ns()
    account = http.request("POST", f"{gateway_url}/api/marketplace/v1/admin/accounts", headers=headers,
                           body=json.dumps({"name": "bench", "email": f"bench-{stamp}@bench.local", "role": "user",
                                            "tier": "enterprise", "rateLimitPerHour": 100_000_000}))
    if account.status != 201:
        raise SystemExit(f"could not create the bench account: {account.status} {account.data[:300]!r}")
    account_id = account.json()["data"]["id"]
    key = http.request("POST", f"{gateway_url}/api/marketplace/v1/admin/accounts/{account_id}/api-keys",
                       headers=headers, body=json.dumps({"name": "bench"}))
    if key.status != 201:
        raise SystemExit(f"could not create the bench key: {key.status}")
    return key.json()["data"]["key"]


def run(gateway_url: str, catalog_url: str, api_key: str, duration: float = 12.0, rounds: int = 6,
        concurrency: int = 1, warmup: float = 1.0, internal_secret: str | None = None,
        meter: CpuMeter | None = None) -> dict:
    """Alternate rounds between the two targets; return the summary of each and their ratios. With a `meter`
    (the gateway's and the catalog's gunicorns), each target's CPU per request as well."""
    for url in (gateway_url, catalog_url):
        require_loopback(url)
    direct_headers = {"X-API-Key": api_key}
    if internal_secret:
        # What the gateway would add, so that the catalog does the same work in both cases.
        from marketplace_shared.identity import Identity, issue_token

        direct_headers["X-Marketplace-Identity"] = issue_token(internal_secret, Identity(id="acct_bench", role="user"),
                                                                ttl_seconds=int(duration) + 120)
    gateway = Target("gateway", gateway_url, {"X-API-Key": api_key})
    direct = Target("direct", catalog_url, direct_headers)
    timeout = urllib3.Timeout(connect=2, read=5)
    pools = {target.name: [urllib3.connection_from_url(target.base_url, maxsize=1, retries=False, timeout=timeout)
                           for _ in range(concurrency)] for target in (gateway, direct)}
    for target in (gateway, direct):
        _run_round(target, pools[target.name], warmup / 2, record=False)
    round_seconds = max(0.2, duration / (2 * rounds))
    for index in range(rounds):
        order = (gateway, direct) if index % 2 == 0 else (direct, gateway)
        for target in order:
            _run_round(target, pools[target.name], round_seconds, record=True, meter=meter)
    result = {"path": PATH, "concurrency": concurrency, "rounds": rounds,
              "gateway": gateway.summary(), "direct": direct.summary()}
    if result["gateway"]["requests"] and result["direct"]["requests"]:
        result["throughput_ratio"] = round(result["gateway"]["throughput"] / result["direct"]["throughput"], 3)
        result["p50_overhead_ms"] = round(result["gateway"]["p50_ms"] - result["direct"]["p50_ms"], 3)
        result["p99_overhead_ms"] = round(result["gateway"]["p99_ms"] - result["direct"]["p99_ms"], 3)
    gateway_cpu = result["gateway"]["cpu_ms_per_request"].get("gateway")
    if gateway_cpu is not None:
        result["gateway_cpu_ms"] = gateway_cpu
    return result


def goals(result: dict) -> list[tuple[str, str, bool]]:
    """(goal, measured, met) for each goal of issue 21 the run can judge."""
    rows = []
    overhead = result.get("p50_overhead_ms")
    rows.append((f"added latency at p50 <= +{P50_OVERHEAD_GOAL_MS} ms",
                 "not measured" if overhead is None else f"+{overhead:.2f} ms",
                 overhead is not None and overhead <= P50_OVERHEAD_GOAL_MS))
    cpu = result.get("gateway_cpu_ms")
    rows.append((f"gateway CPU per proxied request <= {GATEWAY_CPU_GOAL_MS} ms",
                 "not measured (no --gateway-pid)" if cpu is None else f"{cpu:.2f} ms",
                 cpu is not None and cpu <= GATEWAY_CPU_GOAL_MS))
    return rows


def report(result: dict) -> str:
    lines = [f"GET {result['path']}  (concurrency {result['concurrency']}, {result['rounds']} alternating rounds)"]
    for name in ("gateway", "direct"):
        row = result[name]
        errors = f"  errors: {row['errors']}" if row["errors"] else ""
        cpu = "  CPU/request " + ", ".join(f"{kind} {ms:.2f} ms" for kind, ms in row["cpu_ms_per_request"].items()) \
            if row["cpu_ms_per_request"] else ""
        lines.append(f"  {name:8} {row['requests']:6d} req in {row['seconds']:6.2f} s  {row['throughput']:8.1f} req/s"
                     f"  p50 {row['p50_ms']} ms  p99 {row['p99_ms']} ms{cpu}{errors}")
    if "throughput_ratio" in result:
        lines.append(f"  gateway/direct throughput {result['throughput_ratio']:.1%} (for information), p50 "
                     f"+{result['p50_overhead_ms']:.2f} ms, p99 +{result['p99_overhead_ms']:.2f} ms")
    if "python_loop_seconds" in result:
        before, after = result["python_loop_seconds"]
        lines.append(f"  a 10-million-step Python loop took {before:.2f} s before and {after:.2f} s after")
    for goal, measured, met in goals(result):
        lines.append(f"  {'PASS' if met else 'MISS'}  {goal}: {measured}")
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--gateway-url", default=os.environ.get("GATEWAY_URL", "http://127.0.0.1:8080"))
    parser.add_argument("--catalog-url", default=os.environ.get("CATALOG_URL", "http://127.0.0.1:8081"))
    parser.add_argument("--api-key", default=os.environ.get("BENCH_API_KEY") or os.environ.get(
        "MARKETPLACE_ADMIN_API_KEY"))
    parser.add_argument("--enterprise-from-admin", action="store_true",
                        help="treat --api-key as an admin key and bench with a new enterprise account's key")
    parser.add_argument("--duration", type=float, default=12.0, help="measured seconds, both targets together")
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--concurrency", type=int, default=1)
    parser.add_argument("--internal-secret", default=os.environ.get("INTERNAL_TOKEN_SECRET"))
    parser.add_argument("--gateway-pid", type=int, help="the gateway's gunicorn master: its CPU per request")
    parser.add_argument("--catalog-pid", type=int, help="the catalog's gunicorn master (for information)")
    parser.add_argument("--json", action="store_true", help="print the result as JSON as well")
    args = parser.parse_args(argv)
    if not args.api_key:
        parser.error("an API key is needed (--api-key or BENCH_API_KEY)")
    args.duration = min(args.duration, 120.0)
    key = enterprise_key(args.gateway_url, args.api_key) if args.enterprise_from_admin else args.api_key
    probes = [gunicorn(pid, name) for pid, name in ((args.gateway_pid, "gateway"), (args.catalog_pid, "catalog"))
              if pid]
    # The machine is shared: the figures are read beside how fast plain Python runs here, before and after.
    loop_before = python_loop_seconds()
    result = run(args.gateway_url, args.catalog_url, key, args.duration, args.rounds, args.concurrency,
                 internal_secret=args.internal_secret, meter=CpuMeter(probes) if probes else None)
    result["python_loop_seconds"] = [round(loop_before, 2), round(python_loop_seconds(), 2)]
    print(report(result))
    if args.json:
        print(json.dumps(result))
    met = all(met for _goal, _measured, met in goals(result))
    return 0 if met and not result["gateway"]["errors"] and not result["direct"]["errors"] else 1


if __name__ == "__main__":
    sys.exit(main())
