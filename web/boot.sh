#!/bin/sh
# Container entry point: the portal has no database, so nothing to migrate.
set -e
exec gunicorn -c gunicorn.conf.py
