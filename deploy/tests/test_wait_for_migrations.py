"""The init container's script: it lets a pod start once its database is migrated, and not before."""

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "deploy" / "kubernetes" / "base" / "scripts" / "wait_for_migrations.py"
MIGRATIONS = REPO / "catalog-service" / "migrations"


def run_script(database_url: str, wait_seconds: str = "1") -> subprocess.CompletedProcess:
    env = {**os.environ, "DATABASE_URL": database_url, "MIGRATIONS_WAIT_SECONDS": wait_seconds,
           "MIGRATIONS_POLL_SECONDS": "0.2"}
    return subprocess.run([sys.executable, str(SCRIPT), str(MIGRATIONS)], env=env, capture_output=True, text=True,
                          timeout=60)


def test_an_unmigrated_database_keeps_the_pod_waiting_until_the_deadline(tmp_path):
    result = run_script(f"sqlite:///{tmp_path / 'empty.db'}")
    assert result.returncode == 1, result
    assert "waiting for the migration job" in result.stdout
    assert "not at" in result.stderr


def test_a_database_at_head_lets_the_pod_start(tmp_path):
    url = f"sqlite:///{tmp_path / 'catalog.db'}"
    subprocess.run([sys.executable, "-m", "catalog_service.migrate"], env={**os.environ, "DATABASE_URL": url},
                   check=True, timeout=120)
    result = run_script(url, wait_seconds="30")
    assert result.returncode == 0, result
    assert result.stdout.startswith("database is at ")


def test_a_database_migrated_by_a_newer_release_is_accepted(tmp_path):
    """During a rollout the old pods restart against a database the new release already migrated."""
    import sqlite3

    url = f"sqlite:///{tmp_path / 'catalog.db'}"
    subprocess.run([sys.executable, "-m", "catalog_service.migrate"], env={**os.environ, "DATABASE_URL": url},
                   check=True, timeout=120)
    with sqlite3.connect(tmp_path / "catalog.db") as connection:
        connection.execute("UPDATE alembic_version SET version_num = 'f00dfeed9999'")
    assert run_script(url).returncode == 0


def test_a_missing_argument_is_a_usage_error():
    result = subprocess.run([sys.executable, str(SCRIPT)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 2 and "usage" in result.stderr
