#!/usr/bin/env bash
# Builds the Go test peer (tests/go/peer: franz-go kgo/kadm and sarama scenarios, modules pinned by tests/go/go.mod
# and go.sum, fetched through the Go module proxy) into tests/go/bin (ignored by git). Rebuilds only when a source
# changed. Says clearly what is skipped.
set -u
dir="$(cd "$(dirname "$0")/../go" && pwd)"
if ! command -v go >/dev/null 2>&1 && [ -x /usr/local/go/bin/go ]; then PATH="$PATH:/usr/local/go/bin"; fi
if ! command -v go >/dev/null 2>&1; then
  echo "setup: SKIPPED the Go test peer (no go toolchain; tests/go/go.mod needs Go >= 1.26); franz-go and sarama tests will be skipped"
  exit 0
fi
stamp="$dir/bin/.src-$(cat "$dir/go.mod" "$dir/go.sum" $(find "$dir/peer" -name '*.go' | sort) | sha1sum | cut -c1-12)"
if [ -f "$stamp" ] && [ -x "$dir/bin/peer" ]; then echo "setup: Go test peer built"; exit 0; fi
rm -rf "$dir/bin"
mkdir -p "$dir/bin"
log="$(mktemp -t runnel-go-build.XXXXXX.log)"
if (cd "$dir" && go build -buildvcs=false -o bin/peer ./peer) >"$log" 2>&1; then
  touch "$stamp"
  rm -f "$log"
  echo "setup: Go test peer built into tests/go/bin/peer"
else
  echo "setup: go build failed (see $log); franz-go and sarama tests will be skipped"
  tail -20 "$log"
fi
exit 0
