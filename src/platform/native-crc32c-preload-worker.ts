/**
 * A worker thread that loads the bulk CRC-32C addon once (src/platform/native-crc32c.ts), so that the process has
 * the library mapped and relocated before the event loop loads it too: there it then takes about 1 ms from the
 * sources and ~20 ms from the compiled executable, instead of 50-170 ms. Answers whether it loaded, then ends.
 */
import { loadBulkNativeCrc32c } from "./native-crc32c.ts";
import { parentChannel } from "./worker.ts";

const channel = parentChannel<never, boolean>();
if (channel !== null) {
  channel.post(loadBulkNativeCrc32c() !== null);
  channel.close();
}
