#!/usr/bin/env bash
# The biggest class's end at three sizes (BENCHMARKS.md, "Nothing lost (issue 31)"): the burst
# test (e2e/tests/burst.rs) with BURST_PEERS at 1,000, 10,000 and 20,000 peers, through the
# release binaries against dynalite: deliveries a second, p50/p99 delivery latency, the busiest
# partition key, the report's build time and each function's peak RSS. The lines go to
# target/bench/burst.txt. The suite runs the 20,000-peer case (scripts/test.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
export PATH="$PWD/.venv/bin:$PATH" AWS_REGION=us-east-1 AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing
unset AWS_PROFILE AWS_SESSION_TOKEN
echo "== cargo build --release (the functions)"
cargo build --release --locked --quiet -p create-room -p auth-token -p session-analytics -p room-control -p webhooks \
  -p reconcile -p webhook-authorizer -p hello-world
export FUNCTIONS_BIN_DIR="$PWD/target/release"
mkdir -p target/bench
: >target/bench/burst.txt
for peers in 1000 10000 20000; do
  echo "== the end of a class of $peers peers (load $(cut -d' ' -f1-3 /proc/loadavg))"
  BURST_PEERS=$peers cargo test --locked --quiet -p hms-e2e --test burst -- --nocapture 2>&1 | grep '^burst:' |
    tee -a target/bench/burst.txt
done
echo "(written to target/bench/burst.txt)"
