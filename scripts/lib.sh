# Helpers sourced by the scripts.

# A free TCP port on the loopback.
free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

# wait_for_port PORT SECONDS NAME: waits until something listens on 127.0.0.1:PORT.
wait_for_port() {
  local port=$1 secs=$2 name=$3 i
  for ((i = 0; i < secs * 10; i++)); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then return 0; fi
    sleep 0.1
  done
  echo "$name did not start listening on port $port within ${secs}s" >&2
  return 1
}

# start_moto LOGFILE: starts moto's server (Secrets Manager emulator) from .venv on a free port;
# sets MOTO_PID and MOTO_ENDPOINT.
start_moto() {
  local port
  port=$(free_port)
  .venv/bin/moto_server -H 127.0.0.1 -p "$port" >"$1" 2>&1 &
  MOTO_PID=$!
  MOTO_ENDPOINT="http://127.0.0.1:$port"
  wait_for_port "$port" 30 "moto_server"
}

# start_dynalite LOGFILE: starts dynalite (a DynamoDB-compatible server, tools/dynalite, in
# memory) on a free port; sets DYNALITE_PID and DYNALITE_ENDPOINT.
start_dynalite() {
  local port
  port=$(free_port)
  node tools/dynalite/node_modules/dynalite/cli.js --host 127.0.0.1 --port "$port" >"$1" 2>&1 &
  DYNALITE_PID=$!
  DYNALITE_ENDPOINT="http://127.0.0.1:$port"
  wait_for_port "$port" 30 "dynalite"
}

# apt_install PACKAGE=VERSION...: installs, as root, those of Debian's packages that are not
# installed yet, pinned (a version may end in *: bookworm's point releases move the suffix).
apt_install() {
  local missing=() p
  for p in "$@"; do
    # Installed, not merely known (a removed package keeps its configuration and its record).
    [ "$(dpkg-query -W -f='${Status}' "${p%%=*}" 2>/dev/null)" = "install ok installed" ] || missing+=("$p")
  done
  [ ${#missing[@]} = 0 ] && return 0
  [ "$(id -u)" = 0 ] || { echo "apt_install: ${missing[*]} missing, and installing needs root" >&2; return 1; }
  echo "apt: installing ${missing[*]}"
  mkdir -p target
  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"; } \
    >target/apt.log 2>&1 || { tail -20 target/apt.log >&2; return 1; }
}
