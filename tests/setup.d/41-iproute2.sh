#!/usr/bin/env bash
# iproute2 (`ip netns`, veth, bridge) for the network partition test, where missing. The test also needs root.
set -u
source "$(dirname "$0")/../setup-lib.sh"
if command -v ip >/dev/null 2>&1 || [ -x /usr/sbin/ip ]; then echo "setup: iproute2 present"; exit 0; fi
apt_install "network partition test (ip netns)" iproute2
command -v ip >/dev/null 2>&1 || [ -x /usr/sbin/ip ] || echo "setup: SKIPPED iproute2; tests/cluster/network-partition-fences-old-leader will be skipped"
exit 0
