/**
 * Connection creation rates (KIP-612) on an injected clock, against figures worked out by hand from Kafka's own
 * classes (Rate over WindowedSum/SampledStat with quota.window.num=11 windows of 1 s, Sensor.checkQuotas and
 * QuotaUtils.boundedThrottleTime; ConnectionQuotas for the order and the un-recording):
 * - a new sensor spans 10 windows, so a burst of 50 connections fits a rate of 5/s and the 51st waits
 *   round((5.1 - 5) / 5 x 10000) = 200 ms; a sample of the past counts until 11 windows after its last event;
 * - throttles are capped at one window (1000 ms), also for a quota of 0;
 * - a connection over its address's quota is taken back from the address's, the listener's and the broker's
 *   sensors, so it does not delay other addresses; the inter-broker listener is not counted on the broker's.
 * Runtime-neutral (also under Deno).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { ConnectionRates, LocalRateSensors, RateWindows, SharedRateSensors, nodeConnectionRateTable } from "../../src/broker/connection-rate.ts";
import { SharedKeyTable } from "../../src/platform/shared-table.ts";
import { listenerLimits } from "../../src/broker/kafka-listener.ts";
import { BrokerConfig } from "../../src/broker/config.ts";
import { ManualClock } from "../../src/platform/clock.ts";

const windows = () => new RateWindows(11, 1000);
const localRates = () => new ConnectionRates(windows(), new LocalRateSensors(windows(), () => 0));
const plain = { name: "PLAINTEXT", protected: false };
const MAX = 2147483647;

/** The delays of `n` connections accepted at `nowMs` with a broker rate of `rate`. */
function burst(r: ConnectionRates, n: number, rate: number, nowMs: number): number[] {
  return Array.from({ length: n }, () => r.acceptDelayMs(plain, rate, MAX, nowMs));
}

test("a burst fits the rate over the windows a new sensor spans; the next connection waits Kafka's throttle", () => {
  const r = localRates();
  assert.deepEqual(burst(r, 50, 5, 0), Array(50).fill(0));
  assert.equal(r.acceptDelayMs(plain, 5, MAX, 0), 200); // 51/10 s = 5.1/s
  // the listener waited 200 ms: the next one is recorded then, in the same sample: 52 over 0.2 s + 10 windows
  // -> (52/10.2 - 5)/5 x 10200 = 200
  assert.equal(r.acceptDelayMs(plain, 5, MAX, 200), 200);
  // a second sample: 53 events over 1.2 s + 9 windows = 10.2 s -> (53/10.2 - 5)/5 x 10200 = 400
  assert.equal(r.acceptDelayMs(plain, 5, MAX, 1200), 400);
});

test("a sample counts until quota.window.num windows after its last event", () => {
  const r = localRates();
  burst(r, 50, 5, 0);
  // at 10999 ms the first sample still counts: 54 over 10.999 s is below 5/s, the 55th is over by 1 ms' worth
  assert.deepEqual(burst(r, 4, 5, 10_999), [0, 0, 0, 0]);
  assert.equal(r.acceptDelayMs(plain, 5, MAX, 10_999), 1);
  const q = localRates();
  burst(q, 50, 5, 0);
  // at 11000 ms it is obsolete: a whole new burst of 50 fits
  assert.deepEqual(burst(q, 50, 5, 11_000), Array(50).fill(0));
  assert.equal(q.acceptDelayMs(plain, 5, MAX, 11_000), 200);
});

test("throttles stop at one window, also for a rate of 0", () => {
  const r = localRates();
  assert.deepEqual(burst(r, 12, 1, 0), [...Array(10).fill(0), 1000, 1000]);
  const zero = localRates();
  assert.deepEqual(burst(zero, 3, 0, 0), [1000, 1000, 1000]);
});

test("the listener's own rate applies too, and the longer throttle wins", () => {
  const r = localRates();
  for (let i = 0; i < 20; i++) assert.equal(r.acceptDelayMs(plain, 5, 2, 0), 0);
  assert.equal(r.acceptDelayMs(plain, 5, 2, 0), 500); // listener 21/10 = 2.1/s: 0.1/2 x 10000
  // another listener has a sensor of its own; the broker's counts both
  const other = { name: "OTHER", protected: false };
  for (let i = 0; i < 29; i++) assert.equal(r.acceptDelayMs(other, 5, MAX, 0), 0);
  assert.equal(r.acceptDelayMs(other, 5, MAX, 0), 200); // broker: 51/10
});

test("the inter-broker listener is not counted on the broker's rate", () => {
  const r = localRates();
  const interBroker = { name: "INTERNAL", protected: true };
  for (let i = 0; i < 100; i++) assert.equal(r.acceptDelayMs(interBroker, 5, MAX, 0), 0);
  assert.deepEqual(burst(r, 50, 5, 0), Array(50).fill(0));
  assert.equal(r.acceptDelayMs(plain, 5, MAX, 0), 200);
});

test("a connection over its address's quota is taken back from every sensor and does not delay other addresses", () => {
  const r = localRates();
  const from = (ip: string, quota: number) => {
    const delay = r.acceptDelayMs(plain, 5, MAX, 0);
    return delay > 0 ? -delay : r.ipThrottleMs(plain, ip, quota, 0);
  };
  for (let i = 0; i < 10; i++) assert.equal(from("10.0.0.1", 1), 0);
  // the 11th from 10.0.0.1: 11/10 s over 1/s, closed after round(0.1 x 10000) = 1000 ms (the cap)
  assert.equal(from("10.0.0.1", 1), 1000);
  assert.equal(from("10.0.0.1", 1), 1000, "the taken-back connection left the address at 10, so the next is over too");
  // the broker counts 10 of them: 40 more from elsewhere fit its 5/s over 10 s, the 41st waits
  for (let i = 0; i < 40; i++) assert.equal(r.acceptDelayMs(plain, 5, MAX, 0), 0, `connection ${i}`);
  assert.equal(r.acceptDelayMs(plain, 5, MAX, 0), 200);
});

