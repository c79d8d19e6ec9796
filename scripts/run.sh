#!/usr/bin/env bash
# Serves the API on http://127.0.0.1:9000 (and [::1]:9000) with the production paths. The
# functions run under `cargo lambda watch` (rebuilt and reloaded when the code changes) behind
# local-api, which routes as the deployed API does: its routes, Lambda's Invoke API for the five
# functions (`cargo lambda invoke`), and API Gateway's 404 for anything else. The events table is
# dynalite (in memory, gone when the script stops), made as template.yaml defines it. When it says
# "The API is up", each function has already answered once. Ctrl-C stops everything it started.
# It installs only cargo-lambda and dynalite (scripts/setup.sh --run) and changes nothing outside
# the repo.
#
# Without credentials it starts the bundled 100ms emulator with generated dev credentials.
# With APP_ACCESS_KEY and APP_SECRET (or HMS_SECRET_ID plus AWS credentials) it talks to the
# real 100ms instead. ALLOWED_ROLES defaults to host,guest,viewer here. Webhooks to
# /webhooks/100ms carry the header x-100ms-webhook-secret with the WEBHOOK_SECRET the banner shows
# (generated unless given).
#
# --jwt: callers must sign in, as behind the deployed API's JWT authorizer with the template's own
# user pool. It starts moto's Cognito with a pool like the template's and a class's users (an
# admin, a teacher, two students: scripts/local-cognito.py, into target/local-cognito.json), and
# local-api verifies tokens as API Gateway does (RS256 against the pool's JWKS, iss, aud or
# client_id, exp). A token: scripts/local-token.py EMAIL. The functions run with CALLER_AUTH=jwt:
# admins are in the group admins, creators and hosts in teachers (docs/sign-in.md). It installs
# the full set of Python tools (moto) the first time (scripts/setup.sh).
#   PORT (9000)  EMULATOR_PORT (8910)  WATCH_PORT (cargo lambda watch, behind local-api: a free one)
set -euo pipefail
jwt=false
case "${1:-}" in
  --jwt) jwt=true ;;
  "") ;;
  *) echo "run.sh: unknown option $1 (--jwt)" >&2; exit 2 ;;
esac
cd "$(dirname "$0")/.."
source scripts/lib.sh

started=$SECONDS
if [ "$jwt" = true ]; then scripts/setup.sh; else scripts/setup.sh --run; fi
export PATH="$PWD/.venv/bin:$PATH"
PORT=${PORT:-9000}
EMULATOR_PORT=${EMULATOR_PORT:-8910}
WATCH_PORT=${WATCH_PORT:-$(free_port)}

# One build of everything this script runs, with the features `cargo lambda watch` builds with:
# its `cargo run --bin <function>` at the workspace root resolves features across the whole
# workspace, so building the functions with `-p` (features of those three only) would make it
# compile about 45 crates again on the first request.
echo "== building the functions, the 100ms emulator and local-api (a few minutes the first time)"
cargo build --locked --quiet --bin create-room --bin auth-token --bin session-analytics --bin room-control \
  --bin webhooks --bin hms-emulator --bin local-api --bin create-events-table
mkdir -p target
envfile=target/local.env
umask 077
: >"$envfile"

