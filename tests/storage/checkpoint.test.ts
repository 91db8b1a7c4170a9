import assert from "node:assert/strict";
import * as nodeFs from "node:fs";
import { test } from "node:test";
import { nodeFileSystem } from "../../src/platform/fs.ts";
import {
  CheckpointFormatError,
  formatOffsetCheckpoint,
  parseOffsetCheckpoint,
  readOffsetCheckpoint,
  writeOffsetCheckpoint,
} from "../../src/storage/checkpoint.ts";
import { readPartitionMetadata, writePartitionMetadata } from "../../src/storage/partition-metadata.ts";
import { uuidBase64, uuidFromBase64 } from "../../src/protocol/uuid.ts";
import { tempDir } from "./batch-fixture.ts";

test("checkpoints use Kafka's text format and round-trip", () => {
  const entries = [
    { topic: "orders", partition: 0, offset: 42n },
    { topic: "my-topic.v2", partition: 17, offset: 9007199254740993n },
  ];
  const text = formatOffsetCheckpoint(entries);
  assert.equal(text, "0\n2\norders 0 42\nmy-topic.v2 17 9007199254740993\n");
  assert.deepEqual(parseOffsetCheckpoint(text), entries);
  assert.deepEqual(parseOffsetCheckpoint("0\n0\n"), []);
});

test("malformed checkpoints are rejected", () => {
  for (const bad of ["", "1\n0\n", "0\nx\n", "0\n2\na 0 1\n", "0\n1\na b 1\n", "0\n1\na 0\n", "0\n1\na 0 1 2\n"]) {
    assert.throws(() => parseOffsetCheckpoint(bad), CheckpointFormatError, JSON.stringify(bad));
  }
});

test("checkpoint files are written atomically and read back; a missing file is empty", () => {
  const { dir, cleanup } = tempDir();
  try {
    const path = `${dir}/recovery-point-offset-checkpoint`;
    assert.deepEqual(readOffsetCheckpoint(nodeFileSystem, path), []);
    writeOffsetCheckpoint(nodeFileSystem, path, [{ topic: "t", partition: 1, offset: 5n }]);
    assert.deepEqual(readOffsetCheckpoint(nodeFileSystem, path), [{ topic: "t", partition: 1, offset: 5n }]);
    assert.deepEqual(nodeFs.readdirSync(dir), ["recovery-point-offset-checkpoint"]);
  } finally {
    cleanup();
  }
});

test("partition.metadata holds the topic id as Kafka prints it", () => {
  const { dir, cleanup } = tempDir();
  try {
    const id = new Uint8Array(16).map((_, i) => (i * 37 + 250) & 0xff);
    const text = uuidBase64(id);
    assert.equal(text.length, 22);
    assert.match(text, /^[A-Za-z0-9_-]+$/);
    assert.deepEqual(uuidFromBase64(text), id);
    assert.equal(uuidBase64(new Uint8Array(16)), "AAAAAAAAAAAAAAAAAAAAAA");
    writePartitionMetadata(nodeFileSystem, dir, id);
    assert.equal(nodeFs.readFileSync(`${dir}/partition.metadata`, "utf8"), `version: 0\ntopic_id: ${text}\n`);
    assert.deepEqual(readPartitionMetadata(nodeFileSystem, dir), id);
    assert.equal(uuidFromBase64("short"), null);
  } finally {
    cleanup();
  }
});
