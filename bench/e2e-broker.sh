# Sourced by bench/e2e-tail-latency.sh and bench/e2e-broker-cpu.sh: starts and stops the broker of one e2e run.
# e2e_broker_start BINARY: starts BINARY on free ports with a fresh temp data dir and 4 partitions per topic
# (BROKER_OPTS adds settings), sets DATA, PORT, HTTP and PID, and returns once /metrics answers.
# e2e_broker_stop: stops it and removes the data dir.
e2e_broker_start() {
  DATA=$(mktemp -d /tmp/runnel-e2e-XXXXXX)
  read -r PORT HTTP < <(python3 -c 'import socket
s=[socket.socket() for _ in range(2)]
[x.bind(("127.0.0.1",0)) for x in s]
print(*[x.getsockname()[1] for x in s])')
  "$1" start --port "$PORT" --data-dir "$DATA" --http "http://127.0.0.1:$HTTP" -o num.partitions=4 ${BROKER_OPTS:-} >"$DATA.log" 2>&1 &
  PID=$!
  trap 'kill $PID 2>/dev/null; wait $PID 2>/dev/null; rm -rf "$DATA" "$DATA.log"' EXIT
  for _ in $(seq 100); do curl -sf "http://127.0.0.1:$HTTP/metrics" >/dev/null && break; sleep 0.1; done
}
e2e_broker_stop() {
  kill $PID; wait $PID 2>/dev/null || true
  rm -rf "$DATA" "$DATA.log"
  trap - EXIT
}
