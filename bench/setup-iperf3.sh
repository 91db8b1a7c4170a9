#!/usr/bin/env bash
# Installs iperf3 (the loopback yardstick of bench/ingest.ts's fetch row) with apt-get when it is missing and we
# are root; otherwise says it is skipped. Run by bench/iperf3.ts when it finds no iperf3.
set -u
if command -v iperf3 >/dev/null 2>&1; then echo "bench: iperf3 present"; exit 0; fi
source "$(dirname "$0")/../tests/setup-lib.sh"
apt_install "the fetch bench's loopback yardstick" iperf3
