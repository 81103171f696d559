#!/usr/bin/env bash
# Starts the Flask-Security-Too peer (fst_app.py) on a fresh database, in the
# foreground: BENCHMARKS.md, "Side by side". Needs Debian 12's packages:
#   apt-get install python3-flask-security python3-flask-sqlalchemy python3-psycopg2 \
#     python3-argon2 python3-bcrypt python3-passlib python3-pyotp python3-qrcode gunicorn
# FST_WORKERS × FST_THREADS gunicorn gthread workers (threads keep connections
# alive; sync workers close each one, which autocannon counts as errors).
set -euo pipefail
ADMIN_URL=${BENCH_ADMIN_URL:-postgres://postgres@127.0.0.1:5432/postgres}
DB=${FST_DB:-fst_bench}
psql "$ADMIN_URL" -qc "drop database if exists $DB with (force)" -c "create database $DB"
base=${ADMIN_URL%/*}
export FST_DATABASE_URL="postgresql://${base#*://}/$DB"
cd "$(dirname "$0")"
# --preload: the tables are made once, by the master, before the workers fork.
exec gunicorn --preload -k gthread -w "${FST_WORKERS:-4}" --threads "${FST_THREADS:-4}" \
  -b "127.0.0.1:${FST_PORT:-3918}" fst_app:app
