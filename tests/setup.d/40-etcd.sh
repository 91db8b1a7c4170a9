#!/usr/bin/env bash
# etcd for the cluster-metadata tests (Debian's etcd-server: /usr/bin/etcd), where missing.
set -u
source "$(dirname "$0")/../setup-lib.sh"
if command -v etcd >/dev/null 2>&1; then echo "setup: etcd present ($(etcd --version 2>/dev/null | head -1))"; exit 0; fi
apt_install "cluster metadata tests (etcd)" etcd-server
# The package starts a system etcd on the default ports; the tests start their own on free ports, so stop it.
if command -v systemctl >/dev/null 2>&1; then systemctl disable --now etcd >/dev/null 2>&1 || true; fi
command -v etcd >/dev/null 2>&1 || echo "setup: SKIPPED etcd; tests/cluster etcd tests will be skipped"
exit 0
