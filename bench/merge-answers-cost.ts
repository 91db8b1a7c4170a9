/**
 * Cost of merging a split Produce's answers at a sharded node's front: 1 topic, 16 partitions alternating over 2 shards,
 * by topic name (mergeTopics, before) and in request order (mergeInRequestOrder). `bun bench/merge-answers-cost.ts`.
 */
import { mergeInRequestOrder, mergeTopics } from "../src/shard/front/partition-split.ts";
// A Produce split over 2 shards: 1 topic, 16 partitions alternating owners; answers as the shards give them.
const owners = [Array.from({ length: 16 }, (_, p) => p % 2)];
const answer = (s: number) => ({ throttleTimeMs: 0, responses: [{ name: "t", partitionResponses: Array.from({ length: 8 }, (_, i) => ({ index: 2 * i + s, errorCode: 0, baseOffset: 0n })) }] });
const answers = [answer(0), answer(1)];
for (const [name, f] of [["mergeTopics", () => mergeTopics(answers, "responses", "partitionResponses")], ["mergeInRequestOrder", () => mergeInRequestOrder(owners, [0, 1], answers, "responses", "partitionResponses")]] as const) {
  for (let w = 0; w < 200_000; w++) f();
  const n = 1_000_000;
  const t = performance.now();
  for (let i = 0; i < n; i++) f();
  console.log(name, ((performance.now() - t) * 1000 / n).toFixed(3), "us per merge");
}
