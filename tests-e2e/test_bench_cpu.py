"""scripts/proccpu.py, which the benches read CPU per request with: each probe sees the CPU its processes spent,
and only theirs."""

import subprocess
import sys
import time

import psycopg
from proccpu import CpuMeter, admin_dsn_for, children, gunicorn, postgres_backends, this_process

from marketplace_shared.testing import temporary_postgres_database, wait_for

BURN = "import time\nend = time.process_time() + {seconds}\nwhile time.process_time() < end: pass\n"


def test_a_parent_and_its_children_are_counted_with_the_children_it_reaped():
    # A parent that runs one child to its end (reaped: cutime), then keeps a second one burning.
    script = ("import subprocess, sys\n"
              f"subprocess.run([sys.executable, '-c', {BURN.format(seconds=0.3)!r}])\n"
              f"child = subprocess.Popen([sys.executable, '-c', {BURN.format(seconds=30)!r}])\n"
              "sys.stdout.write('started\\n'); sys.stdout.flush(); child.wait()\n")
    parent = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    try:
        assert parent.stdout.readline() == "started\n"
        probe = gunicorn(parent.pid, "server")
        meter = CpuMeter([probe, this_process("client")])
        wait_for(lambda: children(parent.pid), timeout=10)
        assert probe.seconds() >= 0.25  # the reaped child's 0.3 s, at the counters' 10 ms resolution
        before = meter.read()
        wait_for(lambda: meter.delta(before)["server"] >= 0.2, timeout=20)  # the live child burning
        assert meter.delta(before)["client"] < meter.delta(before)["server"]  # this process only waited
    finally:
        for pid in children(parent.pid):
            subprocess.run(["kill", str(pid)], check=False)
        parent.wait(timeout=10)


def test_postgres_backends_of_one_database_only():
    with temporary_postgres_database("proccpu") as url, temporary_postgres_database("proccpu_other") as other:
        admin_dsn, database = admin_dsn_for(url)
        assert database in url and admin_dsn.endswith("/postgres")
        probe = postgres_backends(admin_dsn, database)
        other_probe = postgres_backends(*admin_dsn_for(other))
        with psycopg.connect(url) as conn, psycopg.connect(other) as idle:
            idle.execute("SELECT 1")
            start, other_start = probe.seconds(), other_probe.seconds()
            started = time.process_time()
            conn.execute("SELECT count(*) FROM generate_series(1, 3000000) a, LATERAL (SELECT md5(a::text)) b")
            burnt = probe.seconds() - start
            assert burnt >= 0.05
            assert other_probe.seconds() - other_start < burnt / 2  # the other database's backend was idle
            assert time.process_time() - started < burnt  # the server's CPU, not the client's
