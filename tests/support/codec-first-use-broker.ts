/**
 * A broker in a process of its own for tests/broker/codec-wasm-compiled-on-first-use.test.ts, so that no other
 * test in the runner's process has compiled the codecs first. Prints `ready <port> <zstd> <lz4>` once it listens
 * (topic "z" and topic "l" with compression.type=lz4 created), `state <zstd> <lz4>` for each stdin line, and stops
 * when stdin closes. `<zstd>`, `<lz4>`: whether this process holds that codec's compiled WASM module.
 */
import * as readline from "node:readline";
import { zstdCompiled } from "../../src/compression/zstd-wasm.ts";
import { lz4WasmCompiled } from "../../src/compression/lz4-wasm.ts";
import { startTestBroker } from "./broker.ts";

const b = await startTestBroker();
await b.broker.createTopic("z", 1, 1, {}, false);
await b.broker.createTopic("l", 1, 1, { "compression.type": "lz4" }, false);
console.log(`ready ${b.port} ${zstdCompiled()} ${lz4WasmCompiled()}`);
const lines = readline.createInterface({ input: process.stdin });
lines.on("line", () => console.log(`state ${zstdCompiled()} ${lz4WasmCompiled()}`));
lines.on("close", () => {
  b.stop().then(
    () => process.exit(0),
    (e) => {
      console.error(e);
      process.exit(1);
    },
  );
});
