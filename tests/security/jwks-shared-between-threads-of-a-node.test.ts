/**
 * The accepting threads of a sharded node keep one JWKS key set per listener, as one broker does
 * (src/platform/shared-text.ts, src/security/jwks-source.ts): a source that starts after another takes its published
 * document without loading it again; when one loads a changed document (a key rotation asked for by an unknown kid),
 * the other answers from it at its next verification, so a rotated-out key is refused by every thread. A document
 * too long for the slot is kept per thread, and the slots read back what was published, by generation. A slot left
 * half-written by a stopped writer makes a thread keep its own keys (logged once).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as crypto from "node:crypto";
import { SharedTexts } from "../../src/platform/shared-text.ts";
import { JwksSource, type SharedJwksSlot } from "../../src/security/jwks-source.ts";

const jwk = (kid: string) => ({ ...crypto.generateKeyPairSync("rsa", { modulusLength: 2048 }).publicKey.export({ format: "jwk" }), kid });

function slotOf(texts: SharedTexts, slot: number): SharedJwksSlot {
  return { generation: () => texts.generation(slot), publish: (t) => texts.publish(slot, t), read: () => texts.read(slot) };
}

/** A source of one thread over an endpoint serving `doc()`; counts its loads. */
function source(doc: () => string, shared: SharedJwksSlot | undefined, logs: string[] = []): { src: JwksSource; loads: () => number } {
  let loads = 0;
  const src = new JwksSource(
    { listener: "L", url: "https://idp.example/jwks", refreshMs: 3_600_000, backoffMs: 100, backoffMaxMs: 1000 },
    {
      readFile: () => new Uint8Array(0),
      get: async () => {
        loads++;
        return { status: 200, text: doc() };
      },
      monotonicMs: () => 0,
      setTimer: () => null,
      clearTimer: () => {},
      log: (_level, msg) => logs.push(msg),
      shared,
    },
  );
  return { src, loads: () => loads };
}

test("shared text slots: generations count publications, reads return the newest text, too long is refused", () => {
  const texts = SharedTexts.create(2, 16);
  assert.equal(texts.generation(0), 0);
  assert.equal(texts.read(0), null);
  assert.equal(texts.publish(0, "first"), 1);
  assert.equal(texts.publish(0, "second"), 2);
  assert.deepEqual(texts.read(0), { generation: 2, text: "second" });
  assert.equal(texts.publish(1, "x".repeat(17)), null, "over the slot's bytes");
  assert.equal(texts.generation(1), 0);
  assert.deepEqual(SharedTexts.attach(texts.buffer).read(0), { generation: 2, text: "second" }, "another view of the same buffer");
  assert.throws(() => texts.generation(2), /slot 2 of 2/);
});

test("two threads' JWKS sources share one key set: started once, a rotation seen by one is used by the other", async () => {
  const [k1, k2] = [jwk("k1"), jwk("k2")];
  let served = JSON.stringify({ keys: [k1] });
  const texts = SharedTexts.create(1, 64 * 1024);
  const a = source(() => served, slotOf(texts, 0));
  const b = source(() => served, slotOf(texts, 0));
  await a.src.start();
  await b.src.start();
  assert.deepEqual([a.loads(), b.loads()], [1, 0], "the second thread took the first one's document");
  assert.deepEqual([...b.src.keys().keys()], ["k1"]);

  served = JSON.stringify({ keys: [k2] });
  a.src.missingKid("k2"); // a token signed by k2 reached thread a
  for (let i = 0; i < 100 && !a.src.keys().has("k2"); i++) await new Promise((r) => setTimeout(r, 1));
  assert.deepEqual([...a.src.keys().keys()], ["k2"]);
  assert.deepEqual([...b.src.keys().keys()], ["k2"], "thread b verifies with the rotated set without loading it");
  assert.equal(b.loads(), 0);
});

test("with a document too long for the shared slot, each thread keeps its own set", async () => {
  const [k1, k2] = [jwk("k1"), jwk("k2")];
  let served = JSON.stringify({ keys: [k1] });
  const texts = SharedTexts.create(1, 16);
  const logs: string[] = [];
  const a = source(() => served, slotOf(texts, 0), logs);
  const b = source(() => served, slotOf(texts, 0));
  await a.src.start();
  await b.src.start();
  assert.deepEqual([a.loads(), b.loads()], [1, 1], "nothing was shared");
  assert.ok(logs.some((l) => l.includes("too long to share")), logs.join("\n"));
  served = JSON.stringify({ keys: [k2] });
  a.src.missingKid("k2");
  for (let i = 0; i < 100 && !a.src.keys().has("k2"); i++) await new Promise((r) => setTimeout(r, 1));
  assert.deepEqual([...b.src.keys().keys()], ["k1"], "b has not loaded since");
});

test("a shared slot left half-written (its writer stopped): logged once, the thread loads and keeps its own keys, publishes nothing", async () => {
  let publishes = 0;
  const stuck: SharedJwksSlot = { generation: () => 1, publish: () => (publishes++, 2), read: () => "writing" };
  const logs: string[] = [];
  const a = source(() => JSON.stringify({ keys: [jwk("own")] }), stuck, logs);
  await a.src.start();
  assert.equal(a.loads(), 1, "loaded its own document");
  assert.deepEqual([...a.src.keys().keys()], ["own"]);
  assert.deepEqual([...a.src.keys().keys()], ["own"], "asked again: still its own keys");
  assert.equal(logs.filter((m) => m.includes("half-written")).length, 1, `logged once: ${logs.join(" | ")}`);
  assert.equal(publishes, 0, "published nothing into the stuck slot");
  a.src.close();
});
