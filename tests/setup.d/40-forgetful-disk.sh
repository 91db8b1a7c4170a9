#!/usr/bin/env bash
# The forgetful disk (tests/durability/forgetful_fs.py) is a FUSE file system written with fusepy (python3-fusepy,
# which pulls in libfuse2 and the fusermount helper). It needs /dev/fuse and root to mount.
set -u
source "$(dirname "$0")/../setup-lib.sh"
if [ ! -e /dev/fuse ]; then
  echo "setup: SKIPPED the forgetful-disk peers: /dev/fuse is absent here; the power-cut tests will be skipped"
  exit 0
fi
if /usr/bin/python3 -c "import fusepy" >/dev/null 2>&1; then echo "setup: forgetful-disk peers present"; exit 0; fi
apt_install "forgetful-disk (power-cut) tests" python3-fusepy
exit 0
