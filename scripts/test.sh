#!/usr/bin/env bash
# The whole test suite: formatting, lints, the SAM template (cfn-lint, sam validate, sam build for
# arm64), unit, event, property, integration, fault and end-to-end tests, schemathesis, the
# README's local commands verbatim, the attendance page in Debian's Chromium, the arm64 binaries
# under qemu-user, and sam local (offline).
# Sets up what it needs (scripts/setup.sh; as root, Debian packages through apt, pinned) and
# starts the services the tests use: moto's Secrets Manager server and dynalite (DynamoDB) here;
# the tests start the
# 100ms emulator and, for the end-to-end tests, cargo-lambda's Runtime API with the release
# binaries; scripts/run.sh and scripts/sam-local.sh start and stop their own.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh

# Each step's banner says how long the run has taken so far (the closing notes quote them).
started=$SECONDS
step() { echo "== [$((SECONDS - started)) s] $*"; }

step "setup (scripts/setup.sh)"
scripts/setup.sh
export PATH="$PWD/.venv/bin:$PATH"
mkdir -p target

# A clean clone builds everything once, so incremental caches would only take disk (about 0.9 GB);
# the disk is shared, so say how much is free before the builds start.
if [ "${CI:-}" = true ]; then export CARGO_INCREMENTAL=0; fi
df -Pk . | awk 'NR == 2 { printf "== disk: %.1f GB free here (a clean run takes about 4 GB)\n", $4 / 1048576 }'

pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; }
trap cleanup EXIT

step "cargo fmt --check"
cargo fmt --all -- --check
step "cargo clippy -D warnings"
cargo clippy --workspace --all-targets --quiet -- -D warnings

step "cfn-lint and sam validate --lint (template.yaml)"
export SAM_CLI_TELEMETRY=0
cfn-lint template.yaml
sam validate --lint --region us-east-1 --template-file template.yaml >target/sam-validate.log 2>&1 ||
  { cat target/sam-validate.log; exit 1; }

start_moto target/moto.log
pids+=("$MOTO_PID")
step "moto (Secrets Manager) on $MOTO_ENDPOINT"
export MOTO_ENDPOINT AWS_REGION=us-east-1 AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing
unset AWS_PROFILE AWS_SESSION_TOKEN
start_dynalite target/dynalite.log
pids+=("$DYNALITE_PID")
step "dynalite (DynamoDB) on $DYNALITE_ENDPOINT"
export DYNALITE_ENDPOINT

step "cargo build --release (the functions, for the end-to-end tests)"
cargo build --release --quiet -p create-room -p auth-token -p session-analytics -p room-control -p webhooks -p hello-world
export FUNCTIONS_BIN_DIR="$PWD/target/release"

step "cargo test"
cargo test --workspace
step "soak (10,000 invocations per function, e2e/tests/soak.rs)"
cat target/soak.txt
step "the biggest rooms, page by page within Lambda's limits (e2e/tests/limits.rs)"
cat target/limits.txt

step "lambda-bench smoke (the harness behind scripts/bench.sh: 1 run, 20 invocations, no figures kept)"
cargo build --quiet -p hms-e2e --bin lambda-bench
rm -rf target/bench-smoke
for b in hello-world hello-world-tls create-room auth-token session-analytics room-control webhooks; do
  mkdir -p "target/bench-smoke/$b" && ln -s "$PWD/target/release/$b" "target/bench-smoke/$b/bootstrap"
done
target/debug/lambda-bench --run-dir target/bench-smoke --runs 1 --invocations 20 >target/bench-smoke/table.md
grep -q '^| webhooks |' target/bench-smoke/table.md
# Over TLS: one handshake per service a binary calls on its cold start (Secrets Manager, then
# 100ms or DynamoDB), none over its warm invocations.
target/debug/lambda-bench --run-dir target/bench-smoke --runs 1 --invocations 20 --tls >target/bench-smoke/tls.md
python3 - target/bench-smoke/tls.md <<'PY'
import sys
rows = [l.strip().strip("|").split("|") for l in open(sys.argv[1]) if l.startswith("| ") and "handshakes" not in l]
got = {r[0].strip(): (int(r[8]), int(r[9])) for r in rows if len(r) == 10}
want = {"hello-world": (0, 0), "hello-world-tls": (1, 0), "auth-token": (1, 0), "create-room": (2, 0),
        "session-analytics": (2, 0), "room-control": (2, 0), "webhooks": (2, 0)}
assert got == want, f"handshakes (cold, warm): {got}, expected {want}"
print("TLS smoke: handshakes (cold, warm):", got)
PY

step "the attendance page in Debian's Chromium, headless (e2e/tests/attendance_page.rs)"
apt_install 'chromium=156.*' 'chromium-driver=156.*' 'fonts-dejavu-core=2.37*'
cargo test -p hms-e2e --test attendance_page -- --ignored
echo "== screenshots: target/attendance-page.png, target/attendance-page-phone.png"

step "schemathesis against the local API (openapi.yaml)"
scripts/schemathesis.sh

step "README: its local commands, verbatim (scripts/readme-check.py)"
python3 scripts/readme-check.py

step "sam build (arm64 via cargo-lambda, no Docker)"
sam build --template-file template.yaml >target/sam-build.log 2>&1 || { tail -40 target/sam-build.log; exit 1; }
scripts/package-sizes.sh

step "arm64: each bootstrap sam build made answers under qemu-user (e2e/tests/arm64.rs)"
apt_install 'qemu-user=1:7.2*' 'libc6-arm64-cross=2.36*'
cargo test -p hms-e2e --test arm64 -- --ignored

step "sam local invoke and start-api, offline (scripts/sam-local.sh)"
scripts/sam-local.sh
step "done"
