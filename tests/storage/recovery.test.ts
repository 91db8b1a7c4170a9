import assert from "node:assert/strict";
import * as nodeFs from "node:fs";
import { test } from "node:test";
import { batchBaseOffsets, makeRecordsBatch } from "./batch-fixture.ts";
import { openTestLog, type TestLog } from "./log-fixture.ts";

const STEM = "00000000000000000000";

/** Appends `n` batches of 3 records; returns the byte positions where each batch starts and the end. */
function fill(t: TestLog, n: number, valueBytes = 100): number[] {
  const starts: number[] = [];
  let pos = 0;
  for (let i = 0; i < n; i++) {
    const b = makeRecordsBatch(3, t.clock.nowMs() + i, valueBytes);
    starts.push(pos);
    pos += b.length;
    t.log.append(b, { leaderEpoch: 0 });
  }
  starts.push(pos);
  return starts;
}

test("restart keeps every batch, with and without a clean close", async () => {
  const t = await openTestLog({ segmentBytes: 2000 });
  try {
    fill(t, 20);
    const before = t.log.read(0n, 1 << 20, false);
    let log = await t.reopen();
    assert.equal(log.logEndOffset, 60n);
    assert.deepEqual(log.read(0n, 1 << 20, false).chunks.map((c) => [...c]).flat(), before.chunks.map((c) => [...c]).flat());
    log = await t.reopen({ crash: true });
    assert.equal(log.logEndOffset, 60n);
    assert.equal(log.read(0n, 1 << 20, false).batches, 20);
    const r = log.append(makeRecordsBatch(1, 5), { leaderEpoch: 0 });
    assert.equal(r.baseOffset, 60n);
  } finally {
    await t.cleanup();
  }
});

