#!/usr/bin/env bash
# Runs every test file on the embedded PGlite, then again on Postgres when
# DATABASE_URL is set, so each storage path is proven the same way.
# TEST_STORAGES picks the passes ("pglite", "postgres" or both, space-separated);
# CI runs each storage on its own Node major (.ci/run, README "Development").
# Each run writes the service's log lines and the secrets the tests used to
# test-results/logs/<storage>/ (test/helpers/suite-log.ts); test/suite-logs/
# then checks that no secret reached a log line.
set -euo pipefail
cd "$(dirname "$0")/.."
mapfile -t files < <(find test -name '*.test.ts' -not -path '*/node_modules/*' | sort)
storages="${TEST_STORAGES:-pglite${DATABASE_URL:+ postgres}}"
run() { node --import tsx --test --test-concurrency=2 "${files[@]}"; }
scan() { node --import tsx --test test/suite-logs/no-secrets.check.ts; }
logs="$PWD/test-results/logs"
for storage in $storages; do
  case "$storage" in
    pglite)
      echo "== ${#files[@]} test files on PGlite (embedded)"
      rm -rf "$logs/pglite"
      env -u DATABASE_URL TFA_TEST_LOG_DIR="$logs/pglite" bash -c "$(declare -f run); declare -a files=($(printf '%q ' "${files[@]}")); run"
      echo "== the logs of that run hold no secret"
      env -u DATABASE_URL TFA_TEST_LOG_DIR="$logs/pglite" bash -c "$(declare -f scan); scan"
      ;;
    postgres)
      [ -n "${DATABASE_URL:-}" ] || { echo "TEST_STORAGES has postgres: set DATABASE_URL" >&2; exit 2; }
      echo "== ${#files[@]} test files on Postgres (${DATABASE_URL%%\?*})"
      rm -rf "$logs/postgres"
      TFA_TEST_LOG_DIR="$logs/postgres" run
      echo "== the logs of that run hold no secret"
      TFA_TEST_LOG_DIR="$logs/postgres" scan
      ;;
    *)
      echo "TEST_STORAGES: unknown storage '$storage' (pglite, postgres)" >&2
      exit 2
      ;;
  esac
done
