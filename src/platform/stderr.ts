/**
 * Lines to the process's stderr, written at once from whichever thread logs them. A worker thread's `console`
 * (Bun's `node:worker_threads`) hands its output to the main thread over a port, which writes it later: a line
 * logged just before the worker is terminated, or before the process exits, is lost (a shard's "Runnel broker
 * stopped" was, in 3 of 10 runs of a node whose other shard died while starting, at load 7).
 */
import * as nodeFs from "node:fs";

/** The process's stderr. */
const STDERR_FD = 2;

/**
 * This thread's `process.stderr`, made at load: Bun makes a stderr pipe non-blocking once it exists (in the main
 * thread; the flag holds for every thread), so a stalled reader makes a write fail with EAGAIN instead of blocking
 * the thread. Deno leaves stderr blocking: there a write waits for the reader, as Deno's own `console` does.
 */
const stderrStream = process.stderr;

/** Encodes the lines. */
const encoder = new TextEncoder();

/** Lines (or their rests) of this thread handed to {@link stderrStream} and not written yet. */
let queued = 0;

/** Whether `e` says a non-blocking descriptor cannot take more now. */
function wouldBlock(e: unknown): boolean {
  const code = (e as { code?: unknown }).code;
  return code === "EAGAIN" || code === "EWOULDBLOCK";
}

/** Hands `bytes` to this thread's `process.stderr` (its queue, written as the reader takes it). */
function enqueue(bytes: Uint8Array): void {
  queued++;
  stderrStream.write(bytes, () => queued--);
}

/**
 * Writes `line` and a newline to stderr before it returns, as one write (a pipe takes a line of up to 4096 bytes
 * whole, so lines of several threads do not mix). When stderr is a full non-blocking pipe, what is left goes to
 * this thread's `process.stderr` queue, and so do the lines after it until that queue is written: lines keep their
 * order and the thread never waits on a stalled reader. A stderr that is gone (EPIPE, EBADF) drops the line, as
 * `console` does: logging never fails the caller.
 */
export function writeStderrLine(line: string): void {
  const bytes = encoder.encode(`${line}\n`);
  if (queued > 0) return enqueue(bytes);
  let done = 0;
  try {
    while (done < bytes.length) done += nodeFs.writeSync(STDERR_FD, bytes, done, bytes.length - done);
  } catch (e) {
    if (wouldBlock(e)) enqueue(bytes.subarray(done));
  }
}
