#!/usr/bin/env bash
# Compiles the Java test programs (tests/java/src/**/*.java) against the Kafka jars in tests/java/lib into
# tests/java/classes (ignored by git). Recompiles only when a source changed. Says clearly what is skipped.
set -u
dir="$(cd "$(dirname "$0")/../java" && pwd)"
if ! command -v javac >/dev/null 2>&1; then
  echo "setup: SKIPPED compiling Java test programs (no javac); Java client, Kafka tool and Streams tests will be skipped"
  exit 0
fi
if ! ls "$dir"/lib/kafka-clients-*.jar >/dev/null 2>&1; then
  echo "setup: SKIPPED compiling Java test programs (no Kafka jars in tests/java/lib); Java tests will be skipped"
  exit 0
fi
sources=$(find "$dir/src" -name '*.java' | sort)
stamp="$dir/classes/.src-$(cat $sources "$dir/pom.xml" | sha1sum | cut -c1-12)"
if [ -f "$stamp" ]; then echo "setup: Java test programs compiled"; exit 0; fi
rm -rf "$dir/classes"
mkdir -p "$dir/classes"
log="$(mktemp -t runnel-javac.XXXXXX.log)"
if javac -nowarn -encoding UTF-8 --release 17 -cp "$dir/lib/*" -d "$dir/classes" $sources >"$log" 2>&1; then
  touch "$stamp"
  rm -f "$log"
  echo "setup: Java test programs compiled into tests/java/classes"
else
  echo "setup: javac failed (see $log); Java tests will be skipped"
  tail -20 "$log"
  rm -rf "$dir/classes"
fi
exit 0
