#!/bin/sh
# Container entry point: migrate, then serve.
set -e
python -m gateway.migrate
exec gunicorn -c gunicorn.conf.py
