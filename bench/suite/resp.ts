/**
 * A minimal Redis client for the bench: RESP2 commands encoded once into buffers, written pipelined over one TCP
 * connection, and an incremental reply parser (a stack of open arrays, so a large XREAD reply arriving in many
 * chunks is parsed once, never re-scanned). Bulk strings are views of the received bytes.
 */
import * as net from "node:net";

/** A parsed RESP2 reply. */
export type RespValue = string | number | Buffer | null | RespError | RespValue[];

/** An error reply. */
export class RespError extends Error {}

/** Most pending pipelines one connection holds. */
const MAX_PENDING = 100_000;
/** Deepest reply nesting accepted. */
const MAX_DEPTH = 16;

/** Encodes one command as a RESP array of bulk strings. */
export function encodeCommand(args: readonly (string | Uint8Array)[]): Buffer {
  const parts: Buffer[] = [Buffer.from(`*${args.length}\r\n`)];
  for (const a of args) {
    const b = typeof a === "string" ? Buffer.from(a) : Buffer.from(a.buffer, a.byteOffset, a.byteLength);
    parts.push(Buffer.from(`$${b.length}\r\n`), b, Buffer.from("\r\n"));
  }
  return Buffer.concat(parts);
}

interface Pending {
  remaining: number;
  values: RespValue[] | null;
  resolve: (values: RespValue[] | null) => void;
}

/** One connection. */
export class RespConnection {
  /** Error replies received. */
  errors = 0;
  /** First error reply. */
  firstError: string | null = null;
  private readonly sock: net.Socket;
  private buf: Buffer = Buffer.alloc(0);
  private pos = 0;
  private readonly stack: { arr: RespValue[]; remaining: number }[] = [];
  private readonly pending: Pending[] = [];
  private head = 0;

  private constructor(sock: net.Socket) {
    this.sock = sock;
    sock.on("data", (b: Buffer) => this.onData(b));
  }

  /** Connects to 127.0.0.1:port. */
  static connect(port: number): Promise<RespConnection> {
    return new Promise((resolve, reject) => {
      const s = net.connect({ host: "127.0.0.1", port }, () => resolve(new RespConnection(s)));
      s.setNoDelay(true);
      s.once("error", reject);
    });
  }

  /** Writes `bytes` holding `commands` commands; resolves after that many replies (values kept if `keep`). */
  pipeline(bytes: Uint8Array, commands: number, keep = false): Promise<RespValue[] | null> {
    if (this.pending.length - this.head >= MAX_PENDING) throw new Error("too many pipelines in flight");
    return new Promise((resolve) => {
      this.pending.push({ remaining: commands, values: keep ? [] : null, resolve });
      this.sock.write(bytes);
    });
  }

  /** Sends one command and resolves with its reply (error replies resolve as RespError). */
  async call(args: readonly (string | Uint8Array)[]): Promise<RespValue> {
    const v = await this.pipeline(encodeCommand(args), 1, true);
    return v![0];
  }

  /** Closes the connection. */
  close(): void {
    this.sock.destroy();
  }

  private deliver(v: RespValue): void {
    if (v instanceof RespError) {
      this.errors++;
      this.firstError ??= v.message;
    }
    const p = this.pending[this.head];
    if (p === undefined) return;
    p.values?.push(v);
    if (--p.remaining === 0) {
      this.head++;
      if (this.head > 1024 && this.head * 2 > this.pending.length) {
        this.pending.splice(0, this.head);
        this.head = 0;
      }
      p.resolve(p.values);
    }
  }

  private onData(chunk: Buffer): void {
    this.buf = this.pos < this.buf.length ? Buffer.concat([this.buf.subarray(this.pos), chunk]) : chunk;
    this.pos = 0;
    const b = this.buf;
    // Each iteration consumes one element or stops at an incomplete one.
    while (this.pos < b.length) {
      const type = b[this.pos];
      const eol = b.indexOf(13, this.pos + 1);
      if (eol < 0 || eol + 1 >= b.length) return;
      const line = b.toString("latin1", this.pos + 1, eol);
      let value: RespValue;
      let next = eol + 2;
      if (type === 36 /* $ */) {
        const len = Number(line);
        if (len < 0) value = null;
        else {
          if (next + len + 2 > b.length) return;
          value = b.subarray(next, next + len);
          next += len + 2;
        }
      } else if (type === 42 /* * */) {
        const n = Number(line);
        this.pos = next;
        if (n > 0) {
          if (this.stack.length >= MAX_DEPTH) throw new Error("RESP reply nested too deeply");
          this.stack.push({ arr: [], remaining: n });
          continue;
        }
        value = n < 0 ? null : [];
      } else if (type === 43 /* + */) value = line;
      else if (type === 45 /* - */) value = new RespError(line);
      else if (type === 58 /* : */) value = Number(line);
      else throw new Error(`bad RESP type byte ${type}`);
      this.pos = next;
      // Close every array this value completes.
      for (;;) {
        const top = this.stack[this.stack.length - 1];
        if (top === undefined) {
          this.deliver(value);
          break;
        }
        top.arr.push(value);
        if (--top.remaining > 0) break;
        this.stack.pop();
        value = top.arr;
      }
    }
  }
}
