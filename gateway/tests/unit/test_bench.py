import importlib.util
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench.py"


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("gateway_bench", BENCH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_bench_alternates_both_targets_and_reports_the_ratio(bench, upstreams):
    url = upstreams["catalog"].url
    result = bench.run(url, url.replace("127.0.0.1", "localhost"), "mkp_key", duration=0.4, rounds=2, warmup=0.1)
    for name in ("gateway", "direct"):
        assert result[name]["requests"] > 0 and result[name]["p99_ms"] >= result[name]["p50_ms"] > 0
    assert result["throughput_ratio"] > 0 and "p50_overhead_ms" in result
    seen = upstreams["catalog"].requests[-1]
    assert seen["target"] == "/api/marketplace/v1/plugins?limit=20" and seen["headers"]["X-API-Key"] == "mkp_key"
    assert "gateway/direct throughput" in bench.report(result)


def test_bench_refuses_other_hosts(bench):
    with pytest.raises(SystemExit):
        bench.run("http://192.0.2.1:8080", "http://127.0.0.1:8081", "k", duration=0.1)
