/**
 * The leader-side assignors and the consumer protocol encoding: range hands out consecutive ranges like the Java
 * RangeAssignor; cooperative-sticky keeps owned partitions, balances to within one, and withholds partitions that
 * change owner; subscriptions and assignments round-trip and match the protocol's byte layout.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { cooperativeStickyAssignor, rangeAssignor, assignorsByName, type MemberSubscription, type TopicPartition } from "../../src/client/assignors.ts";
import { decodeAssignment, decodeSubscription, encodeAssignment, encodeSubscription } from "../../src/client/group-member.ts";

const tps = (list: readonly TopicPartition[]) => list.map((tp) => `${tp.topic}-${tp.partition}`);
const member = (memberId: string, topics: string[], owned: TopicPartition[] = [], generation = -1): MemberSubscription => ({ memberId, topics, owned, generation });

test("range gives each member a consecutive range per topic, the first members one extra", () => {
  const out = rangeAssignor.assign([member("c", ["t"]), member("a", ["t", "u"]), member("b", ["t"])], new Map([["t", 7], ["u", 2]]));
  assert.deepEqual(tps(out.get("a")!), ["t-0", "t-1", "t-2", "u-0", "u-1"]);
  assert.deepEqual(tps(out.get("b")!), ["t-3", "t-4"]);
  assert.deepEqual(tps(out.get("c")!), ["t-5", "t-6"]);
});

test("range leaves members without partitions when there are more members than partitions", () => {
  const out = rangeAssignor.assign([member("a", ["t"]), member("b", ["t"]), member("c", ["t"])], new Map([["t", 2]]));
  assert.deepEqual([tps(out.get("a")!), tps(out.get("b")!), tps(out.get("c")!)], [["t-0"], ["t-1"], []]);
});

test("cooperative-sticky keeps owned partitions and withholds the ones that move", () => {
  const all = Array.from({ length: 6 }, (_, p) => ({ topic: "t", partition: p }));
  // a owned everything; b just joined.
  const out = cooperativeStickyAssignor.assign([member("a", ["t"], all, 3), member("b", ["t"], [], -1)], new Map([["t", 6]]));
  assert.equal(out.get("a")!.length, 3, "a keeps half");
  assert.deepEqual(out.get("b"), [], "b gets nothing until a has revoked");
  // Next round: a owns its three, b owns none.
  const next = cooperativeStickyAssignor.assign([member("a", ["t"], out.get("a")!, 4), member("b", ["t"], [], 4)], new Map([["t", 6]]));
  assert.deepEqual(next.get("a"), out.get("a"));
  assert.equal(next.get("b")!.length, 3);
  const union = new Set([...tps(next.get("a")!), ...tps(next.get("b")!)]);
  assert.equal(union.size, 6);
});

test("cooperative-sticky resolves two claims of one partition in favour of the higher generation", () => {
  const p0 = { topic: "t", partition: 0 };
  const out = cooperativeStickyAssignor.assign([member("a", ["t"], [p0], 2), member("b", ["t"], [p0], 5)], new Map([["t", 2]]));
  assert.deepEqual(tps(out.get("b")!), ["t-0"]);
  assert.deepEqual(tps(out.get("a")!), ["t-1"]);
});

test("cooperative-sticky assignments are disjoint, complete and balanced over many random groups", () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 6 }),
      fc.integer({ min: 0, max: 20 }),
      fc.array(fc.integer({ min: 0, max: 5 }), { maxLength: 20 }),
      (members, partitions, owners) => {
        const owned = new Map<string, TopicPartition[]>();
        owners.forEach((m, p) => {
          if (p >= partitions || m >= members) return;
          const id = `m${m}`;
          if (!owned.has(id)) owned.set(id, []);
          owned.get(id)!.push({ topic: "t", partition: p });
        });
        const subs = Array.from({ length: members }, (_, i) => member(`m${i}`, ["t"], owned.get(`m${i}`) ?? [], 1));
        const counts = new Map([["t", partitions]]);
        const round1 = cooperativeStickyAssignor.assign(subs, counts);
        // Round 2: everyone owns what round 1 gave them (movers revoked their partitions).
        const subs2 = subs.map((s) => member(s.memberId, ["t"], round1.get(s.memberId)!, 2));
        const round2 = cooperativeStickyAssignor.assign(subs2, counts);
        const seen = new Set<string>();
        for (const [, list] of round2) for (const k of tps(list)) {
          assert.ok(!seen.has(k), `${k} assigned twice`);
          seen.add(k);
        }
        assert.equal(seen.size, partitions, "every partition is assigned after the follow-up rebalance");
        const sizes = [...round2.values()].map((l) => l.length);
        assert.ok(Math.max(...sizes) - Math.min(...sizes) <= 1, `unbalanced ${sizes}`);
        // Sticky: each member keeps as many of its partitions as balance allows.
        for (const s of subs) {
          const before = new Set(tps(s.owned as TopicPartition[]));
          const kept = tps(round1.get(s.memberId)!).filter((k) => before.has(k)).length;
          assert.ok(kept >= Math.min(before.size, Math.floor(partitions / members)), `${s.memberId} kept ${kept} of ${before.size}`);
        }
      },
    ),
    { numRuns: 300 },
  );
});

test("subscriptions and assignments round-trip through their encodings", () => {
  const owned = [{ topic: "b", partition: 2 }, { topic: "a", partition: 1 }, { topic: "a", partition: 0 }];
  const s = decodeSubscription("m1", encodeSubscription(["a", "b"], owned, 7));
  assert.deepEqual(s.topics, ["a", "b"]);
  assert.deepEqual(tps(s.owned), ["a-0", "a-1", "b-2"]);
  assert.equal(s.generation, 7);
  assert.deepEqual(tps(decodeAssignment(encodeAssignment(owned))), ["a-0", "a-1", "b-2"]);
  assert.deepEqual(decodeAssignment(new Uint8Array(0)), []);
});

test("a version 0 subscription and assignment (as old clients send them) decode", () => {
  // version 0 | topics: [ "t" ] | userData: null
  const sub = new Uint8Array([0, 0, 0, 0, 0, 1, 0, 1, 0x74, 0xff, 0xff, 0xff, 0xff]);
  assert.deepEqual(decodeSubscription("x", sub).topics, ["t"]);
  // version 0 | [ "t": [0, 2] ] | userData: null
  const asg = new Uint8Array([0, 0, 0, 0, 0, 1, 0, 1, 0x74, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 2, 0xff, 0xff, 0xff, 0xff]);
  assert.deepEqual(tps(decodeAssignment(asg)), ["t-0", "t-2"]);
  // A newer version than we know is read with the newest layout we know.
  const v9 = encodeAssignment([{ topic: "t", partition: 1 }]);
  v9[1] = 9;
  assert.deepEqual(tps(decodeAssignment(v9)), ["t-1"]);
});

test("strategy names resolve, including Java class names", () => {
  assert.deepEqual(assignorsByName(["range", "org.apache.kafka.clients.consumer.CooperativeStickyAssignor"]).map((a) => a.name), ["range", "cooperative-sticky"]);
  assert.throws(() => assignorsByName(["roundrobin"]), /unknown partition assignment strategy/);
});
