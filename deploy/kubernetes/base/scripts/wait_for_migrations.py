"""Init container of every pod that uses a database: wait until the migration Job has brought it up to date.

`python wait_for_migrations.py <migrations dir>`, with the service's DATABASE_URL. Exits 0 once the database is
at the newest revision this image knows (or at one it does not know: a newer release migrated it, and
migrations stay compatible with the release before), 1 after MIGRATIONS_WAIT_SECONDS (default 600).
"""

import os
import sys
import time

from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from marketplace_shared.db import make_engine


def database_revisions(url: str) -> set[str]:
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            return set(MigrationContext.configure(connection).get_current_heads())
    finally:
        engine.dispose()


def up_to_date(script: ScriptDirectory, url: str) -> bool:
    current = database_revisions(url)
    if not current:
        return False
    known = {revision.revision for revision in script.walk_revisions()}
    return current == set(script.get_heads()) or not current <= known


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: wait_for_migrations.py <migrations dir>", file=sys.stderr)
        return 2
    script = ScriptDirectory(argv[0])
    url = os.environ["DATABASE_URL"]
    deadline = time.monotonic() + float(os.environ.get("MIGRATIONS_WAIT_SECONDS", "600"))
    interval = float(os.environ.get("MIGRATIONS_POLL_SECONDS", "2"))
    last_error = None
    while True:
        try:
            if up_to_date(script, url):
                print(f"database is at {', '.join(sorted(database_revisions(url)))}", flush=True)
                return 0
            last_error = "not migrated yet"
        except Exception as exc:  # noqa: BLE001 - the database may not answer yet: keep waiting
            last_error = f"{exc.__class__.__name__}: {exc}"
        if time.monotonic() >= deadline:
            print(f"database not at {', '.join(script.get_heads())} in time ({last_error})", file=sys.stderr)
            return 1
        print(f"waiting for the migration job ({last_error})", flush=True)
        time.sleep(interval)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
