#!/usr/bin/env bash
# Serves the API on http://localhost:9000 with the production paths, via `cargo lambda watch`
# (functions rebuilt and reloaded when the code changes). Ctrl-C stops everything it started.
#
# Without credentials it starts the bundled 100ms emulator with generated dev credentials.
# With APP_ACCESS_KEY and APP_SECRET (or HMS_SECRET_ID plus AWS credentials) it talks to the
# real 100ms instead. ALLOWED_ROLES defaults to host,guest,viewer here.
#   PORT (9000)  EMULATOR_PORT (8910)
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh

scripts/setup.sh
export PATH="$PWD/.venv/bin:$PATH"
PORT=${PORT:-9000}
EMULATOR_PORT=${EMULATOR_PORT:-8910}
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

if [ -n "${HMS_SECRET_ID:-}" ] || { [ -n "${APP_ACCESS_KEY:-}" ] && [ -n "${APP_SECRET:-}" ]; }; then
  mode="the REAL 100ms API (${HMS_API_BASE_URL:-https://api.100ms.live/v2})"
  for v in HMS_SECRET_ID APP_ACCESS_KEY APP_SECRET HMS_API_BASE_URL AWS_REGION AWS_DEFAULT_REGION AWS_ACCESS_KEY_ID \
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
  echo "== building the 100ms emulator"
  cargo build --quiet -p hms-emulator
  APP_ACCESS_KEY=$key APP_SECRET=$secret target/debug/hms-emulator --port "$EMULATOR_PORT" >target/emulator.log 2>&1 &
  pids+=("$!")
  wait_for_port "$EMULATOR_PORT" 30 "hms-emulator"
  printf 'APP_ACCESS_KEY=%s\nAPP_SECRET=%s\nHMS_API_BASE_URL=http://127.0.0.1:%s/v2\n' \
    "$key" "$secret" "$EMULATOR_PORT" >>"$envfile"
fi
echo "ALLOWED_ROLES=${ALLOWED_ROLES:-host,guest,viewer}" >>"$envfile"
[ -n "${AUTH_TOKEN_TTL_SECONDS:-}" ] && echo "AUTH_TOKEN_TTL_SECONDS=$AUTH_TOKEN_TTL_SECONDS" >>"$envfile"
echo "RUST_LOG=${RUST_LOG:-info}" >>"$envfile"

echo "== building the functions"
cargo build --quiet -p create-room -p auth-token -p session-analytics
cargo lambda watch -A 127.0.0.1 -P "$PORT" --env-file "$envfile" >target/cargo-lambda-watch.log 2>&1 &
pids+=("$!")
wait_for_port "$PORT" 120 "cargo lambda watch"

cat <<INFO

The API is up, backed by $mode:
  POST http://localhost:$PORT/create-room
  POST http://localhost:$PORT/auth-token
  GET  http://localhost:$PORT/session-analytics-by-room?room_id=...
  GET  http://localhost:$PORT/session-list-by-room?room_id=...
INFO
if [ "$mode" = "the local 100ms emulator" ]; then
  cat <<INFO
  100ms emulator: http://127.0.0.1:$EMULATOR_PORT/v2 (control API: http://127.0.0.1:$EMULATOR_PORT/_emulator)
Try it: scripts/walkthrough.sh
INFO
fi
echo "Logs: target/cargo-lambda-watch.log, target/emulator.log. Ctrl-C stops everything."
wait
