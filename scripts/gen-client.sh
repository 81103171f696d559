#!/bin/sh
# Regenerates TypeScript types for the API from openapi.yaml, for typed test
# clients and the e2e app. The output is committed; re-run after every change
# to openapi.yaml (test/contract/generated-types.test.ts fails when it drifts).
set -eu
cd "$(dirname "$0")/.."
npx openapi-typescript openapi.yaml -o test/generated/api.d.ts
