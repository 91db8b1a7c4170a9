/** Worker of bench/port-connection.ts: counts the bytes of its port connection and says when all arrived. */
import { parentChannel } from "../src/platform/worker.ts";
import { openPortConnection } from "../src/platform/port-connection.ts";

const parent = parentChannel<{ port: MessagePort; total: number }, { done: number }>()!;
parent.onMessage(({ port, total }) => {
  let got = 0;
  openPortConnection(port, "bench", () => ({
    onData(b) {
      got += b.length;
      if (got >= total) parent.post({ done: got });
    },
    onDrain() {},
    onClose() {},
  }));
});
