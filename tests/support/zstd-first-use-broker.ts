/**
 * A broker in a process of its own for tests/broker/zstd-compiled-on-first-zstd-batch.test.ts, so that no other
 * test in the runner's process has compiled zstd first. Prints `ready <port> <compiled>` once it listens (topic
 * "z" created), `state <compiled>` for each stdin line, and stops when stdin closes. `<compiled>`: whether this
 * process holds the compiled zstd module.
 */
import * as readline from "node:readline";
import { zstdCompiled } from "../../src/compression/zstd-wasm.ts";
import { startTestBroker } from "./broker.ts";

const b = await startTestBroker();
await b.broker.createTopic("z", 1, 1, {}, false);
console.log(`ready ${b.port} ${zstdCompiled()}`);
const lines = readline.createInterface({ input: process.stdin });
lines.on("line", () => console.log(`state ${zstdCompiled()}`));
lines.on("close", () => {
  b.stop().then(
    () => process.exit(0),
    (e) => {
      console.error(e);
      process.exit(1);
    },
  );
});
