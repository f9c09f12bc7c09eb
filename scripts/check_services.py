"""Fail loudly when PostgreSQL or RabbitMQ is missing: tests never skip what they need."""

import os
import sys

import pika
import psycopg

POSTGRES = os.environ.get("TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
AMQP = os.environ.get("TEST_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/")


def main() -> int:
    missing = []
    try:
        psycopg.connect(POSTGRES, connect_timeout=3).close()
    except psycopg.Error as exc:
        missing.append(f"PostgreSQL at {POSTGRES}: {exc}".strip())
    try:
        pika.BlockingConnection(pika.URLParameters(AMQP)).close()
    except Exception as exc:  # noqa: BLE001 - any failure to connect is the same answer
        missing.append(f"RabbitMQ at {AMQP}: {exc!r}")
    for line in missing:
        print(f"required service unavailable: {line}", file=sys.stderr)
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main())
