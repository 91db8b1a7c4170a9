/**
 * A codec worker thread of the {@link CodecPool} (codec-pool.ts): runs each lz4 or snappy call it is sent, one at
 * a time in arrival order, and moves the output back. Listed as an entry point of the compiled executable
 * (package.json `build`).
 */
import { parentChannel } from "../platform/worker.ts";
import type { CodecCallMessage, CodecReplyMessage } from "./codec-pool.ts";
import { describeCodecError } from "./codec-pool.ts";
import { initLz4, lz4Codec } from "./lz4.ts";
import { snappyCodec } from "./snappy.ts";

const parent = parentChannel<CodecCallMessage, CodecReplyMessage>();
if (parent === null) throw new Error("codec-worker.ts runs only as a codec pool worker thread");
const channel = parent;
const ready = initLz4();

channel.onMessage((call) => {
  void ready.then(() => answer(call), (e: unknown) => channel.post({ id: call.id, ok: false, error: describeCodecError(e) }));
});

function answer(call: CodecCallMessage): void {
  try {
    const codec = call.codecId === lz4Codec.id ? lz4Codec : call.codecId === snappyCodec.id ? snappyCodec : null;
    if (codec === null) throw new Error(`codec worker: codec ${call.codecId} is not served here`);
    const input = new Uint8Array(call.input);
    const out = call.decompress ? codec.decompress(input, call.arg!) : codec.compress(input, call.arg);
    // Move the output's own buffer when it spans it exactly, else a copy of just the output.
    const whole = out.byteOffset === 0 && out.byteLength === out.buffer.byteLength && out.buffer instanceof ArrayBuffer ? out : out.slice();
    channel.post({ id: call.id, ok: true, output: whole.buffer as ArrayBuffer }, [whole.buffer as ArrayBuffer]);
  } catch (e) {
    channel.post({ id: call.id, ok: false, error: describeCodecError(e) });
  }
}
