#!/usr/bin/env bash
# Generated bad (and good) input against the local API: starts scripts/run.sh --jwt on free ports
# (functions under cargo lambda watch behind the local JWT authorizer, on the 100ms emulator,
# ALLOWED_ROLES=host,guest,viewer: `*` is refused with sign-in), and with an admin's token (who
# may call every route) runs schemathesis from .venv over openapi.yaml with every check but
# positive_data_acceptance (it cannot know which template ids exist), and fails unless at least
# MIN_CASES cases ran and all passed.
#   SCHEMATHESIS_SEED (1)  SCHEMATHESIS_MAX_EXAMPLES (100 per operation)  MIN_CASES (1000)
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh
scripts/setup.sh
export PATH="$PWD/.venv/bin:$PATH"
mkdir -p target

PORT=$(free_port)
EMULATOR_PORT=$(free_port)
WEBHOOK_SECRET=$(python3 -c 'import secrets; print(secrets.token_urlsafe(24))')
export PORT EMULATOR_PORT ALLOWED_ROLES='host,guest,viewer' WEBHOOK_SECRET
unset APP_ACCESS_KEY APP_SECRET HMS_SECRET_ID
scripts/run.sh --jwt >target/schemathesis-stack.log 2>&1 &
stack=$!
trap 'kill -TERM $stack 2>/dev/null || true; wait $stack 2>/dev/null || true' EXIT
wait_for_port "$PORT" 300 "the local API (scripts/run.sh, log: target/schemathesis-stack.log)"
SCHEMATHESIS_TOKEN=$(python3 scripts/local-token.py admin@class.test)
# A request without the token is API Gateway's 401 (the authorizer), before any function runs.
[ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PORT/session-list-by-room?room_id=0123456789abcdef01234567")" = 401 ] ||
  { echo "schemathesis: the local API answered a request without a token"; exit 1; }
# First calls start each function under cargo lambda watch; keep that out of the timed cases.
for route in "POST /create-room" "POST /auth-token" "GET /session-analytics-by-room" "GET /session-list-by-room" \
  "GET /room-codes" "GET /webhooks/100ms"; do
  set -- $route
  curl -s -o /dev/null -m 120 -H "Authorization: Bearer $SCHEMATHESIS_TOKEN" -X "$1" "http://127.0.0.1:$PORT$2" || true
done

export SCHEMATHESIS_TOKEN SCHEMATHESIS_TELEMETRY=false PYTHONPATH="$PWD/tools" SCHEMATHESIS_HOOKS=schemathesis_hooks
# Run from target/: cargo lambda watch restarts the functions when files change in the workspace,
# and a restart mid-request would drop it. No example database is written either.
root=$PWD
mkdir -p target/schemathesis
set +e
(cd target/schemathesis && schemathesis --config-file "$root/tools/schemathesis.toml" run "$root/openapi.yaml" \
  --url "http://127.0.0.1:$PORT" --header "Authorization: Bearer $SCHEMATHESIS_TOKEN" \
  --checks all --exclude-checks positive_data_acceptance \
  --max-examples "${SCHEMATHESIS_MAX_EXAMPLES:-100}" --seed "${SCHEMATHESIS_SEED:-1}" \
  --generation-database none --request-timeout 30 >"$root/target/schemathesis.log" 2>&1)
rc=$?
set -e
tail -12 target/schemathesis.log
[ "$rc" -eq 0 ] || { echo "schemathesis failed (full report: target/schemathesis.log)"; exit 1; }
read -r generated passed < <(sed -nE 's/^ *([0-9]+) generated, ([0-9]+) passed.*/\1 \2/p' target/schemathesis.log | tail -1)
if [ -z "${generated:-}" ] || [ "$generated" -lt "${MIN_CASES:-1000}" ] || [ "$passed" != "$generated" ]; then
  echo "schemathesis ran ${generated:-no} cases (${passed:-0} passed); at least ${MIN_CASES:-1000}, all passing, are required"
  exit 1
fi
echo "schemathesis: $passed passed, 0 failed"