pids=()
stop() {
  trap - INT TERM EXIT
  echo
  echo "stopping..."
  for p in "${pids[@]}"; do kill -INT "$p" 2>/dev/null || true; done
  sleep 1
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap stop INT TERM EXIT

start_dynalite target/dynalite.log
pids+=("$DYNALITE_PID")
target/debug/create-events-table "$DYNALITE_ENDPOINT" hms-events-local >/dev/null
WEBHOOK_SECRET=${WEBHOOK_SECRET:-$(python3 -c 'import secrets; print(secrets.token_urlsafe(24))')}

if [ -n "${HMS_SECRET_ID:-}" ] || { [ -n "${APP_ACCESS_KEY:-}" ] && [ -n "${APP_SECRET:-}" ]; }; then
  mode="the REAL 100ms API (${HMS_API_BASE_URL:-https://api.100ms.live/v2})"
  for v in HMS_SECRET_ID WEBHOOK_SECRET_ID APP_ACCESS_KEY APP_SECRET HMS_API_BASE_URL AWS_REGION AWS_DEFAULT_REGION AWS_ACCESS_KEY_ID \
           AWS_SECRET_ACCESS_KEY AWS_SESSION_TOKEN AWS_ENDPOINT_URL AWS_ENDPOINT_URL_SECRETS_MANAGER; do
    if [ -n "${!v:-}" ]; then echo "$v=${!v}" >>"$envfile"; fi
  done
  # The functions read AWS credentials and region from the environment only, as on Lambda: a
  # profile (SSO included) is turned into variables by the AWS CLI.
  if [ -n "${HMS_SECRET_ID:-}" ] && [ -z "${AWS_ACCESS_KEY_ID:-}" ]; then
    profile=()
    if [ -n "${AWS_PROFILE:-}" ]; then profile=(--profile "$AWS_PROFILE"); fi
    if ! command -v aws >/dev/null || ! aws configure export-credentials "${profile[@]}" --format env-no-export >>"$envfile"; then
      echo "run.sh: HMS_SECRET_ID needs AWS credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY" >&2
      echo "        (and AWS_SESSION_TOKEN), or install AWS CLI v2 to export them from your profile" >&2
      exit 1
    fi
    if [ -z "${AWS_REGION:-}${AWS_DEFAULT_REGION:-}" ]; then
      region=$(aws configure get region "${profile[@]}" || true)
      if [ -n "$region" ]; then echo "AWS_REGION=$region" >>"$envfile"; fi
    fi
  fi
else
  mode="the local 100ms emulator"
  key="dev-access-key-$(python3 -c 'import secrets; print(secrets.token_hex(4))')"
  secret="$(python3 -c 'import secrets; print(secrets.token_urlsafe(32))')"
  # The emulator sends 100ms's webhooks to the local API, with the secret header.
  APP_ACCESS_KEY=$key APP_SECRET=$secret WEBHOOK_SECRET=$WEBHOOK_SECRET target/debug/hms-emulator \
    --port "$EMULATOR_PORT" --webhook-url "http://127.0.0.1:$PORT/webhooks/100ms" \
    --webhook-header 'x-100ms-webhook-secret:$WEBHOOK_SECRET' >target/emulator.log 2>&1 &
  pids+=("$!")
  wait_for_port "$EMULATOR_PORT" 30 "hms-emulator"
  printf 'APP_ACCESS_KEY=%s\nAPP_SECRET=%s\nHMS_API_BASE_URL=http://127.0.0.1:%s/v2\n' \
    "$key" "$secret" "$EMULATOR_PORT" >>"$envfile"
fi
# The events table: dynalite takes any credentials; a secret read from Secrets Manager keeps its
# own WEBHOOK_SECRET.
printf 'EVENTS_TABLE=hms-events-local\nAWS_ENDPOINT_URL_DYNAMODB=%s\nWEBHOOK_SECRET=%s\n' \
  "$DYNALITE_ENDPOINT" "$WEBHOOK_SECRET" >>"$envfile"
grep -q '^AWS_REGION=' "$envfile" || echo "AWS_REGION=${AWS_REGION:-us-east-1}" >>"$envfile"
grep -q '^AWS_ACCESS_KEY_ID=' "$envfile" || printf 'AWS_ACCESS_KEY_ID=local\nAWS_SECRET_ACCESS_KEY=local\n' >>"$envfile"

echo "ALLOWED_ROLES=${ALLOWED_ROLES:-host,guest,viewer}" >>"$envfile"
[ -n "${AUTH_TOKEN_TTL_SECONDS:-}" ] && echo "AUTH_TOKEN_TTL_SECONDS=$AUTH_TOKEN_TTL_SECONDS" >>"$envfile"
echo "RUST_LOG=${RUST_LOG:-info}" >>"$envfile"
front_door=()
if [ "$jwt" = true ]; then
  # Quoted: cargo-lambda's env-file parser takes neither ':' nor a second '=' bare.
  # The rules are tools/local-jwt-rules.env's, the one definition every local setup reads.
  grep -v '^#' tools/local-jwt-rules.env | while IFS='=' read -r name value; do
    if [ -n "$name" ]; then printf '%s="%s"\n' "$name" "$value"; fi
  done >>"$envfile"
  start_moto target/moto.log
  pids+=("$MOTO_PID")
  .venv/bin/python3 scripts/local-cognito.py "$MOTO_ENDPOINT" target/local-cognito.json
  cognito() { .venv/bin/python3 -c "import json,sys; print(json.load(open('target/local-cognito.json'))[sys.argv[1]])" "$1"; }
  front_door=(--jwt-issuer "$(cognito issuer)" --jwt-audience "$(cognito client_id)" --jwt-discovery "$(cognito discovery)")
fi

cargo lambda watch --locked -A 127.0.0.1 -P "$WATCH_PORT" --env-file "$envfile" >target/cargo-lambda-watch.log 2>&1 &
pids+=("$!")
wait_for_port "$WATCH_PORT" 120 "cargo lambda watch"
target/debug/local-api --port "$PORT" --upstream "http://127.0.0.1:$WATCH_PORT" "${front_door[@]}" \
  >target/local-api.log 2>&1 &
pids+=("$!")
wait_for_port "$PORT" 30 "local-api"

# Each function answers once before the banner (a 405 or 400, or a preflight's 200 when callers
# sign in: nothing is created), so the first request after it finds them running.
echo "== starting each function"
python3 - "$PORT" "$jwt" <<'PY'
import sys, urllib.request, urllib.error
method = "OPTIONS" if sys.argv[2] == "true" else "GET"
for path in ("/create-room", "/auth-token", "/session-analytics-by-room", "/room-codes", "/webhooks/100ms"):
    try:
        req = urllib.request.Request(f"http://127.0.0.1:{sys.argv[1]}{path}", method=method)
        urllib.request.urlopen(req, timeout=300)
    except urllib.error.HTTPError as e:
        if e.code >= 500:
            sys.exit(f"run.sh: GET {path} answered {e.code}: {e.read().decode(errors='replace')}")
PY

cat <<INFO

The API is up ($((SECONDS - started)) s), backed by $mode:
  POST http://127.0.0.1:$PORT/create-room
  POST http://127.0.0.1:$PORT/auth-token
  GET  http://127.0.0.1:$PORT/session-analytics-by-room?room_id=...
  GET  http://127.0.0.1:$PORT/session-list-by-room?room_id=...
  room control (docs/room-control.md): /room-codes, /active-peers, /remove-peer, /end-room,
  /recordings/start, /recordings/stop, /recordings, /recording-url
  POST http://127.0.0.1:$PORT/webhooks/100ms  (header x-100ms-webhook-secret: $WEBHOOK_SECRET)
  events table: hms-events-local in dynalite at $DYNALITE_ENDPOINT
INFO
if [ "$mode" = "the local 100ms emulator" ]; then
  cat <<INFO
  100ms emulator: http://127.0.0.1:$EMULATOR_PORT/v2 (control API: http://127.0.0.1:$EMULATOR_PORT/_emulator)
INFO
  # The walkthrough calls as an open API does (no tokens).
  if [ "$jwt" = false ]; then echo "Try it: scripts/walkthrough.sh"; fi
fi
if [ "$jwt" = true ]; then
  cat <<INFO
Callers sign in (--jwt), with moto's Cognito at $MOTO_ENDPOINT (pool $(cognito user_pool_id)):
  admin@class.test (admins), teacher@class.test (teachers), student1@class.test, student2@class.test
  password: in target/local-cognito.json. A token: python3 scripts/local-token.py teacher@class.test
  then send Authorization: Bearer <token> (docs/sign-in.md)
INFO
fi
echo "Logs: target/cargo-lambda-watch.log (the functions), target/local-api.log, target/emulator.log. Ctrl-C stops everything."
wait
