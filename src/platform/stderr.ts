/**
 * Lines to the process's stderr, written at once from whichever thread logs them. A worker thread's `console`
 * (Bun's `node:worker_threads`) hands its output to the main thread over a port, which writes it later: a line
 * logged just before the worker is terminated, or before the process exits, is lost (a shard's "Runnel broker
 * stopped" was, in 3 of 10 runs of a node whose other shard died while starting, at load 7).
 *
 * The write is synchronous, to descriptor 2 itself, as `console.error` is on the main thread: a stalled reader makes
 * the logging thread wait for it, as before. This module never touches `process.stderr`: in Bun that stream sets
 * O_NONBLOCK on the descriptor, which every process sharing the pipe would see, and its queue (an earlier version
 * used it for a full pipe) could tear, reorder or lose lines written from workers and could end the process on EPIPE.
 */
import * as nodeFs from "node:fs";

/** The process's stderr. */
const STDERR_FD = 2;

/** How long a write that found stderr non-blocking and full waits before trying again (ms). */
const FULL_PIPE_PAUSE_MS = 1;

/** Encodes the lines. */
const encoder = new TextEncoder();

/** A cell nothing ever notifies: {@link Atomics.wait} on it is a sleep of the thread. */
const pauseCell = new Int32Array(new SharedArrayBuffer(Int32Array.BYTES_PER_ELEMENT));

/** Whether `e` says a non-blocking descriptor cannot take more now. */
function wouldBlock(e: unknown): boolean {
  const code = (e as { code?: unknown }).code;
  return code === "EAGAIN" || code === "EWOULDBLOCK";
}

/**
 * Writes `line` and a newline to stderr before it returns, as one write where it can (a pipe takes up to 4096
 * bytes whole, so short lines of several threads do not mix). When another process made the descriptor
 * non-blocking and the pipe is full, the thread waits and writes the rest, as a blocking write would. A stderr that
 * is gone (EPIPE, EBADF) drops the line, as `console` does: logging never fails the caller.
 */
export function writeStderrLine(line: string): void {
  const bytes = encoder.encode(`${line}\n`);
  let done = 0;
  while (done < bytes.length) {
    try {
      done += nodeFs.writeSync(STDERR_FD, bytes, done, bytes.length - done);
    } catch (e) {
      if (!wouldBlock(e)) return;
      Atomics.wait(pauseCell, 0, 0, FULL_PIPE_PAUSE_MS);
    }
  }
}
