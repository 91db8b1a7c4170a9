#!/usr/bin/env bash
# Debian's Chromium for the web console's browser tests (driven by playwright-core; no browser download), where missing.
set -u
source "$(dirname "$0")/../setup-lib.sh"
if [ -x /usr/bin/chromium ]; then echo "setup: chromium present"; exit 0; fi
apt_install "the web console browser tests" chromium
exit 0
