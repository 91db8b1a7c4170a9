/**
 * A pool of codec worker threads (codec-worker.ts) for the codecs that have no off-loop path of their own: lz4
 * (WASM block compressor, JS frame and block decoder) and snappy (pure JS). gzip and zstd go through node:zlib
 * streams instead (zlib-stream.ts).
 *
 * Each call's input is copied into a fresh buffer that moves to the worker (the caller's bytes, often a view of a
 * pooled request frame, are never detached); the output moves back without a copy. Each worker runs one call at
 * a time; calls wait in one FIFO queue bounded by {@link CODEC_POOL_MAX_QUEUED_CALLS} and
 * {@link CODEC_POOL_MAX_QUEUED_BYTES}. A full queue refuses the call ({@link CodecPool.run} returns null) and the
 * caller runs the codec on its own thread, as before the pool. Results may come back in any order across workers;
 * callers that need an order (Produce appends to one partition) keep it themselves (partition-append-order.ts).
 *
 * Workers start on first use and stop with {@link CodecPool.close}, or after {@link CODEC_THREAD_IDLE_MS} without a
 * call (a thread holds 12-18 MB of memory; a sharded node has a pool per shard), to start again on the next call.
 * A worker that dies fails its call with a
 * {@link CodecThreadError} (the codec never judged the input; callers run it themselves) and is replaced on the
 * next call.
 */
import { setTimeout, clearTimeout } from "node:timers";
import { spawnWorker, type WorkerHandle } from "../platform/worker.ts";
import { CorruptCompressedDataError, type CodecName, DecompressionLimitError } from "./codec.ts";

/** Most worker threads a pool starts: codec work shares the cores with the event loop (and later the shards). */
export const MAX_CODEC_POOL_THREADS = 4;
/** Most calls waiting for a worker; one more is refused (and run by the caller). */
export const CODEC_POOL_MAX_QUEUED_CALLS = 1024;
/** How long a worker thread stays without a call before it ends (the next call starts one again). */
export const CODEC_THREAD_IDLE_MS = 60_000;
/** Most input bytes waiting for a worker; a call that would pass it is refused (and run by the caller). */
export const CODEC_POOL_MAX_QUEUED_BYTES = 256 * 1024 * 1024;
/** Threads for a pool on this machine: one core is left to the event loop, at most MAX_CODEC_POOL_THREADS. */
export function defaultCodecPoolThreads(): number {
  const cores = (globalThis as { navigator?: { hardwareConcurrency?: number } }).navigator?.hardwareConcurrency ?? 2;
  return Math.min(MAX_CODEC_POOL_THREADS, Math.max(1, cores - 1));
}

/** Codec ids the pool serves: snappy (2) and lz4 (3). */
export const POOLED_CODEC_IDS: readonly number[] = [2, 3];

/** One call sent to a codec worker. */
export interface CodecCallMessage {
  /** Call id, echoed in the reply. */
  id: number;
  /** Kafka codec id (2 snappy, 3 lz4). */
  codecId: number;
  /** Decompress (`arg` = most output bytes) or compress (`arg` = level). */
  decompress: boolean;
  /** The input, moved to the worker. */
  input: ArrayBuffer;
  /** Most output bytes (decompress) or level (compress). */
  arg: number | undefined;
}

/** A codec worker's answer to one call. */
export type CodecReplyMessage =
  | { id: number; ok: true; output: ArrayBuffer }
  | { id: number; ok: false; error: { kind: "corrupt" | "limit" | "other"; codec: CodecName | null; message: string; limit: number } };

/** A call the pool could not finish for a reason of its own (closed, a worker died): the codec never judged the input. */
export class CodecThreadError extends Error {
  /** Creates the error with `message`. */
  constructor(message: string) {
    super(message);
    this.name = "CodecThreadError";
  }
}

interface PendingCall {
  message: CodecCallMessage;
  resolve: (out: Uint8Array) => void;
  reject: (e: Error) => void;
}

interface PoolWorker {
  handle: WorkerHandle<CodecCallMessage, CodecReplyMessage>;
  call: PendingCall | null;
  /** While idle: the timer that ends it after the pool's idle time. */
  idle: ReturnType<typeof setTimeout> | null;
}

/** The worker threads, their queue and its limits. */
export class CodecPool {
  /** Worker threads this pool runs at most. */
  readonly threads: number;
  private readonly workers: PoolWorker[] = [];
  private readonly queue: PendingCall[] = [];
  private queuedBytes = 0;
  private nextId = 1;
  private closed = false;
  /** Calls refused because the queue was full (their callers ran them on their own thread). */
  refused = 0;

  /** Told when a worker ends with an error (its call then runs on the caller's thread). */
  private readonly onWorkerError: (e: Error) => void;

  /**
   * A pool of `threads` workers (1 to MAX_CODEC_POOL_THREADS), started on first use and ended after `idleMs` without
   * a call; `onWorkerError` hears of workers that fail.
   */
  constructor(threads: number, onWorkerError: (e: Error) => void = () => {}, private readonly idleMs = CODEC_THREAD_IDLE_MS) {
    this.onWorkerError = onWorkerError;
    if (!(idleMs > 0)) throw new RangeError(`codec thread idle time must be positive, got ${idleMs}`);
    if (!Number.isInteger(threads) || threads < 1 || threads > MAX_CODEC_POOL_THREADS) {
      throw new RangeError(`codec pool threads must be 1-${MAX_CODEC_POOL_THREADS}, got ${threads}`);
    }
    this.threads = threads;
  }

