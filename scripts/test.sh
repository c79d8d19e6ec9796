#!/usr/bin/env bash
# The whole test suite: formatting, lints, the SAM template (cfn-lint, sam validate, sam build for
# arm64), unit, event, property, integration, fault and end-to-end tests, schemathesis, the
# README's local commands verbatim, the attendance page in Debian's Chromium, the arm64 binaries
# under qemu-user, and sam local (offline).
# Sets up what it needs (scripts/setup.sh; as root, Debian packages through apt, pinned) and
# starts the services the tests use: moto's server (Secrets Manager, Cognito) and dynalite (DynamoDB) here;
# the tests start the 100ms emulator and, for the end-to-end tests, cargo-lambda's Runtime API
# with the release binaries; scripts/run.sh and scripts/sam-local.sh start and stop their own.
#
# The steps overlap where one waits and another computes (docs/testing.md, "How the run is
# arranged"): the Python tools, the Debian packages and sam local's root file system download
# while the release build compiles; the debug test build, linted by clippy, fills the gaps of the
# release build; the arm64 build (`sam build`) and sam local run in the background at a lower
# priority while the tests run in the foreground, under cargo-nextest. Every step's output is printed, and a failed step fails the run. The run ends
# with a table of when each step started and how long it took.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh

started=$SECONDS
mkdir -p target/ci
rm -f target/ci/*.log target/ci/steps.tsv
# step NAME: a banner saying how long the run has taken so far (the closing notes quote them).
step() { echo "== [$((SECONDS - started)) s] $*"; }
# record NAME START [END]: one row of the closing table (END: now).
record() { printf '%s\t%s\t%s\n' "$1" "$(($2 - started))" "$((${3:-$SECONDS} - $2))" >>target/ci/steps.tsv; }
# run NAME CMD...: a foreground step, timed.
run() {
  local name=$1 t0=$SECONDS
  shift
  step "$name"
  "$@"
  record "$name" "$t0"
}

# Background steps: each in a session of its own (so the whole tree can be stopped), its output in
# target/ci/NAME.log, printed when the step is joined. `spawn_low` runs it at nice 10: it takes the
# CPU the foreground leaves.
# spawn ID "WHAT" CMD...: ID names the job and its log, WHAT is the step's name in the table.
declare -A job_pid job_t0 job_what
spawn() {
  local id=$1 what=$2
  shift 2
  step "$what (in the background; target/ci/$id.log)"
  # The step writes when it ended (seconds into the run) beside its log: joined later, its row
  # in the table still says how long it took.
  setsid bash -c '"${@:3}"; rc=$?; echo $((SECONDS + $2)) >"$1"; exit $rc' _ "target/ci/$id.end" \
    "$SECONDS" "$@" >"target/ci/$id.log" 2>&1 </dev/null &
  job_pid[$id]=$!
  job_t0[$id]=$SECONDS
  job_what[$id]=$what
}
spawn_low() {
  local id=$1 what=$2
  shift 2
  spawn "$id" "$what" nice -n 10 "$@"
}
# join ID: waits for a background step, prints its output, and fails the run if it failed.
join() {
  local id=$1 rc=0
  wait "${job_pid[$id]}" || rc=$?
  unset "job_pid[$id]"
  record "${job_what[$id]} (background)" "${job_t0[$id]}" "$(cat "target/ci/$id.end" 2>/dev/null || echo $SECONDS)"
  step "${job_what[$id]}: finished (its output follows)"
  cat "target/ci/$id.log"
  [ "$rc" = 0 ] || { echo "== ${job_what[$id]} failed (exit $rc)"; exit 1; }
}

pids=()
cleanup() {
  local p
  for p in "${job_pid[@]}"; do kill -TERM -- "-$p" 2>/dev/null || true; done
  for p in "${job_pid[@]}"; do wait "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
}
trap cleanup EXIT

# --- set-up: the toolchain now; Python tools, dynalite and Debian's packages in the background -------
run "toolchain (scripts/setup.sh --toolchain)" scripts/setup.sh --toolchain
spawn setup "setup (scripts/setup.sh)" scripts/setup.sh
# The Debian packages every later step needs, in one apt run (apt takes one at a time), then the
# root file system sam local's image is made from (debootstrap: network and disk).
packages=('docker.io=20.10.24*' 'debootstrap=1.0.128*' 'chromium=156.*' 'chromium-driver=156.*'
  'fonts-dejavu-core=2.37*' 'qemu-user=1:7.2*' 'libc6-arm64-cross=2.36*')
spawn packages "Debian packages, sam local's root file system" bash -c 'source scripts/lib.sh && apt_install "$@" && scripts/sam-local.sh --prepare' _ "${packages[@]}"

# A clean clone builds everything once, so incremental caches would only take disk (about 0.9 GB);
# the disk is shared, so say how much is free before the builds start.
if [ "${CI:-}" = true ]; then export CARGO_INCREMENTAL=0; fi
df -Pk . | awk 'NR == 2 { printf "== disk: %.1f GB free here (a clean run takes about 4 GB)\n", $4 / 1048576 }'

run "cargo fmt --check" cargo fmt --all -- --check

# Clippy lints the debug build the tests run, instead of a `cargo check` of its own: cargo clippy
# is `cargo check` with clippy-driver wrapping rustc for the workspace's crates and the lint flags
# in CLIPPY_ARGS, so the same two variables on the test build give the same lints (every target,
# -D warnings: a lint fails the build) without compiling the dependency tree a second time. Only
# the debug (test-profile) cargo runs below go through it (`linted`): clippy's own docs say
# clippy-driver "may produce artifacts that are not optimized as expected", so the release and
# arm64 builds, whose binaries are measured and shipped, never do.
linted() {
  RUSTC_WORKSPACE_WRAPPER="$(rustup which clippy-driver)" CLIPPY_ARGS="-D__CLIPPY_HACKERY__warnings__CLIPPY_HACKERY__" "$@"
}
export -f linted
# The debug build fills what the release build leaves of the CPU (its long single-threaded
# links); they lock different build directories.
spawn_low test-build "cargo clippy -D warnings, as the debug build of every target (cargo test --no-run)" \
  bash -c 'linted cargo test --workspace --all-targets --no-run --quiet --locked'
run "cargo build --release (the functions, for the end-to-end tests)" \
  cargo build --release --locked --quiet -p create-room -p auth-token -p session-analytics -p room-control -p webhooks -p reconcile -p webhook-authorizer -p hello-world
export FUNCTIONS_BIN_DIR="$PWD/target/release"

# sam build for arm64 (cargo-lambda cross-compiles with zig; no Docker). sam build runs one
# `cargo lambda build --bin <function>` per function; a build of all five in one cargo run first
# did not spare it (each function's binary was compiled and linked again), so there is none.
# SAM passes no flags to cargo-lambda (BuildProperties has only Binary), so `sam build` cannot
# take --locked; the builds above did, so Cargo.lock is known to be current when it starts.
arm64_build() {
  sam build --template-file template.yaml >target/sam-build.log 2>&1 || { tail -40 target/sam-build.log; return 1; }
  scripts/package-sizes.sh
}
export -f arm64_build
join setup
export PATH="$PWD/.venv/bin:$PATH" SAM_CLI_TELEMETRY=0
spawn_low arm64 "sam build (arm64 via cargo-lambda)" bash -c arm64_build

lint_template() {
  cfn-lint template.yaml
  sam validate --lint --region us-east-1 --template-file template.yaml >target/sam-validate.log 2>&1 ||
    { cat target/sam-validate.log; return 1; }
}
run "cfn-lint and sam validate --lint (template.yaml)" lint_template

start_moto target/moto.log
pids+=("$MOTO_PID")
step "moto (Secrets Manager, and Cognito for the sign-in tests) on $MOTO_ENDPOINT"
export MOTO_ENDPOINT AWS_REGION=us-east-1 AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing
unset AWS_PROFILE AWS_SESSION_TOKEN
start_dynalite target/dynalite.log
pids+=("$DYNALITE_PID")
step "dynalite (DynamoDB) on $DYNALITE_ENDPOINT"
export DYNALITE_ENDPOINT

join packages
spawn_low sam-local "sam local invoke, start-lambda and start-api, offline (scripts/sam-local.sh)" scripts/sam-local.sh

join test-build
# The Rust suites: cargo-nextest (on the machine) runs each test in a process of its own, four at
# a time, so the long ones (the soak, the fault tests' timeouts) overlap; a plain cargo test where
# it is missing. The soak's, the limits test's and the burst test's figures are removed first: a
# run that skipped one has none to print, and fails below.
rm -f target/soak.txt target/limits.txt target/burst.txt
if command -v cargo-nextest >/dev/null; then
  run "cargo nextest run (every Rust test, 4 at a time)" linted cargo nextest run --workspace --locked --test-threads 4 --no-fail-fast
else
  run "cargo test" linted cargo test --workspace --locked
fi
step "soak (10,000 invocations per function, e2e/tests/soak.rs)"
cat target/soak.txt
step "the biggest rooms, page by page within Lambda's limits (e2e/tests/limits.rs)"
cat target/limits.txt
step "the biggest class ends: 20,000 leaves at once, counted per partition (e2e/tests/burst.rs)"
cat target/burst.txt

# lambda-bench, the attendance page and the arm64 test run from the debug build `cargo test
# --workspace` made: a cargo run that selects other packages (`-p hms-e2e`) resolves other
# features and compiles much of the dependency tree again.
bench_smoke() {
  [ -x target/debug/lambda-bench ] || { echo "target/debug/lambda-bench missing: cargo test --workspace builds it" >&2; return 1; }
  rm -rf target/bench-smoke
  for b in hello-world hello-world-tls create-room auth-token session-analytics room-control webhooks; do
    mkdir -p "target/bench-smoke/$b" && ln -s "$PWD/target/release/$b" "target/bench-smoke/$b/bootstrap"
  done
  target/debug/lambda-bench --run-dir target/bench-smoke --runs 1 --invocations 20 >target/bench-smoke/table.md
  grep -q '^| webhooks |' target/bench-smoke/table.md
  # Over TLS: one handshake per service a binary calls on its cold start (Secrets Manager, then
  # 100ms or DynamoDB; auth-token with sign-in: Secrets Manager and DynamoDB), none over its warm
  # invocations.
  target/debug/lambda-bench --run-dir target/bench-smoke --runs 1 --invocations 20 --tls >target/bench-smoke/tls.md
  python3 - target/bench-smoke/tls.md <<'PY'
import sys
rows = [l.strip().strip("|").split("|") for l in open(sys.argv[1]) if l.startswith("| ") and "handshakes" not in l]
got = {r[0].strip(): (int(r[8]), int(r[9])) for r in rows if len(r) == 10}
want = {"hello-world": (0, 0), "hello-world-tls": (1, 0), "auth-token": (1, 0), "create-room": (2, 0),
        "session-analytics": (2, 0), "room-control": (2, 0), "webhooks": (2, 0), "auth-token (jwt)": (2, 0)}
assert got == want, f"handshakes (cold, warm): {got}, expected {want}"
print("TLS smoke: handshakes (cold, warm):", got)
PY
}
run "lambda-bench smoke (the harness behind scripts/bench.sh: 1 run, 20 invocations, no figures kept)" bench_smoke

attendance_page() {
  # One browser at a time: each test floods its own stack with a class's webhooks.
  linted cargo test --workspace --locked --test attendance_page -- --ignored --test-threads 1
  echo "== screenshots: target/attendance-page.png, target/attendance-page-phone.png, target/class-report-page.png, target/class-report-page-phone.png"
}
run "the attendance page and the class report in Debian's Chromium, headless (e2e/tests/attendance_page.rs)" attendance_page
run "schemathesis against the local API (openapi.yaml)" scripts/schemathesis.sh
run "README: its local commands, verbatim (scripts/readme-check.py)" python3 scripts/readme-check.py
run "run.sh --jwt: sign in with moto's Cognito, forged, expired and other-client tokens refused (scripts/jwt-check.py)" \
  .venv/bin/python3 scripts/jwt-check.py

join arm64
run "arm64: each bootstrap sam build made answers under qemu-user (e2e/tests/arm64.rs)" \
  linted cargo test --workspace --locked --test arm64 -- --ignored
join sam-local

step "done"
echo "== steps (start and duration in seconds; background steps overlap the foreground)"
awk -F'\t' '{ printf "   %5d %5d  %s\n", $2, $3, $1 }' target/ci/steps.tsv
