import assert from "node:assert/strict";
import { test } from "node:test";
import {
  CONFIG_TYPE_CODE,
  DEFAULT_LOG_CONFIG,
  LOG_CONFIG_KEYS,
  logConfigFromBrokerProperties,
  logConfigKey,
  logConfigValueString,
  parseLogConfig,
} from "../../src/storage/log-config.ts";

test("defaults are Kafka's", () => {
  const c = DEFAULT_LOG_CONFIG;
  assert.equal(c.segmentBytes, 1073741824);
  assert.equal(c.segmentMs, 604800000);
  assert.equal(c.segmentIndexBytes, 10485760);
  assert.equal(c.indexIntervalBytes, 4096);
  assert.equal(c.retentionMs, 604800000);
  assert.equal(c.retentionBytes, -1);
  assert.equal(c.flushMessages, Infinity);
  assert.equal(c.flushMs, Infinity);
  assert.equal(c.messageTimestampType, "CreateTime");
  assert.equal(c.maxMessageBytes, 1048588);
  assert.deepEqual(c.cleanupPolicy, ["delete"]);
  assert.equal(c.fileDeleteDelayMs, 60000);
  assert.equal(c.minInsyncReplicas, 1);
  assert.equal(c.compressionType, "producer");
  assert.equal(c.messageTimestampBeforeMaxMs, Infinity);
  assert.equal(c.messageTimestampAfterMaxMs, 3600000);
});

test("overrides apply on top of broker defaults without changing them", () => {
  const base = { ...DEFAULT_LOG_CONFIG, retentionMs: 1000 };
  const r = parseLogConfig({ "segment.bytes": "1048576", "cleanup.policy": "compact,delete", "message.timestamp.type": "LogAppendTime", "retention.ms": "-1" }, base);
  assert.ok(r.ok);
  assert.equal(r.config.segmentBytes, 1048576);
  assert.deepEqual(r.config.cleanupPolicy, ["compact", "delete"]);
  assert.equal(r.config.messageTimestampType, "LogAppendTime");
  assert.equal(r.config.retentionMs, -1);
  assert.equal(base.retentionMs, 1000);
  const d = parseLogConfig({}, base);
  assert.ok(d.ok);
  assert.equal(d.config.retentionMs, 1000);
});

test("bad values and unknown keys give INVALID_CONFIG (40) with Kafka's wording", () => {
  const cases: [Record<string, string>, RegExp][] = [
    [{ "segment.bytes": "abc" }, /Invalid value abc for configuration segment\.bytes: Not a number of type INT/],
    [{ "segment.bytes": "100" }, /Value must be at least 1048576/],
    [{ "segment.bytes": "4294967296" }, /Not a number of type INT/],
    [{ "retention.ms": "-2" }, /Value must be at least -1/],
    [{ "cleanup.policy": "shred" }, /cleanup\.policy/],
    [{ "message.timestamp.type": "Now" }, /String must be one of: CreateTime, LogAppendTime/],
    [{ "min.cleanable.dirty.ratio": "1.5" }, /between 0 and 1/],
    [{ "preallocate": "yes" }, /true or false/],
    [{ "flush.messages": "0" }, /at least 1/],
    [{ "no.such.key": "1" }, /Unknown topic config name: no\.such\.key/],
    [{ "remote.storage.enable": "true" }, /not supported/],
  ];
  for (const [overrides, message] of cases) {
    const r = parseLogConfig(overrides);
    assert.equal(r.ok, false, JSON.stringify(overrides));
    if (!r.ok) {
      assert.equal(r.errorCode, 40);
      assert.match(r.message, message);
    }
  }
});

test("Long.MAX parses to Infinity and prints back as 9223372036854775807", () => {
  const r = parseLogConfig({ "flush.ms": "9223372036854775807", "retention.bytes": "1073741824000" });
  assert.ok(r.ok);
  assert.equal(r.config.flushMs, Infinity);
  assert.equal(r.config.retentionBytes, 1073741824000);
  assert.equal(logConfigValueString(r.config, "flush.ms"), "9223372036854775807");
  assert.equal(logConfigValueString(r.config, "retention.bytes"), "1073741824000");
  assert.equal(logConfigValueString(r.config, "cleanup.policy"), "delete");
  assert.equal(logConfigValueString(r.config, "nope"), null);
  assert.equal(parseLogConfig({ "flush.ms": "9223372036854775808" }).ok, false);
});

test("every key is described, parses its own default, and prints it back", () => {
  const names = new Set<string>();
  for (const key of LOG_CONFIG_KEYS) {
    assert.ok(!names.has(key.name), key.name);
    names.add(key.name);
    assert.ok(key.doc.length > 10, key.name);
    assert.ok(CONFIG_TYPE_CODE[key.type] > 0);
    assert.equal(logConfigKey(key.name), key);
    const r = parseLogConfig({ [key.name]: key.default });
    assert.ok(r.ok, key.name);
    assert.equal(logConfigValueString(DEFAULT_LOG_CONFIG, key.name), key.default, key.name);
  }
  for (const required of ["segment.bytes", "segment.ms", "segment.index.bytes", "index.interval.bytes", "retention.ms", "retention.bytes", "flush.messages", "flush.ms", "message.timestamp.type", "max.message.bytes", "cleanup.policy", "file.delete.delay.ms", "min.insync.replicas", "compression.type", "message.timestamp.before.max.ms", "message.timestamp.after.max.ms"]) {
    assert.ok(names.has(required), required);
  }
});

test("broker properties give topic defaults, with ms beating minutes beating hours", () => {
  const r = logConfigFromBrokerProperties(new Map([
    ["log.retention.hours", "1"],
    ["log.segment.bytes", "2097152"],
    ["log.roll.hours", "2"],
    ["message.max.bytes", "5000"],
    ["log.message.timestamp.type", "LogAppendTime"],
  ]));
  assert.ok(r.ok);
  assert.equal(r.config.retentionMs, 3_600_000);
  assert.equal(r.config.segmentBytes, 2097152);
  assert.equal(r.config.segmentMs, 7_200_000);
  assert.equal(r.config.maxMessageBytes, 5000);
  assert.equal(r.config.messageTimestampType, "LogAppendTime");
  const m = logConfigFromBrokerProperties({ "log.retention.hours": "1", "log.retention.minutes": "2", "log.retention.ms": "3" });
  assert.ok(m.ok);
  assert.equal(m.config.retentionMs, 3);
  const n = logConfigFromBrokerProperties({ "log.retention.hours": "1", "log.retention.minutes": "2" });
  assert.ok(n.ok);
  assert.equal(n.config.retentionMs, 120_000);
  const bad = logConfigFromBrokerProperties({ "log.segment.bytes": "x" });
  assert.equal(bad.ok, false);
});
