#!/usr/bin/env bash
# The functions in Lambda's container runtime, offline: `sam local invoke` on the first event of
# each function, every event in events/ through `sam local start-lambda` with warm containers
# (each answer checked against events/expected.tsv), then `sam local start-api` and the routes
# over HTTP. Run by scripts/test.sh; needs root (apt, a dockerd of its own).
#
# With Docker and internet you do not need this: `sam build` then
# `sam local invoke AuthTokenFunction -e events/auth-token.json` (docs/testing.md, "Run in Lambda's
# container"). This script gets by without either:
# - installs Debian's docker.io and debootstrap if missing (pinned to bookworm's versions);
# - starts its own dockerd (data and exec roots under target/sam-local/, no iptables, forwarding
#   or masquerading changes), and on exit, failure or Ctrl-C removes the containers SAM left,
#   stops that dockerd, deletes the docker0 bridge it made and its data root;
# - builds the base image SAM looks for (public.ecr.aws/lambda/provided:al2023-x86_64) from a
#   Debian root file system made by debootstrap from the configured apt mirror: made once and
#   kept in target/sam-local/base-rootfs-*.tar (a Rust bootstrap needs only glibc, and the CA
#   certificates provided.al2023 has); SAM adds its own runtime interface emulator on top;
# - runs a template generated from template.yaml (scripts/sam-local-template.py): x86_64, the
#   release binaries as each function's bootstrap, nothing else changed.
# Containers make no connection outside themselves: credentials come from the environment and
# HMS_API_BASE_URL and the DynamoDB endpoint are closed ports inside the container, so what needs
# 100ms answers 502 upstream_unreachable, and what needs the events table 503 events_table_unavailable.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh

[ "$(id -u)" = 0 ] || { echo "sam-local: run as root (it installs packages and starts its own dockerd)" >&2; exit 1; }

root=$PWD
work=$root/target/sam-local
mkdir -p "$work"
started=$SECONDS
step() { echo "-- sam-local [$((SECONDS - started)) s] $*"; }

apt_install 'docker.io=20.10.24*' 'debootstrap=1.0.128*'

