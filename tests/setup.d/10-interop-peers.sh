#!/usr/bin/env bash
# The real Kafka clients and codec tools the interop tests talk to (Debian packages), where missing.
set -u
source "$(dirname "$0")/../setup-lib.sh"
pkgs=()
command -v kcat >/dev/null 2>&1 || pkgs+=(kcat)
/usr/bin/python3 -c "import kafka" >/dev/null 2>&1 || pkgs+=(python3-kafka)
/usr/bin/python3 -c "import confluent_kafka" >/dev/null 2>&1 || pkgs+=(python3-confluent-kafka)
/usr/bin/python3 -c "import lz4, zstandard, snappy" >/dev/null 2>&1 || pkgs+=(python3-lz4 python3-zstandard python3-snappy)
command -v lz4 >/dev/null 2>&1 || pkgs+=(lz4)
command -v zstd >/dev/null 2>&1 || pkgs+=(zstd)
if [ ${#pkgs[@]} -eq 0 ]; then echo "setup: interop peers present"; exit 0; fi
apt_install "interop tests" "${pkgs[@]}"
exit 0
