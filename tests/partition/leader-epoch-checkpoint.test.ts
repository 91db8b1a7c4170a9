/**
 * `leader-epoch-checkpoint` in Kafka's format (version line, count line, `epoch startOffset` lines), written
 * atomically, and the OffsetForLeaderEpoch answers computed from it.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { nodeFileSystem, type FileSystem } from "../../src/platform/fs.ts";
import { LEADER_EPOCH_CHECKPOINT, LeaderEpochCache, parseLeaderEpochCheckpoint } from "../../src/partition/leader-epoch-cache.ts";

test("epochs are checkpointed in Kafka's format and answer OffsetForLeaderEpoch as Kafka does", () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "runnel-epochs-"));
  try {
    const file = path.join(dir, LEADER_EPOCH_CHECKPOINT);
    const cache = LeaderEpochCache.open(nodeFileSystem, dir, 0n);
    assert.deepEqual(cache.endOffsetFor(0, 0n), { epoch: -1, endOffset: -1n }, "no history, no answer");
    cache.assign(1, 0n);
    cache.assign(1, 50n); // not newer: known already
    cache.assign(4, 100n);
    cache.assign(7, 250n, false);
    assert.equal(fs.readFileSync(file, "utf8"), "0\n2\n1 0\n4 100\n", "an unpersisted assignment waits for flush");
    cache.flush();
    assert.equal(fs.readFileSync(file, "utf8"), "0\n3\n1 0\n4 100\n7 250\n");
    assert.deepEqual(cache.endOffsetFor(7, 300n), { epoch: 7, endOffset: 300n }, "the current epoch ends at the log end");
    assert.deepEqual(cache.endOffsetFor(5, 300n), { epoch: 4, endOffset: 250n }, "an unknown epoch answers the largest below it");
    assert.deepEqual(cache.endOffsetFor(0, 300n), { epoch: 0, endOffset: 0n }, "an epoch before all answers where the first began");
    assert.deepEqual(cache.endOffsetFor(9, 300n), { epoch: -1, endOffset: -1n });
    cache.truncateFromEnd(120n);
    assert.deepEqual(parseLeaderEpochCheckpoint(fs.readFileSync(file, "utf8")), [{ epoch: 1, startOffset: 0n }, { epoch: 4, startOffset: 100n }]);
    cache.truncateFromStart(110n);
    assert.deepEqual(cache.epochEntries(), [{ epoch: 4, startOffset: 110n }]);
    // Reopened over a log cut back to 105 (recovery): the epoch starting at 110 is gone.
    assert.deepEqual(LeaderEpochCache.open(nodeFileSystem, dir, 105n).epochEntries(), []);
    fs.writeFileSync(file, "0\n2\n3 10\n");
    const warnings: string[] = [];
    assert.deepEqual(LeaderEpochCache.open(nodeFileSystem, dir, 100n, (m) => warnings.push(m)).epochEntries(), []);
    assert.match(warnings[0], /declares 2 entries and holds 1/);
    assert.throws(() => parseLeaderEpochCheckpoint("0\n2\n3 10\n2 20\n"), /goes backwards/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test("a checkpoint written off the event loop never replaces a newer one written meanwhile", async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "runnel-epochs-"));
  try {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    let dirSynced!: () => void;
    const asyncWriteDone = new Promise<void>((r) => (dirSynced = r));
    const slowSync: FileSystem = {
      ...nodeFileSystem,
      open(p, create) {
        const h = nodeFileSystem.open(p, create);
        return Object.assign(Object.create(Object.getPrototypeOf(h)), h, { datasync: () => gate.then(() => h.datasync()) });
      },
      // the asynchronous write's last step: the directory fsync after its rename
      syncDirAsync: (p) => nodeFileSystem.syncDirAsync(p).then(() => dirSynced()),
    };
    const file = path.join(dir, LEADER_EPOCH_CHECKPOINT);
    const cache = LeaderEpochCache.open(slowSync, dir, 0n);
    const errors: Error[] = [];
    cache.assign(1, 0n, false);
    cache.flushSoon((e) => errors.push(e)); // waits at its fdatasync
    cache.assign(2, 10n); // written at once
    assert.equal(fs.readFileSync(file, "utf8"), "0\n2\n1 0\n2 10\n");
    release();
    await asyncWriteDone;
    await new Promise((r) => setTimeout(r, 0));
    assert.equal(fs.readFileSync(file, "utf8"), "0\n2\n1 0\n2 10\n", "the older asynchronous write did not win");
    assert.equal(cache.dirty, false);
    assert.deepEqual(errors, []);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