# --- the base root file system, made offline once (no docker needed) -----------------------------
tag=public.ecr.aws/lambda/provided:al2023-x86_64
suite=$(. /etc/os-release && echo "$VERSION_CODENAME")
# ca-certificates: the functions verify TLS against the system's roots, which provided.al2023 has.
include=ca-certificates
base=$work/base-rootfs-$suite-$include.tar
if [ ! -s "$base" ]; then
  mirror=$({ cat /etc/apt/sources.list.d/*.sources /etc/apt/sources.list 2>/dev/null || true; } |
    awk '$1 == "URIs:" || $1 == "deb" { for (i = 2; i <= NF; i++) if ($i ~ /^https?:/) { print $i; break } }' |
    grep -v security | head -1 || true)
  step "debootstrap $suite from ${mirror:-http://deb.debian.org/debian} (once; kept as ${base#"$root/"})"
  rm -rf "$work/rootfs" "$work"/base-rootfs-*.tar
  debootstrap --variant=minbase --include="$include" "$suite" "$work/rootfs" "${mirror:-http://deb.debian.org/debian}" \
    >"$work/debootstrap.log" 2>&1 || { tail -30 "$work/debootstrap.log"; exit 1; }
  mkdir -p "$work/rootfs/var/task" "$work/rootfs/var/runtime" "$work/rootfs/opt"
  tar -C "$work/rootfs" -cf "$base.part" .
  mv "$base.part" "$base"
  rm -rf "$work/rootfs"
fi
# --prepare: only the packages and the root file system (network and disk, no CPU to speak of), so
# that scripts/test.sh can make them while it compiles.
if [ "${1:-}" = --prepare ]; then exit 0; fi

scripts/setup.sh
export PATH="$root/.venv/bin:$PATH" SAM_CLI_TELEMETRY=0
# The release binaries: FUNCTIONS_BIN_DIR when given (scripts/test.sh has built them), else built here.
bins=${FUNCTIONS_BIN_DIR:-}
if [ -z "$bins" ]; then
  cargo build --release --locked --quiet -p create-room -p auth-token -p session-analytics -p room-control -p webhooks -p reconcile -p webhook-authorizer
  bins=$root/target/release
fi

# --- our own dockerd, and everything it leaves, gone on exit -------------------------------------
d=$work/d
sock=$d/docker.sock
export DOCKER_HOST=unix://$sock
had_bridge=false
if ip link show docker0 >/dev/null 2>&1; then had_bridge=true; fi
dockerd_pid=
api_pid=
lambda_pids=()
cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  for p in $api_pid "${lambda_pids[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
  if [ -n "$dockerd_pid" ]; then
    local ids
    ids=$(docker ps -aq --filter label=sam.cli.container.type 2>/dev/null || true)
    if [ -n "$ids" ]; then docker rm -f $ids >/dev/null 2>&1 || true; fi
    kill "$dockerd_pid" 2>/dev/null || true
    for _ in $(seq 1 150); do kill -0 "$dockerd_pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$dockerd_pid" 2>/dev/null || true
  fi
  if [ "$had_bridge" = false ]; then ip link delete docker0 2>/dev/null || true; fi
  rm -rf "$d"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

rm -rf "$d" && mkdir -p "$d"
step "starting dockerd (its own socket, data and exec roots in $d)"
dockerd --data-root "$d/data" --exec-root "$d/exec" --pidfile "$d/dockerd.pid" -H "unix://$sock" \
  --iptables=false --ip-forward=false --ip-masq=false >"$work/dockerd.log" 2>&1 &
dockerd_pid=$!
for i in $(seq 1 150); do
  if docker version >/dev/null 2>&1; then break; fi
  kill -0 "$dockerd_pid" 2>/dev/null || { cat "$work/dockerd.log"; exit 1; }
  sleep 0.2
done
docker version >/dev/null

# --- the base image SAM looks for, built offline --------------------------------------------------
step "docker import $tag"
docker import -c 'WORKDIR /var/task' "$base" "$tag" >/dev/null

# --- the local template and the functions' environment --------------------------------------------
step "template: generated from template.yaml (x86_64, release binaries)"
rm -rf "$work/fn" && mkdir -p "$work/fn"
"$root/.venv/bin/python" scripts/sam-local-template.py template.yaml "$work/fn" "$bins"
template=$work/fn/template.yaml
# AllowOpenApi=true: locally there is no authorizer (SAM cannot run a JWT authorizer); the *-jwt*
# events carry the claims one would pass, and their environment turns caller authentication on.
params="HmsSecretArn=arn:aws:secretsmanager:us-east-1:123456789012:secret:sam-local WebhookSecretArn=arn:aws:secretsmanager:us-east-1:123456789012:secret:sam-local-webhook AllowedRoles=host,guest AllowOpenApi=true"
key="sam-local-key-$(python3 -c 'import secrets; print(secrets.token_hex(4))')"
secret=$(python3 -c 'import secrets; print(secrets.token_urlsafe(32))')
for auth in none jwt; do
  python3 - "$auth" "$key" "$secret" >"$work/env-$auth.json" <<'PY'
import json, sys
auth, key, secret = sys.argv[1:4]
env = {"HMS_SECRET_ID": "", "WEBHOOK_SECRET_ID": "", "APP_ACCESS_KEY": key, "APP_SECRET": secret,
       # A closed port inside the container: nothing leaves it.
       "HMS_API_BASE_URL": "http://127.0.0.1:9/v2", "ALLOWED_ROLES": "host,guest",
       "AWS_ENDPOINT_URL_DYNAMODB": "http://127.0.0.1:9", "EVENTS_TABLE": "hms-events-sam-local",
       # The value the webhooks-* events carry (a test value, like the events' app secret).
       "WEBHOOK_SECRET": "events-webhook-secret-0123456789",
       "CALLER_AUTH": "none", "ADMIN_CLAIM_NAME": "", "ADMIN_CLAIM_VALUE": "", "CREATOR_CLAIM": "", "ROLE_CLAIMS": ""}
if auth == "jwt":
    # tools/local-jwt-rules.env: the one definition of the local caller rules.
    rules = [l.split("=", 1) for l in open("tools/local-jwt-rules.env").read().splitlines() if l and not l.startswith("#")]
    env.update({name: value for name, value in rules})
print(json.dumps({"Parameters": env}))
PY
done
chmod 600 "$work"/env-*.json

# --- sam local invoke: one event per function, checked against events/expected.tsv -------------
# `sam local invoke` starts a new container for each call (about 10 s each here): the first event of
# each function goes through it, so each function runs at least once as docs/testing.md shows.
step "sam local invoke: the first event of each function in events/"
out=$work/invocations
rm -rf "$out" "$work"/invoke-* && mkdir -p "$out"
failures=0
count=0
seen=" "
while IFS=$'\t' read -r event function status error; do
  case "$event" in '#'* | '') continue ;; esac
  case "$seen" in *" $function "*) continue ;; esac
  seen="$seen$function "
  auth=none
  case "$event" in *-jwt*) auth=jwt ;; esac
  count=$((count + 1))
  t0=$SECONDS
  if ! sam local invoke "$function" -t "$template" -e "events/$event" --env-vars "$work/env-$auth.json" \
    --parameter-overrides "$params" --skip-pull-image --region us-east-1 \
    >"$out/$event.invoke.out" 2>"$out/$event.invoke.log"; then
    echo "FAIL $event: sam local invoke failed (target/sam-local/invocations/$event.invoke.log)"; tail -5 "$out/$event.invoke.log"
    failures=$((failures + 1)); continue
  fi
  got=$(python3 - "$out/$event.invoke.out" <<'PY'
import json, sys
out = json.loads(open(sys.argv[1]).read().strip().splitlines()[-1])
body = json.loads(out.get("body") or "{}")
print(f'{out["statusCode"]}\t{body.get("error", "-")}')
PY
  ) || got="unparsable"
  if [ "$got" = "$status"$'\t'"$error" ]; then
    printf '  ok   %-40s %s %s (%s s)\n' "$event" "$status" "$error" "$((SECONDS - t0))"
  else
    echo "FAIL $event: expected $status $error, got ${got/$'\t'/ } (target/sam-local/invocations/$event.invoke.out)"
    failures=$((failures + 1))
  fi
done <events/expected.tsv
[ "$count" = 5 ] || { echo "sam-local: $count functions have events in events/expected.tsv, expected 5" >&2; exit 1; }
[ "$failures" = 0 ] || { echo "sam-local: $failures of $count sam local invoke calls answered otherwise" >&2; exit 1; }

# --- sam local start-lambda: every event, warm containers -------------------------------------
# Lambda's Invoke API with each function's container kept warm (EAGER: made at start), one server
# per caller mode: every event in events/ is invoked and checked against events/expected.tsv.
lambda_ports=()
for auth in none jwt; do
  port=$(free_port)
  sam local start-lambda -t "$template" --env-vars "$work/env-$auth.json" --parameter-overrides "$params" \
    --skip-pull-image --warm-containers EAGER --host 127.0.0.1 --port "$port" --region us-east-1 \
    >"$work/start-lambda-$auth.log" 2>&1 &
  lambda_pids+=($!)
  lambda_ports+=("$auth=$port")
done
step "sam local start-lambda (warm containers): ${lambda_ports[*]}"
for p in "${lambda_ports[@]}"; do
  wait_for_port "${p#*=}" 120 "sam local start-lambda (${p%%=*})" || { tail -20 "$work/start-lambda-${p%%=*}.log"; exit 1; }
done
python3 scripts/sam-local-invoke.py events/expected.tsv events "$out" "${lambda_ports[@]}"
invoked=$(awk '!/^#/ && NF' events/expected.tsv | wc -l)
for p in "${lambda_pids[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
lambda_pids=()

# --- sam local start-api: the routes over HTTP -----------------------------------------------
port=$(free_port)
step "sam local start-api on 127.0.0.1:$port"
# --disable-authorizer: SAM cannot read the conditional JWT authorizer (the claims path is what
# the *-jwt* events above cover).
sam local start-api -t "$template" --env-vars "$work/env-none.json" --parameter-overrides "$params" \
  --skip-pull-image --disable-authorizer --warm-containers EAGER --host 127.0.0.1 --port "$port" \
  --region us-east-1 >"$work/start-api.log" 2>&1 &
api_pid=$!
wait_for_port "$port" 120 "sam local start-api" || { tail -20 "$work/start-api.log"; exit 1; }
python3 - "$port" <<'PY'
import json, sys, urllib.error, urllib.request

base = f"http://127.0.0.1:{sys.argv[1]}"
room = "631a0f990e6ffae22efa610c"
checks = [
    ("POST", "/auth-token", {"room_id": room, "user_id": "alice", "role": "host"}, 200, None),
    ("POST", "/auth-token", {"room_id": room, "user_id": "alice", "role": "admin"}, 403, "role_not_allowed"),
    ("GET", "/auth-token", None, 405, "method_not_allowed"),
    ("POST", "/create-room", {"name": "not a valid name!"}, 400, "invalid_field"),
    ("POST", "/create-room", {"name": "sam-local"}, 502, "upstream_unreachable"),
    ("GET", "/session-analytics-by-room", None, 400, "missing_parameter"),
    ("GET", f"/session-analytics-by-room?room_id={room}", None, 502, "upstream_unreachable"),
    ("GET", f"/session-list-by-room?room_id={room}", None, 502, "upstream_unreachable"),
    ("POST", "/room-codes", {"room_id": room, "roles": ["viewer"]}, 403, "role_not_allowed"),
    ("GET", f"/active-peers?room_id={room}", None, 502, "upstream_unreachable"),
    ("POST", "/remove-peer", {"room_id": room}, 400, "missing_field"),
    ("GET", "/recording-url?asset_id=nope", None, 400, "invalid_parameter"),
    ("POST", "/webhooks/100ms", {"id": "e1", "type": "peer.join.success"}, 401, "unauthenticated"),
    ("GET", f"/attendance-history?room_id={room}", None, 503, "events_table_unavailable"),
]
failed = 0
for method, path, body, status, error in checks:
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(base + path, data=data, method=method, headers={"content-type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=60) as r:
            got_status, text = r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        got_status, text = e.code, e.read().decode()
    answer = json.loads(text)
    ok = got_status == status and answer.get("error") == error and (status != 200 or answer.get("token"))
    print(f"  {'ok  ' if ok else 'FAIL'} {method} {path} -> {got_status} {answer.get('error', '-')}")
    failed += not ok
sys.exit(1 if failed else 0)
PY
step "done: $invoked events invoked warm, one per function through sam local invoke, the routes answered through start-api"
