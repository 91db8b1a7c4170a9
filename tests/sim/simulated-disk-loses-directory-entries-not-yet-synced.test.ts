/**
 * The simulated disk's namespace model (sim-disk.ts header, `unsyncedNamespace`): creates, renames and removes are
 * pending until a directory fsync commits them through one ordered journal; a power cut keeps a seeded prefix of the
 * pending ones. Checked over seeds through the disk's own FileSystem view, as the broker uses it: a name that was
 * never committed can vanish although its file was fdatasynced; a power cut never keeps a later operation without
 * every earlier one; `syncDir` of one directory commits earlier operations on others; a lost removal brings the file
 * back with its durable bytes; a `syncDirAsync` commits at completion what was made before it was called; and
 * without the option every operation is durable at once. With a journal per directory (journalPerDirectory), a
 * directory fsync commits only its own directory's operations and a power cut keeps each directory's prefix alone.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { Sim } from "./scheduler.ts";
import { SimDisk } from "./sim-disk.ts";
import type { FileSystem } from "../../src/platform/fs.ts";

const SEEDS = 64;
const bytes = (s: string): Uint8Array => new TextEncoder().encode(s);
const text = (b: Uint8Array): string => new TextDecoder().decode(b);

function disk(seed: number, unsyncedNamespace = true, journalPerDirectory = false): { sim: Sim; disk: SimDisk } {
  const sim = new Sim(seed);
  return { sim, disk: new SimDisk(sim, { readErrorRate: 0, bitFlipRate: 0, tornWriteRate: 0, maxSyncLatencyMs: 5, unsyncedNamespace, journalPerDirectory }) };
}

/** The disk's view with directories /x and /y made durable, then `/x/a` and `/y/b` created (pending). */
function twoDirsTwoFiles(d: SimDisk): FileSystem {
  const fs = d.view();
  fs.mkdirp("/x");
  fs.mkdirp("/y");
  fs.syncDir("/");
  fs.open("/x/a", true).close();
  fs.open("/y/b", true).close();
  return fs;
}

/** Creates `path` with `data` and fdatasyncs it (the file's bytes durable, its name not). */
async function createSynced(sim: Sim, d: SimDisk, path: string, data: string): Promise<void> {
  const fs = d.view();
  const h = fs.open(path, true);
  h.write(bytes(data), 0);
  const done = h.datasync();
  await sim.run(1_000);
  await done;
  h.close();
}

test(`a created, fdatasynced file whose directory was never synced can vanish at a power cut; after syncDir it never does (${SEEDS} seeds)`, async () => {
  let lost = 0;
  for (let seed = 1; seed <= SEEDS; seed++) {
    const { sim, disk: d } = disk(seed);
    const fs = d.view();
    fs.mkdirp("/data/p-0");
    fs.syncDir("/data");
    await createSynced(sim, d, "/data/p-0/a.log", "acked");
    assert.deepEqual(d.pendingNameOps(), ["create /data/p-0/a.log"]);
    d.crash();
    if (!d.exists("/data/p-0/a.log")) lost++;
    else assert.equal(text(d.readFile("/data/p-0/a.log")), "acked");

    const again = disk(seed);
    const fs2 = again.disk.view();
    fs2.mkdirp("/data/p-0");
    await createSynced(again.sim, again.disk, "/data/p-0/a.log", "acked");
    fs2.syncDir("/data/p-0");
    again.disk.crash();
    assert.equal(text(again.disk.readFile("/data/p-0/a.log")), "acked", `seed ${seed}`);
  }
  assert.ok(lost > 0 && lost < SEEDS, `lost in ${lost} of ${SEEDS} seeds`);
});

