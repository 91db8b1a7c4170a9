#!/usr/bin/env bash
# Installs the real peers the interop tests talk to (Debian packages), where missing. Needs root for apt-get;
# without it, says clearly what is skipped. Safe to run again.
set -u
want_bins=(kcat)
want_py=(kafka confluent_kafka)
pkgs=()
command -v kcat >/dev/null 2>&1 || pkgs+=(kcat)
/usr/bin/python3 -c "import kafka" >/dev/null 2>&1 || pkgs+=(python3-kafka)
/usr/bin/python3 -c "import confluent_kafka" >/dev/null 2>&1 || pkgs+=(python3-confluent-kafka)
/usr/bin/python3 -c "import lz4, zstandard, snappy" >/dev/null 2>&1 || pkgs+=(python3-lz4 python3-zstandard python3-snappy)
command -v lz4 >/dev/null 2>&1 || pkgs+=(lz4)
command -v zstd >/dev/null 2>&1 || pkgs+=(zstd)
if [ ${#pkgs[@]} -eq 0 ]; then
  echo "setup: all interop peers present"
  exit 0
fi
if [ "$(id -u)" != "0" ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "setup: SKIPPED installing ${pkgs[*]} (needs root and apt-get); tests that need them will be skipped"
  exit 0
fi
echo "setup: installing ${pkgs[*]}"
export DEBIAN_FRONTEND=noninteractive
if ! apt-get update -qq >/tmp/runnel-apt.log 2>&1 || ! apt-get install -y -qq "${pkgs[@]}" >>/tmp/runnel-apt.log 2>&1; then
  echo "setup: apt-get failed (see /tmp/runnel-apt.log); tests that need ${pkgs[*]} will be skipped"
  tail -5 /tmp/runnel-apt.log
fi
exit 0
