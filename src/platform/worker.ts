/**
 * Worker threads for Bun and Deno behind one small interface (`node:worker_threads`, which both provide).
 *
 * A worker runs one module of `src/`, named by its path relative to `src/` (`"shard/shard-worker.ts"`): from the
 * sources that is the file itself; inside the `bun build --compile` executable it is the embedded entry point
 * `/$bunfs/root/<path>`, so every worker module must be listed as an entry point of the build next to
 * `src/cli/main.ts` (package.json's `build` script), which keeps `src/` the common root of the embedded paths.
 *
 * Messages are structured clones; `transfer` lists ArrayBuffers and MessagePorts that move instead of being copied.
 */
import * as threads from "node:worker_threads";

/** What may be moved (not copied) with a message. */
export type Transfer = ArrayBuffer | MessagePort;

/** The main thread's handle on one worker. `In` is what the worker receives, `Out` what it sends back. */
export interface WorkerHandle<In, Out> {
  /** Sends a message; buffers and ports in `transfer` move to the worker (they are detached here). */
  post(message: In, transfer?: readonly Transfer[]): void;
  /** Sets the one receiver of the worker's messages (messages sent before it is set wait for it). */
  onMessage(receive: (message: Out) => void): void;
  /** Called once when the worker ends: `error` is null after {@link WorkerHandle.terminate} or a clean exit. */
  onExit(exited: (error: Error | null) => void): void;
  /** Stops the worker (at once, wherever it is) and resolves once its thread is gone. */
  terminate(): Promise<void>;
}

/** A worker's side of the channel to the thread that spawned it. */
export interface ParentChannel<In, Out> {
  /** The `data` given to {@link spawnWorker} (structured clone). */
  readonly data: unknown;
  /** Sends a message to the spawning thread. */
  post(message: Out, transfer?: readonly Transfer[]): void;
  /** Sets the one receiver of the spawning thread's messages. */
  onMessage(receive: (message: In) => void): void;
  /** Stops receiving, so the worker's event loop may end once nothing else is pending. */
  close(): void;
}

/**
 * Whether this code runs inside the `bun build --compile` executable (embedded modules live under `/$bunfs/`). The
 * executable's entry (process.argv[1]) says so; import.meta.url does not when the build has `--bytecode`, where it
 * keeps the path the module was built from.
 */
function inCompiledExecutable(): boolean {
  const url = import.meta.url;
  const entry = process.argv[1] ?? "";
  return url.startsWith("file:///$bunfs/") || url.startsWith("file:///B:/~BUN/") || entry.startsWith("/$bunfs/") || entry.startsWith("B:/~BUN/") || entry.startsWith("B:\\~BUN\\");
}

/** Where the worker module `srcPath` (relative to `src/`) is loaded from in this process. */
export function workerModuleUrl(srcPath: string): URL {
  if (srcPath.startsWith("/") || srcPath.includes("..")) throw new Error(`worker module ${srcPath}: expected a path inside src/`);
  if (inCompiledExecutable()) return new URL(`file:///$bunfs/root/${srcPath}`);
  return new URL(`../${srcPath}`, import.meta.url);
}

/**
 * Starts a worker thread running `module` (a path relative to `src/`, or a file URL outside the executable, for
 * tests), which reads `data` from its {@link parentChannel}.
 */
export function spawnWorker<In, Out>(module: string | URL, data: unknown): WorkerHandle<In, Out> {
  const srcPath = String(module);
  const worker = new threads.Worker(typeof module === "string" ? workerModuleUrl(module) : module, { workerData: data });
  let receiver: ((message: Out) => void) | null = null;
  const early: Out[] = [];
  let exitedWith: Error | null | undefined;
  let exitWatcher: ((error: Error | null) => void) | null = null;
  let terminating = false;
  let firstError: Error | null = null;
  const ended = new Promise<void>((resolve) => {
    worker.once("exit", (code: number) => {
      exitedWith = terminating || (code === 0 && firstError === null) ? null : (firstError ?? new Error(`worker ${srcPath} exited with code ${code}`));
      exitWatcher?.(exitedWith);
      resolve();
    });
  });
  worker.on("error", (e: unknown) => {
    firstError ??= e instanceof Error ? e : new Error(String(e));
  });
  worker.on("message", (m: Out) => {
    if (receiver === null) early.push(m);
    else receiver(m);
  });
  return {
    post(message, transfer = []) {
      worker.postMessage(message, transfer as unknown as readonly threads.Transferable[]);
    },
    onMessage(receive) {
      receiver = receive;
      for (const m of early.splice(0)) receive(m);
    },
    onExit(exited) {
      exitWatcher = exited;
      if (exitedWith !== undefined) exited(exitedWith);
    },
    async terminate() {
      terminating = true;
      if (exitedWith === undefined) await worker.terminate();
      await ended;
    },
  };
}

/** The part of `node:worker_threads`' parent port used here. */
interface NodePort {
  postMessage(message: unknown, transfer: readonly Transfer[]): void;
  on(event: "message", listener: (m: never) => void): void;
  off(event: "message", listener: (m: never) => void): void;
}

/** The channel to the spawning thread, or null when this code runs on the main thread. */
export function parentChannel<In, Out>(): ParentChannel<In, Out> | null {
  const port = threads.parentPort as unknown as NodePort | null;
  if (threads.isMainThread || port === null) return null;
  let receive: ((message: In) => void) | null = null;
  const listener = (m: In) => receive?.(m);
  return {
    data: threads.workerData,
    post(message, transfer = []) {
      port.postMessage(message, transfer);
    },
    onMessage(r) {
      if (receive === null) port.on("message", listener);
      receive = r;
    },
    close() {
      port.off("message", listener);
      receive = null;
    },
  };
}

/** A pair of connected message ports (both ends may be moved to other threads through a `transfer` list). */
export function messagePortPair(): [MessagePort, MessagePort] {
  const channel = new MessageChannel();
  return [channel.port1, channel.port2];
}
