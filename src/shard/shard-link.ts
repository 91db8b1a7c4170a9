/**
 * The control channel between the shard host (main thread) and one shard: a MessagePort carrying tagged messages
 * and request/reply calls. A call's failure comes back as the same {@link KafkaError} (code and message) or as an
 * Error with the message. Messages on one link keep their order, so a reply never overtakes the metadata changes
 * posted before it.
 */
import type { PortLike } from "../platform/port-connection.ts";
import type { Transfer } from "../platform/worker.ts";
import { KafkaError } from "../protocol/errors.ts";

/** A tagged message of a link (`t` names it). */
export interface LinkMessage {
  /** The message's kind. */
  t: string;
  /** Its fields. */
  [field: string]: unknown;
}

type Reply = { t: "reply"; id: number; ok: true; value: unknown } | { t: "reply"; id: number; ok: false; code: number | null; message: string };

/** One end of a control link. */
export class ShardLink {
  private nextId = 1;
  private readonly pending = new Map<number, { resolve(v: unknown): void; reject(e: Error): void }>();
  private readonly receivers = new Map<string, (m: LinkMessage) => void>();
  private serveCall: ((op: string, args: unknown[]) => Promise<unknown>) | null = null;
  private closed = false;

  constructor(private readonly port: PortLike) {
    port.onmessage = (e: MessageEvent) => this.receive(e.data as LinkMessage);
    port.start?.();
  }

  /** Posts a message; `transfer` moves buffers and ports with it. */
  post(message: LinkMessage, transfer: Transfer[] = []): void {
    if (!this.closed) this.port.postMessage(message, transfer as Transferable[]);
  }

  /** Sets the receiver of messages tagged `t`. */
  on(t: string, receive: (m: LinkMessage) => void): void {
    this.receivers.set(t, receive);
  }

  /** Answers the other end's calls with `serve` (its result or rejection goes back). */
  serve(serve: (op: string, args: unknown[]) => Promise<unknown>): void {
    this.serveCall = serve;
  }

  /** Calls `op` on the other end; resolves with its result. */
  call<T>(op: string, args: unknown[]): Promise<T> {
    if (this.closed) return Promise.reject(new Error(`shard link closed (call ${op})`));
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      this.port.postMessage({ t: "call", id, op, args });
    });
  }

  /** Closes the link; calls still waiting fail. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.port.onmessage = null;
    this.port.close();
    for (const p of this.pending.values()) p.reject(new Error("shard link closed"));
    this.pending.clear();
  }

  private receive(m: LinkMessage): void {
    if (this.closed) return;
    if (m.t === "reply") {
      const r = m as unknown as Reply;
      const p = this.pending.get(r.id);
      if (p === undefined) return;
      this.pending.delete(r.id);
      if (r.ok) p.resolve(r.value);
      else p.reject(r.code === null ? new Error(r.message) : new KafkaError(r.code, r.message));
      return;
    }
    if (m.t === "call") {
      const { id, op, args } = m as { t: "call"; id: number; op: string; args: unknown[] };
      const serve = this.serveCall;
      Promise.resolve()
        .then(() => {
          if (serve === null) throw new Error(`no service for ${op}`);
          return serve(op, args);
        })
        .then(
        (value) => this.post({ t: "reply", id, ok: true, value }),
        (e: unknown) => this.post({ t: "reply", id, ok: false, code: e instanceof KafkaError ? e.code : null, message: e instanceof Error ? e.message : String(e) }),
      );
      return;
    }
    const receive = this.receivers.get(m.t);
    if (receive === undefined) throw new Error(`shard link: no receiver for '${m.t}'`);
    receive(m);
  }
}
