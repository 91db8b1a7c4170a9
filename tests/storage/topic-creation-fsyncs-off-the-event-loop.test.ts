/**
 * Creating a topic (CreateTopics, auto-create) makes its partitions and the metadata file durable without a
 * blocking fsync on the event loop: over a file system that refuses blocking fsyncs, new logs, their
 * `partition.metadata` and the local metadata store's record are still written, each fsync asynchronous.
 */
import assert from "node:assert/strict";
import * as nodeFs from "node:fs";
import { test } from "node:test";
import { LocalMetadataStore } from "../../src/cluster/metadata-store.ts";
import { ManualClock } from "../../src/platform/clock.ts";
import { initCrc32c } from "../../src/protocol/crc32c.ts";
import { logConfigWith } from "../../src/storage/log-config.ts";
import { LogManager } from "../../src/storage/log-manager.ts";
import { recordingLogger, tempDir } from "./batch-fixture.ts";
import { asyncOnlyFileSystem } from "../support/async-only-fs.ts";

const ID = "AAECAwQFBgcICQoLDA0ODw"; // bytes 0..15

test("new partitions and the topic record are made durable by asynchronous fsyncs only", async () => {
  await initCrc32c();
  const root = tempDir();
  const { fs, syncs, setRefusing } = asyncOnlyFileSystem();
  const config = logConfigWith({ segmentBytes: 100_000 });
  setRefusing(false);
  const mgr = await LogManager.open([root.dir], { fs, clock: new ManualClock(), logger: recordingLogger() }, { defaultConfig: config });
  try {
    setRefusing(true);
    for (let p = 0; p < 3; p++) mgr.getOrCreate({ topic: "fresh", partition: p }, config, ID);
    await mgr.syncCreated();
    for (let p = 0; p < 3; p++) {
      const dir = `${root.dir}/fresh-${p}`;
      assert.equal(nodeFs.readFileSync(`${dir}/partition.metadata`, "utf8"), `version: 0\ntopic_id: ${ID}\n`);
      assert.ok(syncs.files.includes(`${dir}/partition.metadata.durable.tmp`), `partition.metadata of fresh-${p} fsynced`);
      assert.ok(syncs.dirs.includes(dir), `fresh-${p}'s directory entries fsynced`);
    }
    assert.ok(syncs.dirs.includes(root.dir), "the log dir's entries for the new partitions fsynced");

    const store = new LocalMetadataStore(fs, root.dir);
    await store.createTopic({ name: "fresh", idHex: "000102030405060708090a0b0c0d0e0f", partitions: 3, replicationFactor: 1, configs: {}, createdAtMs: 0 }, []);
    assert.equal(store.topic("fresh")?.partitions, 3);
    assert.equal(new LocalMetadataStore(fs, root.dir).topic("fresh")?.idHex, "000102030405060708090a0b0c0d0e0f", "the record is on disk");
  } finally {
    setRefusing(false);
    await mgr.close();
    root.cleanup();
  }
});
