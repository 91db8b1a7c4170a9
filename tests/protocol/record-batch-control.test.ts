import { test } from "node:test";
import assert from "node:assert/strict";
import { initCrc32c } from "../../src/protocol/crc32c.ts";
import { ATTR_CONTROL, ATTR_TRANSACTIONAL, BATCH_HEADER_SIZE } from "../../src/protocol/batch-layout.ts";
import {
  BatchBuilder,
  readBatchHeader,
  RecordCursor,
  recordSize,
  sealBatch,
  verifyBatch,
  verifyBatchIntegrity,
  writeBatchHeader,
  writeRecordAt,
} from "../../src/protocol/record-batch.ts";
import {
  buildControlBatch,
  controlRecordType,
  ControlRecordType,
  isControlBatch,
  readControlKey,
  readEndTxnMarker,
  readTxnMarker,
} from "../../src/protocol/control-record.ts";
import { MalformedFrameError } from "../../src/protocol/wire.ts";

await initCrc32c();

const T0 = 1_700_000_123_456;

test("a COMMIT marker batch round-trips through buildControlBatch and the readers", () => {
  const batch = buildControlBatch({
    producerId: 9_000_000_000n,
    producerEpoch: 4,
    type: ControlRecordType.COMMIT,
    coordinatorEpoch: 17,
    timestampMs: T0,
    baseOffset: 1000n,
    partitionLeaderEpoch: 6,
  });
  assert.equal(verifyBatchIntegrity(batch, 0, batch.length), null);
  const h = readBatchHeader(batch);
  assert.deepEqual({ ...h, crc: 0, batchLength: 0 }, {
    baseOffset: 1000n,
    batchLength: 0,
    partitionLeaderEpoch: 6,
    magic: 2,
    crc: 0,
    attributes: ATTR_TRANSACTIONAL | ATTR_CONTROL,
    lastOffsetDelta: 0,
    baseTimestamp: BigInt(T0),
    maxTimestamp: BigInt(T0),
    producerId: 9_000_000_000n,
    producerEpoch: 4,
    baseSequence: -1,
    recordsCount: 1,
  });
  assert.equal(h.batchLength, batch.length - 12);
  assert.ok(isControlBatch(batch, 0));
  assert.deepEqual(readTxnMarker(batch, 0, batch.length), { type: ControlRecordType.COMMIT, coordinatorEpoch: 17 });

  const c = new RecordCursor().resetBatch(batch, 0, batch.length);
  assert.ok(c.next());
  assert.equal(c.offset(), 1000n);
  assert.equal(c.timestamp, T0);
  assert.deepEqual(readControlKey(c.key()), { version: 0, type: ControlRecordType.COMMIT });
  assert.deepEqual(readEndTxnMarker(c.value()), { version: 0, coordinatorEpoch: 17 });
  assert.equal(c.headerCount, 0);
  assert.equal(c.next(), false);
});

test("an ABORT marker batch uses the defaults for offset and leader epoch", () => {
  const batch = buildControlBatch({
    producerId: 1n,
    producerEpoch: 0,
    type: ControlRecordType.ABORT,
    coordinatorEpoch: -1,
    timestampMs: T0,
  });
  const h = readBatchHeader(batch);
  assert.equal(h.baseOffset, 0n);
  assert.equal(h.partitionLeaderEpoch, -1);
  assert.deepEqual(readTxnMarker(batch, 0, batch.length), { type: ControlRecordType.ABORT, coordinatorEpoch: -1 });
});

test("verifyBatch refuses control batches from clients; the integrity check accepts them", () => {
  const batch = buildControlBatch({ producerId: 1n, producerEpoch: 0, type: 1, coordinatorEpoch: 0, timestampMs: T0 });
  assert.equal(verifyBatch(batch, 0, batch.length), "control_batch_from_client");
  assert.equal(verifyBatchIntegrity(batch, 0, batch.length), null);
});

