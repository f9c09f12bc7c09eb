"""CPU seconds spent by the processes a bench crosses, read from their own counters (/proc/<pid>/stat).

A `CpuProbe` names one process kind: a gunicorn master and its workers (`gunicorn(pid)`), the PostgreSQL
backends serving one database (`postgres_backends(dsn, database)`), or this process (`this_process()`).
`probe.seconds()` is the kind's cumulative user + system CPU so far; a bench reads it before and after the
interval it measures and divides the difference by the requests it made. Linux only (loopback benches).
"""

import os
from collections.abc import Callable
from pathlib import Path

TICKS = os.sysconf("SC_CLK_TCK")


def _stat_fields(pid: int) -> list[str] | None:
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return None
    # The command name is in parentheses and may hold spaces: the fields start after the last ')'.
    return text[text.rindex(")") + 2:].split()


def process_seconds(pid: int, with_reaped_children: bool = False) -> float:
    """utime + stime of one process (and of its waited-for children, e.g. workers a master restarted)."""
    fields = _stat_fields(pid)
    if fields is None:
        return 0.0
    # fields[0] is field 3 (state): utime, stime, cutime, cstime are fields 14-17.
    ticks = int(fields[11]) + int(fields[12])
    if with_reaped_children:
        ticks += int(fields[13]) + int(fields[14])
    return ticks / TICKS


def children(pid: int) -> list[int]:
    """Direct children of a process (every thread's list, as /proc gives them)."""
    found: set[int] = set()
    try:
        tasks = list(Path(f"/proc/{pid}/task").iterdir())
    except FileNotFoundError:
        return []
    for task in tasks:
        try:
            found.update(int(child) for child in (task / "children").read_text().split())
        except FileNotFoundError:
            continue
    return sorted(found)


class CpuProbe:
    """A process kind whose CPU seconds can be read again and again: `seconds()`."""

    def __init__(self, name: str, read: Callable[[], float]):
        self.name = name
        self._read = read

    def seconds(self) -> float:
        return self._read()


def gunicorn(master_pid: int, name: str = "gunicorn") -> CpuProbe:
    """A gunicorn master, its live workers and the workers it already reaped."""

    def read() -> float:
        return process_seconds(master_pid, with_reaped_children=True) + sum(
            process_seconds(child) for child in children(master_pid))

    return CpuProbe(name, read)


def this_process(name: str = "client") -> CpuProbe:
    def read() -> float:
        times = os.times()
        return times.user + times.system

    return CpuProbe(name, read)


class _Backends:
    """PostgreSQL backends of one database, found through pg_stat_activity (from a connection to another
    database, so that the probe's own backend is not counted). A backend that ends between two readings
    loses its last counts: the benches keep their pooled connections open, so it rarely does."""

    def __init__(self, admin_dsn: str, database: str):
        import psycopg

        self.database = database
        self.conn = psycopg.connect(admin_dsn, autocommit=True)
        self.last: dict[int, float] = {}
        self.total = 0.0

    def __call__(self) -> float:
        rows = self.conn.execute("SELECT pid FROM pg_stat_activity WHERE datname = %s", (self.database,)).fetchall()
        now = {pid: process_seconds(pid) for (pid,) in rows}
        # A running total of increments: a backend seen for the first time counts from its start.
        self.total += sum(max(0.0, seconds - self.last.get(pid, 0.0)) for pid, seconds in now.items())
        self.last = now
        return self.total


def postgres_backends(admin_dsn: str, database: str, name: str = "postgres") -> CpuProbe:
    """`admin_dsn`: a connection to some other database of the same server (e.g. `postgres`)."""
    return CpuProbe(name, _Backends(admin_dsn, database))


def admin_dsn_for(database_url: str) -> tuple[str, str]:
    """`postgresql+psycopg://u@h:5432/db` -> (`postgresql://u@h:5432/postgres`, `db`)."""
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(database_url)
    scheme = parts.scheme.split("+")[0]
    return urlunsplit((scheme, parts.netloc, "/postgres", parts.query, "")), parts.path.lstrip("/")


class CpuMeter:
    """Several probes read together: `with meter.interval() as took:` adds each kind's CPU to `took`."""

    def __init__(self, probes: list[CpuProbe]):
        self.probes = probes

    def read(self) -> dict[str, float]:
        return {probe.name: probe.seconds() for probe in self.probes}

    def delta(self, before: dict[str, float]) -> dict[str, float]:
        after = self.read()
        return {name: after[name] - before[name] for name in before}


def add_into(total: dict[str, float], delta: dict[str, float]) -> None:
    for name, value in delta.items():
        total[name] = total.get(name, 0.0) + value
