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
