/**
 * All randomness in src/ goes through the injected RandomSource (src/platform/random.ts), so one seed replays a
 * run: a seeded source gives the same ids twice, and no product module calls the runtime's generators directly.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { SeededRandom, systemRandom } from "../../src/platform/random.ts";
import { FetchSessionCache } from "../../src/broker/fetch-sessions.ts";
import { randomUuid, uuidHex } from "../../src/protocol/uuid.ts";
import { ManualClock } from "../../src/platform/clock.ts";

const SRC = path.resolve(import.meta.dirname, "..", "..", "src");

test("one seed gives one sequence of floats, bytes and UUIDs; another seed a different one", () => {
  const draw = (seed: number) => {
    const r = new SeededRandom(seed);
    const b = new Uint8Array(7);
    r.fill(b);
    return [r.float(), r.float(), [...b].join(","), r.uuid()];
  };
  assert.deepEqual(draw(42), draw(42));
  assert.notDeepEqual(draw(42), draw(43));
  const r = new SeededRandom(1);
  for (let i = 0; i < 1000; i++) {
    const f = r.float();
    assert.ok(f >= 0 && f < 1, `float ${f} in [0, 1)`);
  }
  assert.match(new SeededRandom(9).uuid(), /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  assert.match(systemRandom.uuid(), /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
});

test("fetch session ids and topic ids replay from the seed", () => {
  const ids = (seed: number) => {
    const cache = new FetchSessionCache(10, new ManualClock(), new SeededRandom(seed));
    return [cache.create(false)!.id, cache.create(true)!.id, uuidHex(randomUuid(new SeededRandom(seed)))];
  };
  assert.deepEqual(ids(5), ids(5));
  assert.notDeepEqual(ids(5), ids(6));
});

test("no module in src/ outside src/platform calls Math.random, crypto.randomUUID or crypto.getRandomValues", () => {
  const offenders: string[] = [];
  const walk = (dir: string) => {
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) {
        if (p !== path.join(SRC, "platform")) walk(p);
      } else if (p.endsWith(".ts")) {
        const text = fs.readFileSync(p, "utf8").replace(/\/\*[\s\S]*?\*\/|\/\/.*$/gm, "");
        if (/Math\.random\s*\(|crypto\.randomUUID|crypto\.getRandomValues/.test(text)) offenders.push(path.relative(SRC, p));
      }
    }
  };
  walk(SRC);
  assert.deepEqual(offenders, []);
});
