#!/usr/bin/env bash
# Event-loop lag while producing to a plain, a gzip, a zstd, an lz4 and a snappy topic (issue 15): starts BINARY
# (default dist/runnel) on free ports with a temp data dir, creates topics plain / gz (compression.type=gzip) /
# zs (compression.type=zstd) / lz (compression.type=lz4) / sn (compression.type=snappy) with 4 partitions, produces uncompressed batches to each in turn with
# `bench produce`, and prints after each run the runnel_eventloop_lag_ms samples per bucket (deltas) and
# runnel_eventloop_lag_max_seconds (the largest lag since start). Usage: [TOPICS="lz sn"] [BATCH=bytes] bash bench/event-loop-lag.sh [BINARY]
set -euo pipefail
BIN=${1:-dist/runnel}
DATA=$(mktemp -d /tmp/runnel-lag-XXXXXX)
read -r PORT HTTP < <(python3 -c 'import socket
s=[socket.socket() for _ in range(2)]
[x.bind(("127.0.0.1",0)) for x in s]
print(*[x.getsockname()[1] for x in s])')
"$BIN" start --port "$PORT" --data-dir "$DATA" --http "http://127.0.0.1:$HTTP" >"$DATA.log" 2>&1 &
PID=$!
trap 'kill $PID 2>/dev/null; wait $PID 2>/dev/null; rm -rf "$DATA" "$DATA.log"' EXIT
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$HTTP/metrics" >/dev/null && break; sleep 0.1; done
B=127.0.0.1:$PORT
"$BIN" topic create -b "$B" -p 4 plain >/dev/null
"$BIN" topic create -b "$B" -p 4 -c compression.type=gzip gz >/dev/null
"$BIN" topic create -b "$B" -p 4 -c compression.type=zstd zs >/dev/null
"$BIN" topic create -b "$B" -p 4 -c compression.type=lz4 lz >/dev/null
"$BIN" topic create -b "$B" -p 4 -c compression.type=snappy sn >/dev/null
buckets() { curl -sf "http://127.0.0.1:$HTTP/metrics" | awk '/^runnel_eventloop_lag_ms_bucket/ {match($0,/le="[^"]*"/); printf "%s=%s ", substr($0,RSTART+4,RLENGTH-5), $NF} /^runnel_eventloop_lag_max_seconds/ {printf "max_ms=%.0f ", $NF*1000}'; }
echo "start: $(buckets)"
for t in ${TOPICS:-plain gz zs lz sn}; do
  rate=$("$BIN" bench produce -b "$B" -t "$t" -n 100000 -s 1000 --acks 1 --batch-size "${BATCH:-262144}" --progress-ms 0 --json | python3 -c 'import json,sys; p=json.load(sys.stdin)["produce"]; print(round(p["recordsPerSec"]), "errors=%d" % p["errors"])')
  echo "$t: records/s=$rate lag buckets (le ms=cumulative samples): $(buckets)"
done
