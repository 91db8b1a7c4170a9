# Shared by tests/setup.d/*.sh: install Debian packages where missing, or say clearly what is skipped.
# Sourced, not run. `apt_install WHAT pkg...` runs `apt-get update` at most once per setup run.

# apt_install WHAT PKG...: installs PKGs (the peers WHAT needs) with apt-get when root; otherwise prints a SKIPPED line.
apt_install() {
  local what="$1"; shift
  [ $# -eq 0 ] && return 0
  if [ "$(id -u)" != "0" ] || ! command -v apt-get >/dev/null 2>&1; then
    echo "setup: SKIPPED installing $* for $what (needs root and apt-get); tests that need them will be skipped"
    return 0
  fi
  export DEBIAN_FRONTEND=noninteractive
  if [ ! -f /tmp/runnel-apt-updated ] || [ -n "$(find /tmp/runnel-apt-updated -mmin +600 2>/dev/null)" ]; then
    apt-get update -qq >/tmp/runnel-apt.log 2>&1 && touch /tmp/runnel-apt-updated
  fi
  echo "setup: installing $* for $what"
  if ! apt-get install -y -qq "$@" >>/tmp/runnel-apt.log 2>&1; then
    echo "setup: apt-get failed (see /tmp/runnel-apt.log); tests that need $* will be skipped"
    tail -5 /tmp/runnel-apt.log
  fi
}
