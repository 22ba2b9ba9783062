#!/usr/bin/env bash
# The integration suite on PGlite and, when TEST_DATABASE_URL names a PostgreSQL server, on it too.
# The two passes run at once, each taking its files one at a time (one database per file): on two
# cores CI waits for the longer pass, not for both one after the other. Each pass's output is
# printed whole when it ends, so the two never interleave. Extra arguments go to vitest.
set -u
cd "$(dirname "$0")/.."
export NODE_EXTRA_CA_CERTS=e2e/fixtures/tls/localhost.pem

if [ -z "${TEST_DATABASE_URL:-}" ]; then
  exec npx vitest run --project int "$@"
fi

logs=$(mktemp -d)
trap 'rm -rf "$logs"' EXIT
env -u TEST_DATABASE_URL npx vitest run --project int "$@" >"$logs/pglite.log" 2>&1 &
pglite=$!
npx vitest run --project int "$@" >"$logs/postgres.log" 2>&1 &
postgres=$!

wait "$pglite"; pglite_status=$?
echo "=== integration tests on PGlite (exit $pglite_status)"; cat "$logs/pglite.log"
wait "$postgres"; postgres_status=$?
echo "=== integration tests on PostgreSQL (exit $postgres_status)"; cat "$logs/postgres.log"
[ "$pglite_status" -eq 0 ] && [ "$postgres_status" -eq 0 ]
