#!/usr/bin/env bash
# End-to-end latency at 100,000 records/s with acks=all (issue 15, "Tail latency"), RUNS times: each run starts
# BINARY (default dist/runnel) on free ports with a fresh temp data dir and 4 partitions per topic, runs the
# `bench e2e` command of bench/results/tail-latency.md against a new topic, stops the broker and prints one line:
# the 1-minute load average before -> after, e2e p50/p90/p99, the client-side breakdown (p99 of each part, see
# src/bench/e2e-breakdown.ts), the CPU seconds of producer, consumer and broker, and the broker's own figures
# (bucket upper bounds from --broker-metrics). Extra arguments go to `bench e2e` (e.g. --acks 1 as a control).
# The producer and consumer keep the client's defaults, as a Kafka user's would (batch.size 16384, linger.ms 5 as in
# Kafka 4; fetch.max.wait.ms is bench e2e's 100). Until 2026-12-05 10:00 the script passed --linger-ms 1
# --batch-size 16384 --fetch-max-wait-ms 100; add --linger-ms 1 to repeat those runs.
# BROKER_OPTS adds broker settings (e.g. BROKER_OPTS="-o log.preallocate=true").
# DURATION and WARMUP (seconds, default 6 and 1, the acceptance row's) set the run's length and the part left out of
# the percentiles at its start: a longer warm-up shows how much of the p99 is the fresh processes' JIT warm-up.
# Usage: [RUNS=3] [BROKER_OPTS=...] [DURATION=6] [WARMUP=1] bash bench/e2e-tail-latency.sh [BINARY] [bench e2e options...]
set -euo pipefail
source "$(dirname "$0")/e2e-broker.sh"
BIN=${1:-dist/runnel}
shift || true
for run in $(seq "${RUNS:-3}"); do
  e2e_broker_start "$BIN"
  LOAD0=$(cut -d' ' -f1 /proc/loadavg)
  OUT=$("$BIN" bench e2e -b "127.0.0.1:$PORT" -t "e2e-$run" --throughput 100000 --duration "${DURATION:-6}" --warmup "${WARMUP:-1}" -s 100 \
    --acks all --json --progress-ms 0 \
    --broker-metrics "http://127.0.0.1:$HTTP/metrics" "$@")
  LOAD1=$(cut -d' ' -f1 /proc/loadavg)
  BROKER_CPU=$(awk '{print ($14 + $15) / 100}' "/proc/$PID/stat")
  e2e_broker_stop
  echo "$OUT" | RUN=$run LOAD="$LOAD0->$LOAD1" BROKER_CPU=$BROKER_CPU python3 -c '
import json, os, sys
r = json.load(sys.stdin); e = r["e2eLatencyMs"]; b = r.get("e2eBreakdownMs") or {}; k = r.get("broker") or {}
def p99(name): return "%.2f" % b[name]["p99"] if name in b else "-"
def p50(name): return "%.2f" % b[name]["p50"] if name in b else "-"
def up(api, phase):
    v = (k.get(api) or {}).get(phase)
    return "<=%g" % v["p99"] if v else "-"
stalls = b.get("producerWindowStalls") or {"count": 0, "max": 0}
print("run %s | load %s | e2e p50 %.2f p90 %.2f p99 %.2f ms | batch age p50 %s | p99 of: batch age %s, beyond linger %s, timer late %s, window stalls %d (max %.1f), send->fetch response %s, in consumer %s, loop lag P %s C %s | CPU s P %s C %s B %s | broker p99: Produce own %s, fsync wait %s, Fetch own %s, woken path %s, fdatasync %s" % (
    os.environ["RUN"], os.environ["LOAD"], e["p50"], e["p90"], e["p99"], p50("producerBatchAge"), p99("producerBatchAge"), p99("producerBeyondLinger"), p99("producerTimerLate"), stalls["count"], stalls["max"],
    p99("sendToFetchResponse"), p99("inConsumer"), p99("producerLoopLag"), p99("consumerLoopLag"), b.get("producerCpuS", "-"), b.get("consumerCpuS", "-"),
    os.environ["BROKER_CPU"], up("produce", "own"), up("produce", "remote"), up("fetch", "own"), up("fetch", "wokenPath"),
    "<=%g" % k["fsync"]["p99"] if k.get("fsync") else "-"))'
done
