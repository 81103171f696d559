#!/usr/bin/env bash
# Runs every test file on the embedded PGlite, then again on Postgres when
# DATABASE_URL is set, so each storage path is proven the same way.
# TEST_STORAGES picks the passes ("pglite", "postgres" or both, space-separated);
# CI runs each storage on its own Node major (.ci/run, README "Development").
# Each run writes the service's log lines and the secrets the tests used to
# test-results/logs/<storage>/ (test/helpers/suite-log.ts); test/suite-logs/
# then checks that no secret reached a log line.
#
# The test files run in TEST_SHARDS processes (8 by default), two at a time,
# not one process each: a process costs ~2 s of CPU to load tsx and the app, and
# its first PGlite ~1.7 s more than the next, so one per file spent about half of
# the PGlite pass on starting (README "Development"). A shard is a generated file
# that imports its test files (round robin over the sorted list, so each shard
# gets files from every folder); node:test reports every test by name as before.
set -euo pipefail
cd "$(dirname "$0")/.."
mapfile -t files < <(find test -name '*.test.ts' -not -path '*/node_modules/*' | sort)
storages="${TEST_STORAGES:-pglite${DATABASE_URL:+ postgres}}"
shard_count="${TEST_SHARDS:-8}"
[[ "$shard_count" =~ ^[1-9][0-9]*$ ]] || { echo "TEST_SHARDS: a positive number, not '$shard_count'" >&2; exit 2; }
shard_dir="$PWD/test-results/shards"
rm -rf "$shard_dir"
mkdir -p "$shard_dir"
for i in "${!files[@]}"; do
  printf "import '%s';\n" "$PWD/${files[$i]}" >>"$shard_dir/shard-$(printf %02d $((i % shard_count))).test.ts"
done
shards=("$shard_dir"/shard-*.test.ts)
run() { node --import tsx --test --test-concurrency=2 "${shards[@]}"; }
scan() { node --import tsx --test test/suite-logs/no-secrets.check.ts; }
logs="$PWD/test-results/logs"
for storage in $storages; do
  case "$storage" in
    pglite)
      echo "== ${#files[@]} test files in ${#shards[@]} processes on PGlite (embedded)"
      rm -rf "$logs/pglite"
      env -u DATABASE_URL TFA_TEST_LOG_DIR="$logs/pglite" bash -c "$(declare -f run); declare -a shards=($(printf '%q ' "${shards[@]}")); run"
      echo "== the logs of that run hold no secret"
      env -u DATABASE_URL TFA_TEST_LOG_DIR="$logs/pglite" bash -c "$(declare -f scan); scan"
      ;;
    postgres)
      [ -n "${DATABASE_URL:-}" ] || { echo "TEST_STORAGES has postgres: set DATABASE_URL" >&2; exit 2; }
      echo "== ${#files[@]} test files in ${#shards[@]} processes on Postgres (${DATABASE_URL%%\?*})"
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
