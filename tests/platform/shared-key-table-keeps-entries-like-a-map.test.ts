/**
 * The shared key table (src/platform/shared-table.ts) behaves as a Map under random inserts, updates and removals
 * in a small, crowded table (long probe runs, removals moving entries back), keys longer than the exact part
 * included; a full table refuses a new key, and a worker thread sees and changes the same entries.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnWorker } from "../../src/platform/worker.ts";
import { SharedKeyTable } from "../../src/platform/shared-table.ts";

test("random inserts, updates and removals match a Map", () => {
  const t = SharedKeyTable.create({ slots: 64, keyChars: 6, values: 2, globals: 1 });
  const model = new Map<string, number>();
  let seed = 12345;
  const rnd = (n: number) => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) % n);
  for (let step = 0; step < 20_000; step++) {
    const key = rnd(3) === 0 ? `a-long-key-${rnd(80)}` : `k${rnd(80)}`;
    t.locked(() => {
      const slot = t.find(key, false);
      assert.equal(slot >= 0, model.has(key), `step ${step}: ${key}`);
      if (slot >= 0) {
        assert.equal(t.value(slot, 1), model.get(key));
        if (rnd(2) === 0) {
          t.remove(slot);
          model.delete(key);
        } else {
          t.setValue(slot, 1, step);
          model.set(key, step);
        }
      } else {
        const made = t.find(key, true);
        if (model.size >= 64) assert.equal(made, -1);
        else {
          assert.ok(made >= 0);
          assert.equal(t.value(made, 1), 0);
          t.setValue(made, 1, step);
          model.set(key, step);
        }
      }
    });
    assert.equal(t.size(), model.size);
  }
});

test("a worker thread changes the same entries", { timeout: 30_000 }, async () => {
  const t = SharedKeyTable.create({ slots: 8, keyChars: 16, values: 1, globals: 1 });
  const seen = t.wakeCount();
  const woken = t.changedSince(seen);
  const w = spawnWorker<never, never>(new URL("./fixtures/shared-table-worker.ts", import.meta.url), t.buffer);
  const exited = new Promise<Error | null>((r) => w.onExit(r));
  await woken;
  assert.equal(await exited, null);
  t.locked(() => {
    assert.equal(t.value(t.find("10.0.0.1", false), 0), 7);
    assert.equal(t.global(0), 7);
  });
});
