#!/usr/bin/env bash
# Apache Kafka's jars (broker, clients, tools, Streams) with their dependencies, from Maven Central through
# tests/java/pom.xml, into tests/java/lib (ignored by git). Needs a JDK and Maven; says clearly what is skipped.
set -u
source "$(dirname "$0")/../setup-lib.sh"
dir="$(cd "$(dirname "$0")/../java" && pwd)"
command -v java >/dev/null 2>&1 && command -v mvn >/dev/null 2>&1 || apt_install "Java interop tests" default-jdk-headless maven
if ! command -v java >/dev/null 2>&1 || ! command -v mvn >/dev/null 2>&1; then
  echo "setup: SKIPPED Kafka jars (no java or mvn); Java client, Kafka tool and Kafka-oracle tests will be skipped"
  exit 0
fi
stamp="$dir/lib/.pom-$(sha1sum "$dir/pom.xml" | cut -c1-12)"
if [ -f "$stamp" ]; then echo "setup: Kafka jars present"; exit 0; fi
rm -rf "$dir/lib"
if mvn -q -B -f "$dir/pom.xml" dependency:copy-dependencies -DoutputDirectory="$dir/lib" >/tmp/runnel-mvn.log 2>&1; then
  touch "$stamp"
  echo "setup: Kafka jars in tests/java/lib ($(ls "$dir/lib" | grep -c '\.jar$') jars)"
else
  echo "setup: Maven failed (see /tmp/runnel-mvn.log); Java client, Kafka tool and Kafka-oracle tests will be skipped"
  tail -5 /tmp/runnel-mvn.log
fi
exit 0
