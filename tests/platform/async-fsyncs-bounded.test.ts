/**
 * Asynchronous fsyncs hold a file open while they wait; they are bounded so that creating thousands of partitions
 * at once cannot run the process out of descriptors (EMFILE).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { FdSlots, MAX_ASYNC_FSYNCS_IN_FLIGHT, asyncFsyncSlots } from "../../src/platform/fd-slots.ts";
import { nodeFileSystem } from "../../src/platform/fs.ts";

test("FdSlots runs at most its limit at once, in arrival order, and frees a slot when work fails", async () => {
  const slots = new FdSlots(3);
  const release: Array<() => void> = [];
  const started: number[] = [];
  let maxHeld = 0;
  const runs = Array.from({ length: 10 }, (_, i) =>
    slots.run(async () => {
      started.push(i);
      maxHeld = Math.max(maxHeld, slots.held);
      await new Promise<void>((resolve) => release.push(resolve));
      if (i === 1) throw new Error("disk said no");
      return i;
    }).catch((e: Error) => e.message)
  );
  const settled: unknown[] = [];
  while (settled.length < runs.length) {
    await new Promise((r) => setImmediate(r));
    assert.ok(started.length - settled.length <= 3, `at most 3 running, ${started.length - settled.length} were`);
    const next = release.shift();
    if (next) {
      next();
      settled.push(await runs[settled.length]);
    }
  }
  assert.deepEqual(started, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  assert.equal(maxHeld, 3);
  assert.deepEqual(settled, [0, "disk said no", 2, 3, 4, 5, 6, 7, 8, 9]);
  assert.equal(slots.held, 0);
});

test("the real file system's asynchronous atomic writes never hold more than MAX_ASYNC_FSYNCS_IN_FLIGHT files", async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "runnel-fdslots-"));
  try {
    let maxHeld = 0;
    const writes = Array.from({ length: MAX_ASYNC_FSYNCS_IN_FLIGHT * 8 }, (_, i) => {
      const w = nodeFileSystem.writeFileAtomicAsync(path.join(dir, `f${i}`), new Uint8Array([i & 255]), "t");
      maxHeld = Math.max(maxHeld, asyncFsyncSlots.held);
      return w;
    });
    await Promise.all(writes);
    assert.equal(maxHeld, MAX_ASYNC_FSYNCS_IN_FLIGHT, "the bound was reached and not passed");
    assert.equal(asyncFsyncSlots.held, 0);
    assert.equal(fs.readdirSync(dir).length, MAX_ASYNC_FSYNCS_IN_FLIGHT * 8);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
