import assert from "node:assert/strict";
import * as nodeFs from "node:fs";
import { test } from "node:test";
import { nodeFileSystem } from "../../src/platform/fs.ts";
import { crashingFileSystem } from "./crashing-file-system.ts";
import { openTestLog, type TestLog } from "./log-fixture.ts";
import { keyedBatch, latestByKey, type ReadRecord, readLog } from "./log-cleaner-records.ts";

/** Four sealed segments of updates to a few keys (each rolled, 10 ms apart) and an active one. */
function fill(t: TestLog): void {
  for (let seg = 0; seg < 4; seg++) {
    for (let i = 0; i < 5; i++) {
      t.log.append(keyedBatch(["a", "b", "c"].map((k) => ({ k, v: `${k}-${seg}-${i}` }))), { leaderEpoch: 0 });
    }
    t.clock.advance(10);
    t.log.rollActive();
  }
  t.log.append(keyedBatch([{ k: "a", v: "active" }]), { leaderEpoch: 0 });
  t.log.highWatermark = t.log.logEndOffset;
}

const project = (recs: readonly ReadRecord[]) => recs.map((r) => `${r.offset}:${r.key}=${r.value}`);

test("a crash at any step of compaction leaves either the old or the new segments, never a mix", { timeout: 120_000 }, async () => {
  // A run without faults: how many mutating operations a pass makes, and what it leaves.
  const probe = crashingFileSystem();
  const clean = await openTestLog({ cleanupPolicy: ["compact"] }, { fs: probe.fs });
  let operations: number;
  let oldRecords: string[];
  let newRecords: string[];
  try {
    fill(clean);
    await clean.log.sync(); // the fill's own flushes (segment files, directory) are not part of the pass
    oldRecords = project(readLog(clean.log).records);
    probe.arm(Number.MAX_SAFE_INTEGER);
    const res = await clean.log.compact();
    operations = probe.disarm();
    assert.ok(res !== null && res.segmentsBefore === 4 && res.segmentsAfter === 1, JSON.stringify(res, (_, v) => (typeof v === "bigint" ? String(v) : v)));
    newRecords = project(readLog(clean.log).records);
    assert.notDeepEqual(newRecords, oldRecords);
  } finally {
    await clean.cleanup();
  }
  assert.ok(operations > 20, `a pass makes ${operations} mutating operations`);

  const outcomes = { old: 0, new: 0 };
  for (let crashAt = 1; crashAt <= operations; crashAt++) {
    const crash = crashingFileSystem();
    const t = await openTestLog({ cleanupPolicy: ["compact"] }, { fs: crash.fs });
    try {
      fill(t);
      await t.log.sync();
      crash.arm(crashAt);
      await assert.rejects(t.log.compact(), /injected crash|offline|I\/O/, `crash at operation ${crashAt}`);
      crash.disarm();
      const log = await t.reopen({ crash: true });
      const recs = readLog(log).records;
      const got = project(recs);
      const same = (x: string[]) => got.length === x.length && got.every((g, i) => g === x[i]);
      if (same(oldRecords)) outcomes.old++;
      else if (same(newRecords)) outcomes.new++;
      else assert.fail(`crash at operation ${crashAt} left a mix:\n${got.join(" ")}`);
      assert.equal(latestByKey(recs).get("c"), "c-3-4");
      const leftovers = nodeFs.readdirSync(t.dir).filter((n) => /\.(cleaned|swap|deleted)$/.test(n));
      assert.deepEqual(leftovers, [], `crash at ${crashAt}: leftovers removed or completed`);
      // The reopened log takes appends and compacts on.
      log.rollActive();
      log.append(keyedBatch([{ k: "z", v: "after" }]), { leaderEpoch: 0 });
      log.highWatermark = log.logEndOffset;
      await log.compact();
      assert.deepEqual(project(readLog(log).records), ["58:b=b-3-4", "59:c=c-3-4", "60:a=active", "61:z=after"]);
    } finally {
      await t.cleanup();
    }
  }
  assert.ok(outcomes.old > 0 && outcomes.new > 0, `both outcomes seen: ${JSON.stringify(outcomes)}`);
});

test("opening a log finishes a swap whose .log.swap was committed and removes uncommitted .cleaned files", async () => {
  const t = await openTestLog({ cleanupPolicy: ["compact"] });
  try {
    fill(t);
    const before = readLog(t.log);
    await t.log.compact();
    const after = readLog(t.log);
    await t.log.close();
    // Rebuild the state of a crash right after the commit point: old segments back under their names, the new
    // segment as .log.swap, plus a stray .cleaned file of a later pass.
    const dir = t.dir;
    const stem = "00000000000000000000";
    nodeFs.renameSync(`${dir}/${stem}.log`, `${dir}/${stem}.log.swap`);
    nodeFs.writeFileSync(`${dir}/${stem}.log`, new Uint8Array(0));
    nodeFs.writeFileSync(`${dir}/00000000000000000015.log`, new Uint8Array(0)); // an old covered segment
    nodeFs.writeFileSync(`${dir}/00000000000000000015.index`, new Uint8Array(0));
    nodeFs.writeFileSync(`${dir}/00000000000000000030.log.cleaned`, new Uint8Array(10));
    const log = await t.reopen({ crash: true });
    assert.deepEqual(readLog(log), after);
    assert.notDeepEqual(readLog(log), before);
    assert.deepEqual(nodeFs.readdirSync(dir).filter((n) => /\.(cleaned|swap|deleted)$/.test(n) || n.startsWith("00000000000000000015")), []);
    assert.ok(t.logger.lines.some((l) => l.includes("finished 1 interrupted compaction swap")), t.logger.lines.join("\n"));
  } finally {
    await t.cleanup();
  }
});
