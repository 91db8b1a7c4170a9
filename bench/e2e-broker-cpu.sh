#!/usr/bin/env bash
# The broker's CPU in bench/e2e-tail-latency.sh's scenario (100,000 records/s of 100 bytes, acks=all, 4 partitions,
# 6 s + 1 s warm-up), as an A/B of two executables in ABBA order: PAIRS times "A B B A", each run a fresh broker on
# free ports with a fresh temp data dir. Per run it prints the broker's main-thread CPU seconds (user+system, from
# /proc/PID/task/PID/stat) and the whole process's, both counted from the moment the broker answered its first
# /metrics scrape (start-up left out), the main thread's minor faults, the Produce and Fetch requests it served, the
# e2e p99 and the 1-minute load. On a loaded machine the bench's clients fall behind and send fewer, larger requests,
# so CPU per run follows the request count: the summary gives medians per variant and a least-squares fit of the
# main-thread and whole-process CPU on the Produce and Fetch counts plus a per-variant term (B - A at equal request
# counts, with its standard error). Wall figures and p99s are noise on a shared machine; CPU is not.
# Usage: [PAIRS=4] [ACKS=all] [BROKER_OPTS=...] bash bench/e2e-broker-cpu.sh BINARY_A BINARY_B
set -euo pipefail
A=$1
B=$2
OUT=$(mktemp /tmp/runnel-e2e-cpu-XXXXXX.txt)
source "$(dirname "$0")/e2e-broker.sh"
run() {
  local label=$1 bin=$2
  e2e_broker_start "$bin"
  M0=$(awk '{print $14 + $15}' "/proc/$PID/task/$PID/stat")
  T0=$(awk '{print $14 + $15}' "/proc/$PID/stat")
  JSON=$("$bin" bench e2e -b "127.0.0.1:$PORT" -t e2e-cpu --throughput 100000 --duration 6 --warmup 1 -s 100 \
    --acks "${ACKS:-all}" --json --progress-ms 0 2>/dev/null)
  read -r M1 FLT < <(awk '{print $14 + $15, $10}' "/proc/$PID/task/$PID/stat")
  T1=$(awk '{print $14 + $15}' "/proc/$PID/stat")
  REQ=$(curl -s "http://127.0.0.1:$HTTP/metrics" | awk '/requests_total\{request="Produce"\}/{p=$NF} /requests_total\{request="Fetch"\}/{f=$NF} END{print p, f}')
  e2e_broker_stop
  P99=$(echo "$JSON" | python3 -c 'import json,sys; print(json.load(sys.stdin)["e2eLatencyMs"]["p99"])')
  # Clock ticks are 1/100 s (USER_HZ).
  echo "$label main=$(echo "($M1 - $M0) / 100" | bc -l | cut -c1-5) total=$(echo "($T1 - $T0) / 100" | bc -l | cut -c1-5) minflt=$FLT req=$REQ p99=$P99 load=$(cut -d' ' -f1 /proc/loadavg)" | tee -a "$OUT"
}
for _ in $(seq "${PAIRS:-4}"); do
  run A "$A"
  run B "$B"
  run B "$B"
  run A "$A"
done
python3 - "$OUT" "$(dirname "$0")" <<'EOF'
import re, statistics as st, sys
sys.path.insert(0, sys.argv[2])
from abba_fit import fit_last_term
rows = []
for line in open(sys.argv[1]):
    m = re.match(r"(\S+) main=([\d.]+) total=([\d.]+) minflt=(\d+) req=(\d+) (\d+) p99=(\S+) load=(\S+)", line)
    if m: rows.append((m[1], float(m[2]), float(m[3]), int(m[4]), int(m[5]), int(m[6]), float(m[8])))
for col, name in ((1, "main thread"), (2, "whole process")):
    c, se = fit_last_term([[1, r[4], r[5], 1 if r[0] == "B" else 0] for r in rows], [r[col] for r in rows])
    print(f"{name}: B - A at equal request counts {c[3]:+.3f} +- {se:.3f} CPU s per run")
for label in ("A", "B"):
    rs = [r for r in rows if r[0] == label]
    print(f"{label}: n={len(rs)} main {st.median(r[1] for r in rs):.2f} s, whole {st.median(r[2] for r in rs):.2f} s, "
          f"main {st.median(r[1] / (r[4] + r[5]) * 1e6 for r in rs):.0f} us per request (medians), load {min(r[6] for r in rs)}-{max(r[6] for r in rs)}")
EOF
rm -f "$OUT"
