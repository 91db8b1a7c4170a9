/**
 * A {@link Connection} stand-in for protocol tests: keeps the chunks of every write as they were handed over (as a
 * socket's queue holds them until sent), and records pause/resume/close.
 */
import type { Connection } from "../../src/platform/net.ts";

/** A connection that records its writes' chunks, never refusing one (no back-pressure). */
export class RecordingConnection implements Connection {
  readonly remote: string;
  readonly remoteIp: string;
  /** The chunks of each write, in order. */
  readonly writes: Uint8Array[][] = [];
  closed = false;
  paused = false;

  constructor(remote = "10.0.0.9:4000") {
    this.remote = remote;
    this.remoteIp = remote.slice(0, remote.lastIndexOf(":"));
  }
  write(chunks: readonly Uint8Array[]): boolean {
    this.writes.push([...chunks]);
    return true;
  }
  pause(): void {
    this.paused = true;
  }
  resume(): void {
    this.paused = false;
  }
  close(): void {
    this.closed = true;
  }
}
