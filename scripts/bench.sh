#!/usr/bin/env bash
# The benchmark table (BENCHMARKS.md): for each function and for the hello-world lambda_http
# floor, built with the same release profile in the same run: init, cold first response, warm
# invocation, peak RSS after 1,000 invocations (medians of --runs runs), the stripped binary and
# the zips for arm64 and x86_64, and each function's ratio to the floor.
#
#   scripts/bench.sh [--runs N] [--invocations N] [--peers N] [--tls [--ca-base BUNDLE]]
#
# --tls: every service over HTTPS, as on AWS (TLS endpoints in front of moto, dynalite and the
# emulator, a CA made for the run and trusted through SSL_CERT_FILE), the TLS floor
# (hello-world-tls) added, and the handshakes counted; --ca-base appends the CA to a bundle (the
# system's) so the roots read are as many as a real system's.
#
# Builds with cargo-lambda (zig cross-compiles arm64; the x86_64 build is the one run here),
# starts moto's Secrets Manager and dynalite, runs target/release/lambda-bench (e2e/src/bin/lambda-bench/:
# a minimal Runtime API that timestamps each process; 100ms is the emulator, in-process), and
# writes the table to target/bench/table.md. criterion's benches are separate: `cargo bench`.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh

scripts/setup.sh
export PATH="$PWD/.venv/bin:$PATH"
out=target/bench
mkdir -p "$out"

pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; }
trap cleanup EXIT

functions=(create-room auth-token session-analytics room-control webhooks)
# The hello-world package builds both floors.
binaries=(hello-world hello-world-tls "${functions[@]}")
packages=(-p hello-world)
for f in "${functions[@]}"; do packages+=(-p "$f"); done

for arch in arm64 x86_64; do
  flag=--arm64; [[ $arch == x86_64 ]] && flag=--x86-64
  echo "== cargo lambda build --release $flag (${binaries[*]})"
  cargo lambda build --release --locked "$flag" --lambda-dir "$out/$arch" "${packages[@]}" >"$out/build-$arch.log" 2>&1 ||
    { tail -30 "$out/build-$arch.log"; exit 1; }
  # The zip as `sam deploy` / `cargo lambda deploy` upload it: bootstrap alone, deflated, executable.
  python3 - "$out/$arch" "${binaries[@]}" <<'PY'
import sys, zipfile
base, names = sys.argv[1], sys.argv[2:]
for n in names:
    data = open(f"{base}/{n}/bootstrap", "rb").read()
    with zipfile.ZipFile(f"{base}/{n}/bootstrap.zip", "w", zipfile.ZIP_DEFLATED) as z:
        info = zipfile.ZipInfo("bootstrap")
        info.external_attr = 0o755 << 16
        info.compress_type = zipfile.ZIP_DEFLATED
        z.writestr(info, data)
PY
done

echo "== cargo build --release -p hms-e2e --bin lambda-bench"
cargo build --release --locked --quiet -p hms-e2e --bin lambda-bench

start_moto "$out/moto.log"
pids+=("$MOTO_PID")
export MOTO_ENDPOINT AWS_REGION=us-east-1 AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing
unset AWS_PROFILE AWS_SESSION_TOKEN
start_dynalite "$out/dynalite.log"
pids+=("$DYNALITE_PID")
export DYNALITE_ENDPOINT

echo "== lambda-bench (machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), load $(cut -d' ' -f1-3 /proc/loadavg))"
target/release/lambda-bench --run-dir "$out/x86_64" --arm64-dir "$out/arm64" --x86-64-dir "$out/x86_64" \
  --out "$out/table.md" "$@"
echo "(table written to $out/table.md)"
