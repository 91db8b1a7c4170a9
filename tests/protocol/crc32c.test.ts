import { test } from "node:test";
import assert from "node:assert/strict";
import { createRequire } from "node:module";
import fc from "fast-check";
import { crc32c, initCrc32c } from "../../src/protocol/crc32c.ts";

await initCrc32c();

const require = createRequire(import.meta.url);
/** kafkajs's pure-JS CRC-32C, an independent implementation to compare against. */
const kafkajsCrc32c: (b: Uint8Array) => number = require("kafkajs/src/protocol/recordBatch/crc32C/index.js");

function range(n: number, f: (i: number) => number): Uint8Array {
  return Uint8Array.from({ length: n }, (_, i) => f(i));
}

test("crc32c of the standard check string 123456789 is 0xE3069283", () => {
  assert.equal(crc32c(new TextEncoder().encode("123456789")), 0xe3069283);
});

test("crc32c matches the iSCSI (RFC 3720 B.4) test vectors", () => {
  assert.equal(crc32c(new Uint8Array(32)), 0x8a9136aa, "32 bytes of zeros");
  assert.equal(crc32c(new Uint8Array(32).fill(0xff)), 0x62a8ab43, "32 bytes of 0xFF");
  assert.equal(crc32c(range(32, (i) => i)), 0x46dd794e, "32 ascending bytes 0..31");
  assert.equal(crc32c(range(32, (i) => 31 - i)), 0x113fdb5c, "32 descending bytes 31..0");
  const readPdu = Uint8Array.from([
    0x01, 0xc0, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x14, 0x00, 0x00, 0x00, 0x00, 0x00, 0x04, 0x00, 0x00, 0x00, 0x00, 0x14, 0x00, 0x00, 0x00, 0x18,
    0x28, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
  ]);
  assert.equal(crc32c(readPdu), 0xd9963a56, "iSCSI read command PDU");
});

test("crc32c of empty input is 0", () => {
  assert.equal(crc32c(new Uint8Array(0)), 0);
});

test("crc32c reads only the view it is given, not the whole backing buffer", () => {
  const backing = new Uint8Array(64).fill(0xaa);
  backing.set(new TextEncoder().encode("123456789"), 7);
  assert.equal(crc32c(backing.subarray(7, 16)), 0xe3069283);
});

test("crc32c agrees with kafkajs's independent implementation on random input", () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 2048 }), (bytes) => {
      assert.equal(crc32c(bytes), kafkajsCrc32c(bytes) >>> 0);
    }),
    { numRuns: 300 },
  );
});