test(`a power cut keeps a prefix of the pending operations in the order made, across directories (${SEEDS} seeds)`, () => {
  const seen = new Set<string>();
  for (let seed = 1; seed <= SEEDS; seed++) {
    const { disk: d } = disk(seed);
    const fs = twoDirsTwoFiles(d);
    fs.rename("/x/a", "/y/a");
    d.crash();
    const state = ["/x/a", "/y/b", "/y/a"].filter((p) => d.exists(p)).join(" ");
    seen.add(state);
  }
  // [], [a], [a b], [b, a renamed]: never b without a first, never a renamed without b.
  assert.deepEqual([...seen].sort(), ["", "/x/a", "/x/a /y/b", "/y/b /y/a"]);
});

test("syncDir of one directory commits every earlier operation, on any directory (one ordered journal)", () => {
  for (let seed = 1; seed <= SEEDS; seed++) {
    const { disk: d } = disk(seed);
    const fs = twoDirsTwoFiles(d);
    fs.open("/x/c", true).close();
    fs.syncDir("/y");
    assert.deepEqual(d.pendingNameOps(), ["create /x/c"]);
    d.crash();
    assert.ok(d.exists("/x/a") && d.exists("/y/b"), `seed ${seed}`);
  }
});

test(`a removal lost to a power cut brings the file back with its durable bytes (${SEEDS} seeds)`, async () => {
  let back = 0;
  for (let seed = 1; seed <= SEEDS; seed++) {
    const { sim, disk: d } = disk(seed);
    const fs = d.view();
    fs.mkdirp("/d");
    await createSynced(sim, d, "/d/old.log", "old");
    fs.syncDir("/d");
    fs.rename("/d/old.log", "/d/old.log.deleted");
    fs.remove("/d/old.log.deleted");
    d.crash();
    const names = d.list("/d");
    assert.ok(names.length <= 1, names.join());
    if (names.length === 1) {
      back++;
      assert.equal(text(d.readFile(`/d/${names[0]}`)), "old");
    }
  }
  assert.ok(back > 0 && back < SEEDS, `back in ${back} of ${SEEDS} seeds`);
});

test("syncDirAsync commits, when it completes, what was made before it was called", async () => {
  const { sim, disk: d } = disk(1);
  const fs = d.view();
  fs.mkdirp("/d");
  fs.syncDir("/");
  fs.open("/d/a", true).close();
  const done = fs.syncDirAsync("/d");
  fs.open("/d/b", true).close();
  assert.deepEqual(d.pendingNameOps(), ["create /d/a", "create /d/b"]);
  await sim.run(1_000);
  await done;
  assert.deepEqual(d.pendingNameOps(), ["create /d/b"]);
});

test("writeFileAtomic fsyncs its directory; without unsyncedNamespace every operation is durable at once", () => {
  const { disk: d } = disk(1);
  const fs = d.view();
  fs.mkdirp("/d");
  fs.writeFileAtomic("/d/checkpoint", bytes("7"));
  assert.deepEqual(d.pendingNameOps(), []);
  const off = disk(1, false);
  const fsOff = off.disk.view();
  fsOff.mkdirp("/d");
  fsOff.open("/d/a", true).close();
  assert.deepEqual(off.disk.pendingNameOps(), []);
  off.disk.crash();
  assert.ok(off.disk.exists("/d/a"));
});

test(`with a journal per directory, syncDir commits only its directory and a power cut keeps each directory's prefix alone (${SEEDS} seeds)`, () => {
  const seen = new Set<string>();
  for (let seed = 1; seed <= SEEDS; seed++) {
    const { disk: d } = disk(seed, true, true);
    const fs = twoDirsTwoFiles(d);
    fs.open("/y/c", true).close();
    fs.syncDir("/y");
    assert.deepEqual(d.pendingNameOps(), ["create /x/a"]);
    fs.open("/y/d", true).close();
    d.crash();
    assert.ok(d.exists("/y/b") && d.exists("/y/c"), `seed ${seed}`);
    seen.add(["/x/a", "/y/d"].filter((p) => d.exists(p)).join(" "));
  }
  assert.deepEqual([...seen].sort(), ["", "/x/a", "/x/a /y/d", "/y/d"]);
});