test("buildControlBatch only writes ABORT and COMMIT markers", () => {
  for (const type of [ControlRecordType.LEADER_CHANGE, ControlRecordType.KRAFT_VOTERS, 99, -1]) {
    assert.throws(
      () => buildControlBatch({ producerId: 1n, producerEpoch: 0, type, coordinatorEpoch: 0, timestampMs: T0 }),
      RangeError,
    );
  }
});

test("ordinary batches are not control batches", () => {
  const b = new BatchBuilder(256).reset({ isTransactional: true, producerId: 3n, producerEpoch: 0, baseSequence: 0 });
  b.append(T0, null, new Uint8Array([1]));
  const batch = b.finish();
  assert.equal(isControlBatch(batch, 0), false);
  assert.throws(() => readTxnMarker(batch, 0, batch.length), MalformedFrameError);
});

/** A control batch whose single record has the given key and value. */
function controlBatchWith(key: Uint8Array | null, value: Uint8Array | null): Uint8Array {
  const size = BATCH_HEADER_SIZE + recordSize(0, 0, key, value);
  const b = new Uint8Array(size);
  writeRecordAt(b, BATCH_HEADER_SIZE, 0, 0, key, value);
  writeBatchHeader(b, 0, {
    baseOffset: 0n, batchLength: 0, partitionLeaderEpoch: -1, magic: 2, crc: 0,
    attributes: ATTR_CONTROL, lastOffsetDelta: 0, baseTimestamp: 0n, maxTimestamp: 0n,
    producerId: -1n, producerEpoch: -1, baseSequence: -1, recordsCount: 1,
  });
  sealBatch(b, 0, size);
  return b;
}

test("control batches of KRaft types are recognised but yield no transaction marker", () => {
  const batch = controlBatchWith(new Uint8Array([0, 0, 0, ControlRecordType.LEADER_CHANGE]), new Uint8Array([0, 0, 1, 2]));
  assert.ok(isControlBatch(batch, 0));
  assert.equal(readTxnMarker(batch, 0, batch.length), null);
});

test("future key and marker versions are parsed with the version 0 layout, as Kafka does", () => {
  assert.deepEqual(readControlKey(new Uint8Array([0, 3, 0, 1, 0xaa])), { version: 3, type: 1 });
  assert.deepEqual(readEndTxnMarker(new Uint8Array([0, 1, 0, 0, 1, 0, 0xff])), { version: 1, coordinatorEpoch: 256 });
  const batch = controlBatchWith(new Uint8Array([0, 1, 0, 0]), new Uint8Array([0, 2, 0x7f, 0xff, 0xff, 0xff]));
  assert.deepEqual(readTxnMarker(batch, 0, batch.length), { type: 0, coordinatorEpoch: 2147483647 });
});

test("malformed control keys and marker values throw MalformedFrameError", () => {
  const bad: (() => unknown)[] = [
    () => readControlKey(null),
    () => readControlKey(new Uint8Array([0, 0, 1])),
    () => readControlKey(new Uint8Array([0xff, 0xff, 0, 1])),
    () => controlRecordType(new Uint8Array(2)),
    () => controlRecordType(new Uint8Array([0x80, 0, 0, 0])),
    () => readEndTxnMarker(null),
    () => readEndTxnMarker(new Uint8Array(5)),
    () => readEndTxnMarker(new Uint8Array([0xff, 0xfe, 0, 0, 0, 0])),
  ];
  for (const f of bad) assert.throws(f, MalformedFrameError);
  const noKey = controlBatchWith(null, new Uint8Array(6));
  assert.throws(() => readTxnMarker(noKey, 0, noKey.length), MalformedFrameError);
  const shortValue = controlBatchWith(new Uint8Array([0, 0, 0, 1]), new Uint8Array(3));
  assert.throws(() => readTxnMarker(shortValue, 0, shortValue.length), MalformedFrameError);
  assert.equal(controlRecordType(new Uint8Array([0, 0, 0, 6])), ControlRecordType.KRAFT_VOTERS);
});