test("a tail cut mid-batch is truncated to the last whole batch", async () => {
  const t = await openTestLog({ indexIntervalBytes: 100 });
  try {
    const starts = fill(t, 10);
    await t.log.close();
    const path = `${t.dir}/${STEM}.log`;
    const cutAt = starts[9] + 40;
    nodeFs.truncateSync(path, cutAt);
    const log = await t.reopen({ crash: true });
    assert.equal(log.logEndOffset, 27n);
    assert.equal(nodeFs.statSync(path).size, starts[9]);
    assert.deepEqual(batchBaseOffsets(log.read(0n, 1 << 20, false).chunks), [0n, 3n, 6n, 9n, 12n, 15n, 18n, 21n, 24n]);
    const line = t.logger.lines.find((l) => l.includes("recovered orders-0"));
    assert.ok(line, t.logger.lines.join("\n"));
    assert.match(line!, /truncated 40 bytes \(torn batch header at position/);
    assert.match(line!, /rebuilt index/);
    const idx = nodeFs.readFileSync(`${t.dir}/${STEM}.index`);
    const dv = new DataView(idx.buffer, idx.byteOffset, idx.byteLength);
    for (let at = 0; at < idx.length; at += 8) assert.ok(dv.getInt32(at + 4) < starts[9], "no index entry past the log end");
    assert.equal(log.append(makeRecordsBatch(1, 1), { leaderEpoch: 0 }).baseOffset, 27n);
  } finally {
    await t.cleanup();
  }
});

test("a flipped byte in the last batch fails its CRC and the batch is dropped", async () => {
  const t = await openTestLog();
  try {
    const starts = fill(t, 5);
    await t.log.close();
    const path = `${t.dir}/${STEM}.log`;
    const bytes = nodeFs.readFileSync(path);
    bytes[starts[4] + 70] ^= 0x01;
    nodeFs.writeFileSync(path, bytes);
    const log = await t.reopen({ crash: true });
    assert.equal(log.logEndOffset, 12n);
    assert.equal(nodeFs.statSync(path).size, starts[4]);
    assert.ok(t.logger.lines.some((l) => /bad CRC in batch at position \d+/.test(l)), t.logger.lines.join("\n"));
  } finally {
    await t.cleanup();
  }
});

test("a bad length or bad magic in a middle segment truncates there and deletes later segments", async () => {
  const t = await openTestLog({ segmentBytes: 1500 });
  try {
    fill(t, 12);
    const bases = t.log.segmentBaseOffsets();
    assert.ok(bases.length >= 4);
    await t.log.close();
    const victim = `${t.dir}/${bases[1].toString().padStart(20, "0")}.log`;
    const bytes = nodeFs.readFileSync(victim);
    const second = new DataView(bytes.buffer, bytes.byteOffset).getInt32(8) + 12;
    bytes[second + 16] = 7; // magic of the second batch
    nodeFs.writeFileSync(victim, bytes);
    const log = await t.reopen({ crash: true });
    assert.deepEqual(log.segmentBaseOffsets(), [bases[0], bases[1]]);
    assert.equal(log.logEndOffset, bases[1] + 3n);
    assert.ok(t.logger.lines.some((l) => /bad magic 7/.test(l) && /deleted \d+ later segment/.test(l)), t.logger.lines.join("\n"));
    assert.equal(nodeFs.readdirSync(t.dir).filter((n) => n.endsWith(".log")).length, 2);
  } finally {
    await t.cleanup();
  }
});

test("a deleted or corrupt index is rebuilt and reads stay right", async () => {
  for (const damage of ["delete", "odd-size", "garbage"] as const) {
    const t = await openTestLog({ indexIntervalBytes: 300, segmentBytes: 3000 });
    try {
      fill(t, 30);
      const expected = batchBaseOffsets(t.log.read(0n, 1 << 20, false).chunks);
      await t.log.close();
      const idx = `${t.dir}/${STEM}.index`;
      const good = nodeFs.readFileSync(idx);
      if (damage === "delete") nodeFs.rmSync(idx);
      if (damage === "odd-size") nodeFs.writeFileSync(idx, good.subarray(0, good.length - 3));
      if (damage === "garbage") nodeFs.writeFileSync(idx, new Uint8Array(good.length).fill(0x7f));
      // Clean shutdown state: no recovery, so the sealed segment's index is checked when first used.
      const log = await t.reopen({ crash: true, state: { cleanShutdown: true, recoveryPoint: 90n } });
      assert.deepEqual(batchBaseOffsets(log.read(0n, 1 << 20, false).chunks), expected, damage);
      const mid = log.read(40n, 1 << 20, false);
      assert.equal(mid.firstOffset, 39n, damage);
      // A read from a segment's start needs no index; one inside segment 0 rebuilds it.
      assert.equal(log.read(10n, 1 << 20, false).firstOffset, 9n, damage);
      assert.deepEqual([...nodeFs.readFileSync(idx)], [...good], `${damage}: index rewritten as before`);
      assert.ok(t.logger.lines.some((l) => l.includes("rebuilding indexes of segment 0")), damage);
      // And through full recovery too.
      if (damage === "delete") nodeFs.rmSync(idx);
      const again = await t.reopen({ crash: true });
      assert.equal(again.read(40n, 1 << 20, false).firstOffset, 39n);
      assert.deepEqual([...nodeFs.readFileSync(idx)], [...good]);
    } finally {
      await t.cleanup();
    }
  }
});

test("leftover .deleted, .cleaned, .swap and .tmp files and orphan indexes are removed at open", async () => {
  const t = await openTestLog();
  try {
    fill(t, 2);
    await t.log.close();
    for (const name of ["00000000000000000099.log.deleted", "x.cleaned", "00000000000000000050.log.swap", "foo.tmp", "00000000000000000077.index"]) {
      nodeFs.writeFileSync(`${t.dir}/${name}`, "junk");
    }
    const log = await t.reopen({ crash: true });
    assert.deepEqual(nodeFs.readdirSync(t.dir).sort(), [`${STEM}.index`, `${STEM}.log`, `${STEM}.timeindex`]);
    assert.equal(log.logEndOffset, 6n);
    assert.ok(t.logger.lines.some((l) => l.includes("removed 5 leftover file(s)")));
  } finally {
    await t.cleanup();
  }
});

test("recovery starts at the segment holding the recovery point", async () => {
  const t = await openTestLog({ segmentBytes: 1500 });
  try {
    fill(t, 12);
    const bases = t.log.segmentBaseOffsets();
    await t.log.close();
    // Corrupt the first segment's tail: below the recovery point it is not scanned, so it is not truncated.
    const first = `${t.dir}/${STEM}.log`;
    const size = nodeFs.statSync(first).size;
    const bytes = nodeFs.readFileSync(first);
    bytes[size - 5] ^= 0xff;
    nodeFs.writeFileSync(first, bytes);
    const log = await t.reopen({ crash: true, state: { recoveryPoint: bases[2] } });
    assert.equal(nodeFs.statSync(first).size, size);
    assert.equal(log.logEndOffset, 36n);
    const full = await t.reopen({ crash: true });
    assert.deepEqual(full.segmentBaseOffsets(), [0n]);
    assert.ok(full.logEndOffset < bases[1]);
  } finally {
    await t.cleanup();
  }
});