test("the sensors of a node's shared table decide as one broker's", () => {
  let now = 0;
  const table = nodeConnectionRateTable(windows());
  // two accepting threads over one table
  const a = new ConnectionRates(windows(), new SharedRateSensors(windows(), table, () => now));
  const b = new ConnectionRates(windows(), new SharedRateSensors(windows(), table, () => now));
  for (let i = 0; i < 25; i++) {
    assert.equal(a.acceptDelayMs(plain, 5, MAX, 0), 0);
    assert.equal(b.acceptDelayMs(plain, 5, MAX, 0), 0);
  }
  assert.equal(b.acceptDelayMs(plain, 5, MAX, 0), 200);
  for (let i = 0; i < 10; i++) assert.equal(a.ipThrottleMs(plain, "10.0.0.1", 1, 11_000), 0);
  assert.equal(b.ipThrottleMs(plain, "10.0.0.1", 1, 11_000), 1000);
  now = 30_000;
  const local = localRates();
  assert.deepEqual(burst(local, 51, 5, 30_000), burst(a, 51, 5, 30_000), "after every sample is obsolete the shared sensor is as new");
});

test("a full shared table limits no new address until its sensors are idle; known addresses stay limited", () => {
  let now = 0;
  const w = windows();
  // room for the listener's and the broker's sensors and two addresses
  const table = SharedKeyTable.create({ slots: 4, keyChars: 64, values: w.stateSize, globals: 0 });
  const r = new ConnectionRates(w, new SharedRateSensors(w, table, () => now));
  for (const ip of ["10.0.0.1", "10.0.0.2"]) for (let i = 0; i < 10; i++) assert.equal(r.ipThrottleMs(plain, ip, 1, 0), 0);
  assert.equal(r.ipThrottleMs(plain, "10.0.0.1", 1, 0), 1000, "a known address is still limited");
  // no room for a third address's sensor: not limited (20 connections is over its quota of 1/s)
  for (let i = 0; i < 20; i++) assert.equal(r.ipThrottleMs(plain, "10.0.0.3", 1, 0), 0);
  // 11 s later every sensor is idle: the third address gets one (a prune) and is limited like the first two were
  now = 11_000;
  for (let i = 0; i < 10; i++) assert.equal(r.ipThrottleMs(plain, "10.0.0.3", 1, 11_000), 0);
  assert.equal(r.ipThrottleMs(plain, "10.0.0.3", 1, 11_000), 1000);
  assert.equal(r.ipThrottleMs(plain, "10.0.0.1", 1, 11_000), 0, "10.0.0.1's pruned sensor starts as new");
});

test("a sensor found before the shared table makes room is not lost to that pruning", () => {
  const w = windows();
  const table = SharedKeyTable.create({ slots: 2, keyChars: 64, values: w.stateSize, globals: 0 });
  const r = new ConnectionRates(w, new SharedRateSensors(w, table, () => 11_000));
  const interBroker = (name: string) => ({ name, protected: true }); // recorded on its own sensor only
  assert.equal(r.ipThrottleMs(interBroker("L"), "10.0.0.1", 1, 0), 0); // the table is full: ip:10.0.0.1, listener:L
  // 11 s later: ip:10.0.0.1 is found, listener:M needs room (both old sensors are idle): 11 connections, the 11th over
  const delays = Array.from({ length: 11 }, () => r.ipThrottleMs(interBroker("M"), "10.0.0.1", 1, 11_000));
  assert.deepEqual(delays, [...Array(10).fill(0), 1000]);
});

test("accepting threads whose monotonic clocks started apart record into the node's table at one time", () => {
  // A worker's monotonic clock starts when the worker does, here 400 ms after the main thread's: at one wall time
  // the main thread reads 5000 ms and the worker 4600 ms. Each thread's listener records at its rateNowMs().
  const config = new BrokerConfig(new Map());
  const table = nodeConnectionRateTable(windows());
  const mainClock = new ManualClock();
  const workerClock = new ManualClock();
  mainClock.advance(5000);
  workerClock.advance(4600);
  const main = listenerLimits(config, null, undefined, undefined, { shared: { table: SharedKeyTable.attach(table.buffer), originMs: 1_000_000 } }, mainClock);
  const worker = listenerLimits(config, null, undefined, undefined, { shared: { table: SharedKeyTable.attach(table.buffer), originMs: 1_000_400 } }, workerClock);
  assert.equal(main.rateNowMs(), worker.rateNowMs());
  const accept = (l: typeof main) => l.rates.acceptDelayMs(plain, 5, MAX, l.rateNowMs());
  // the same figures as one broker's: 50 over the 10 windows a new sensor spans fit 5/s, the 51st waits 200 ms
  for (let i = 0; i < 25; i++) assert.equal(accept(main), 0);
  for (let i = 0; i < 25; i++) assert.equal(accept(worker), 0);
  assert.equal(accept(worker), 200);
  // 10.999 s later the first sample still counts on both threads; 11 s later it is obsolete on both
  mainClock.advance(10_999);
  workerClock.advance(10_999);
  assert.deepEqual([accept(main), accept(worker), accept(main)], [0, 0, 0]);
  assert.equal(accept(worker), 1);
});
