#!/usr/bin/env bash
# Prometheus's Python client, whose text-format parser checks that /metrics parses (tests/http), where missing.
set -u
source "$(dirname "$0")/../setup-lib.sh"
if /usr/bin/python3 -c "import prometheus_client" >/dev/null 2>&1; then echo "setup: prometheus_client present"; exit 0; fi
apt_install "the /metrics parser test" python3-prometheus-client
exit 0