  /** Worker threads running now (started, not yet ended by idleness, a failure or close). */
  get liveThreads(): number {
    return this.workers.length;
  }

  /**
   * Runs one codec call on a worker: a promise of its output (rejected with the error the codec threw, rebuilt
   * as the same class), or null when the pool cannot take it (queue full, closed, or a codec it does not serve).
   */
  run(codecId: number, decompress: boolean, data: Uint8Array, arg: number | undefined): Promise<Uint8Array> | null {
    if (this.closed || !POOLED_CODEC_IDS.includes(codecId)) return null;
    if (this.queue.length >= CODEC_POOL_MAX_QUEUED_CALLS || this.queuedBytes + data.length > CODEC_POOL_MAX_QUEUED_BYTES) {
      this.refused++;
      return null;
    }
    const input = new ArrayBuffer(data.length);
    new Uint8Array(input).set(data);
    return new Promise<Uint8Array>((resolve, reject) => {
      this.queue.push({ message: { id: this.nextId++, codecId, decompress, input, arg }, resolve, reject });
      this.queuedBytes += data.length;
      this.dispatch();
    });
  }

  /** Stops every worker; calls still waiting or running fail. The pool takes no more calls. */
  async close(): Promise<void> {
    this.closed = true;
    const gone = new CodecThreadError("the codec pool was closed");
    for (const c of this.queue.splice(0)) c.reject(gone);
    this.queuedBytes = 0;
    const workers = this.workers.splice(0);
    for (const w of workers) {
      w.call?.reject(gone);
      w.call = null;
      this.wake(w);
    }
    await Promise.all(workers.map((w) => w.handle.terminate()));
  }

  /** Hands queued calls to idle workers, starting workers up to {@link threads}. */
  private dispatch(): void {
    while (this.queue.length > 0) {
      let w = this.workers.find((x) => x.call === null);
      if (w === undefined) {
        if (this.workers.length >= this.threads) return;
        w = this.startWorker();
      }
      const call = this.queue.shift()!;
      this.queuedBytes -= call.message.input.byteLength;
      this.wake(w);
      w.call = call;
      w.handle.post(call.message, [call.message.input]);
    }
    for (const w of this.workers) if (w.call === null && w.idle === null) this.sleep(w);
  }

  /** Arms the timer that ends idle worker `w` (it does not keep the process alive). */
  private sleep(w: PoolWorker): void {
    w.idle = setTimeout(() => {
      w.idle = null;
      const i = this.workers.indexOf(w);
      if (w.call !== null || i < 0) return;
      this.workers.splice(i, 1);
      void w.handle.terminate();
    }, this.idleMs);
    (w.idle as { unref?: () => void }).unref?.();
  }

  /** Disarms worker `w`'s idle timer. */
  private wake(w: PoolWorker): void {
    if (w.idle !== null) clearTimeout(w.idle);
    w.idle = null;
  }

  private startWorker(): PoolWorker {
    const w: PoolWorker = { handle: spawnWorker<CodecCallMessage, CodecReplyMessage>("compression/codec-worker.ts", {}), call: null, idle: null };
    this.workers.push(w);
    w.handle.onMessage((reply) => {
      const call = w.call;
      if (call === null || call.message.id !== reply.id) return; // the pool was closed meanwhile
      w.call = null;
      if (reply.ok) call.resolve(new Uint8Array(reply.output));
      else call.reject(rebuildError(reply.error));
      this.dispatch();
    });
    w.handle.onExit((error) => {
      if (error !== null && !this.closed) this.onWorkerError(error);
      this.wake(w);
      const i = this.workers.indexOf(w);
      if (i >= 0) this.workers.splice(i, 1);
      w.call?.reject(new CodecThreadError(`codec worker ended during a call: ${error?.message ?? "exited"}`));
      w.call = null;
      if (!this.closed) this.dispatch();
    });
    return w;
  }
}

/** The codec's error on this side of the thread boundary, as the same class where it has one. */
function rebuildError(e: Extract<CodecReplyMessage, { ok: false }>["error"]): Error {
  if (e.kind === "limit" && e.codec !== null) return new DecompressionLimitError(e.codec, e.limit);
  if (e.kind === "corrupt" && e.codec !== null) {
    const err = new CorruptCompressedDataError(e.codec, "");
    err.message = e.message;
    return err;
  }
  return new Error(e.message);
}

/** The worker side: describes a codec error for {@link CodecReplyMessage}. */
export function describeCodecError(e: unknown): Extract<CodecReplyMessage, { ok: false }>["error"] {
  if (e instanceof DecompressionLimitError) return { kind: "limit", codec: e.codec, message: e.message, limit: e.limit };
  if (e instanceof CorruptCompressedDataError) return { kind: "corrupt", codec: e.codec, message: e.message, limit: 0 };
  return { kind: "other", codec: null, message: e instanceof Error ? e.message : String(e), limit: 0 };
}
