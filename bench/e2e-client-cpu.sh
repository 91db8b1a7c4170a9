#!/usr/bin/env bash
# The bench clients' CPU in bench/e2e-tail-latency.sh's scenario (100,000 records/s of 100 bytes, acks=all, linger.ms
# 5, batch.size 16384, 4 partitions, 6 s + 1 s warm-up), as an A/B of two executables running `bench e2e` (the
# producer in that process, the consumer in a child process of the same executable) against one broker executable
# (BROKER, default dist/runnel), in ABBA order: PAIRS times "A B B A", each run a fresh broker on free ports with a
# fresh temp data dir. Per run it prints the producer's and the consumer's process CPU seconds (user+system, as
# `bench e2e` reports them: from the start of sending to the end, warm-up included), the Produce requests, the e2e
# p99, the producer's event-loop lag p99 and linger-timer lateness p99, the broker's CPU and the 1-minute load.
# The summary gives per variant the medians and, per pair, B - A of the producer's and consumer's CPU (mean and
# standard error over the 2*PAIRS A/B neighbours). p99s are noise on a shared machine; CPU is not.
# Usage: [PAIRS=4] [BROKER=dist/runnel] [BROKER_OPTS=...] bash bench/e2e-client-cpu.sh BINARY_A BINARY_B [bench e2e options...]
set -euo pipefail
A=$1
B=$2
shift 2
BROKER=${BROKER:-dist/runnel}
OUT=$(mktemp /tmp/runnel-e2e-client-cpu-XXXXXX.txt)
source "$(dirname "$0")/e2e-broker.sh"
run() {
  local label=$1 bin=$2
  shift 2
  e2e_broker_start "$BROKER"
  JSON=$("$bin" bench e2e -b "127.0.0.1:$PORT" -t e2e-client-cpu --throughput 100000 --duration 6 --warmup 1 -s 100 \
    --acks all --json --progress-ms 0 "$@" 2>/dev/null)
  BROKER_CPU=$(awk '{print ($14 + $15) / 100}' "/proc/$PID/stat")
  e2e_broker_stop
  echo "$JSON" | LABEL=$label LOAD=$(cut -d' ' -f1 /proc/loadavg) BROKER_CPU=$BROKER_CPU python3 -c '
import json, os, sys
r = json.load(sys.stdin); b = r["e2eBreakdownMs"]
print("%s P=%s C=%s req=%d p99=%.2f lagP=%.2f timerLate=%.2f B=%s load=%s" % (os.environ["LABEL"], b["producerCpuS"], b["consumerCpuS"],
    b["produceRequests"], r["e2eLatencyMs"]["p99"], b["producerLoopLag"]["p99"], b["producerTimerLate"]["p99"], os.environ["BROKER_CPU"], os.environ["LOAD"]))' | tee -a "$OUT"
}
for _ in $(seq "${PAIRS:-4}"); do
  run A "$A" "$@"
  run B "$B" "$@"
  run B "$B" "$@"
  run A "$A" "$@"
done
python3 - "$OUT" "$(dirname "$0")" <<'PY'
import re, statistics as st, sys
sys.path.insert(0, sys.argv[2])
from abba_fit import fit_last_term
rows = []
for line in open(sys.argv[1]):
    m = re.match(r"(\S+) P=([\d.]+) C=([\d.]+) req=(\d+) p99=(\S+) lagP=(\S+) timerLate=(\S+) B=(\S+) load=(\S+)", line)
    if m: rows.append((m[1], float(m[2]), float(m[3]), int(m[4]), float(m[5]), float(m[6]), float(m[7]), float(m[9])))
# Neighbouring A/B runs: in "A B B A" the first A with the first B, the second B with the second A.
diffs = {"producer": [], "consumer": []}
for i in range(0, len(rows) - 3, 4):
    for a, b in ((rows[i], rows[i + 1]), (rows[i + 3], rows[i + 2])):
        diffs["producer"].append(b[1] - a[1]); diffs["consumer"].append(b[2] - a[2])
for name, d in diffs.items():
    if len(d) >= 2:
        print(f"{name}: B - A {st.mean(d):+.3f} +- {st.stdev(d) / len(d) ** 0.5:.3f} CPU s per run ({sum(x < 0 for x in d)} of {len(d)} pairs lower)")
# A starved broker answers fewer, larger Produce requests and the clients' CPU falls with the count: fit CPU on the
# request count plus a per-variant term (B - A at equal request counts, with its standard error).
if len(rows) > 3 and len({r[3] for r in rows}) > 1:
    for col, name in ((1, "producer"), (2, "consumer")):
        c, se = fit_last_term([[1, r[3], 1 if r[0] == "B" else 0] for r in rows], [r[col] for r in rows])
        print(f"{name}: B - A at equal Produce request counts {c[2]:+.3f} +- {se:.3f} CPU s per run ({c[1] * 1e6:.0f} us per request)")
for label in ("A", "B"):
    rs = [r for r in rows if r[0] == label]
    if rs:
        print(f"{label}: n={len(rs)} producer {st.median(r[1] for r in rs):.2f} s, consumer {st.median(r[2] for r in rs):.2f} s, "
              f"e2e p99 {st.median(r[4] for r in rs):.2f} ms, loop lag p99 {st.median(r[5] for r in rs):.2f} ms, timer late p99 "
              f"{st.median(r[6] for r in rs):.2f} ms (medians), load {min(r[7] for r in rs)}-{max(r[7] for r in rs)}")
PY
rm -f "$OUT"
