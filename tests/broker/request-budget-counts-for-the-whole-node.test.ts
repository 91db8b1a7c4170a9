/**
 * A sharded node's request budget (`queued.max.requests`, `queued.max.request.bytes`) counts for the node, as one
 * broker's does: every accepting thread's front attaches a NodeRequestBudget to one shared buffer, so bytes held by
 * one thread's connections leave no room to another's, and room made in one wakes the connections waiting in
 * another. Here two budgets on one buffer stand for two threads (tests/broker/overload-keeps-serving runs a sharded
 * node's whole path under RUNNEL_TEST_SHARDS).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { NodeRequestBudget, nodeRequestBudgetBuffer } from "../../src/broker/request-budget.ts";

test("bytes and requests held by one thread's budget leave no room in another's; room made there wakes its waiters", { timeout: 10_000 }, async () => {
  const buffer = nodeRequestBudgetBuffer();
  const a = new NodeRequestBudget(buffer, 2, 1000);
  const b = new NodeRequestBudget(buffer, 2, 1000);
  a.addBytes(1000);
  assert.equal(b.bytes, 1000);
  assert.equal(b.hasRoom(), false, "the node's bytes are used up by the other thread");
  const woken = new Promise<void>((resolve) => b.waitForRoom(resolve));
  a.releaseBytes(400);
  await woken;
  assert.equal(b.hasRoom(), true);

  a.addRequest();
  b.addRequest();
  assert.equal(a.requests, 2);
  assert.equal(a.hasRoom(), false, "queued.max.requests=2 counted over both");
  let aWoken = false;
  a.waitForRoom(() => (aWoken = true));
  const bWaiter = new Promise<void>((resolve) => a.waitForRoom(resolve));
  b.releaseRequest();
  await bWaiter;
  assert.equal(aWoken, true);
  a.releaseRequest();
  a.releaseBytes(600);
  assert.deepEqual([b.requests, b.bytes], [0, 0]);
  assert.throws(() => b.releaseBytes(1), /released more bytes than held/);
});

test("a waiter whose connection closed is not called", { timeout: 10_000 }, async () => {
  const buffer = nodeRequestBudgetBuffer();
  const a = new NodeRequestBudget(buffer, 10, 100);
  const b = new NodeRequestBudget(buffer, 10, 100);
  a.addBytes(100);
  let called = 0;
  const gone = () => called++;
  b.waitForRoom(gone);
  b.cancelWait(gone);
  const kept = new Promise<void>((resolve) => b.waitForRoom(resolve));
  a.releaseBytes(100);
  await kept;
  assert.equal(called, 0);
});
