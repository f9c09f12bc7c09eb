#!/bin/sh
# Container entry point: migrate, then serve (or run the worker when given "worker").
set -e
python -m webhook_service.migrate
if [ "$1" = "worker" ]; then
  exec python -m webhook_service.worker
fi
exec gunicorn -c gunicorn.conf.py
