/**
 * Two ends of a connection inside one thread (a shard's own front to its own broker): bytes written on one end are
 * handed to the other end's handler on a microtask, in order, without copying and without a MessagePort. As with a
 * socket, written views must not change after `write`. A paused end keeps what arrives until it resumes; closing
 * one end hands it nothing more and delivers what it wrote to the other end first (paused or not), then both ends
 * see the close once.
 */
import type { Connection, ConnectionHandler } from "../platform/net.ts";

/** What one end's {@link Connection} says of the other end. */
export interface LocalEndInfo {
  /** "host:port" shown to the peer. */
  remote: string;
  /** The address part. */
  remoteIp: string;
  /** The principal the peer's session takes (a front's authenticated client). */
  principal?: string;
  /** The listener name the peer's session takes. */
  listenerName?: string;
  /** The peer maps segment files itself (a front): Fetch answers name where records lie (`Connection.fileSlices`). */
  fileSlices?: boolean;
  /** The peer (a front) charges `consumer_byte_rate` for its Fetch answers itself (`Connection.fetchQuotaAtFront`). */
  fetchQuotaAtFront?: boolean;
  /** The peer (a front) made the whole-request Produce checks itself (`Connection.produceCheckedAtFront`). */
  produceCheckedAtFront?: boolean;
}

interface End {
  conn: Connection;
  handler: ConnectionHandler | null;
  inbox: Uint8Array[];
  paused: boolean;
  scheduled: boolean;
}

/**
 * Connects `onFirst` and `onSecond`, each with its own end; `first` and `second` are what each end's connection says
 * of its peer (remote address, and for a broker's end the front's client principal and listener name).
 */
export function localConnectionPair(first: LocalEndInfo, second: LocalEndInfo, onFirst: (c: Connection) => ConnectionHandler, onSecond: (c: Connection) => ConnectionHandler): void {
  let closed = false;
  const ends: End[] = [];
  const deliver = (to: End) => {
    to.scheduled = false;
    while (!to.paused && to.inbox.length > 0 && to.handler !== null) to.handler.onData(to.inbox.shift()!);
  };
  const schedule = (to: End) => {
    if (to.scheduled) return;
    to.scheduled = true;
    queueMicrotask(() => deliver(to));
  };
  const make = (peerIndex: number, seenAs: LocalEndInfo): End => {
    const end: End = {
      handler: null,
      inbox: [],
      paused: false,
      scheduled: false,
      conn: {
        remote: seenAs.remote,
        remoteIp: seenAs.remoteIp,
        peerSubject: null,
        principal: seenAs.principal,
        listenerName: seenAs.listenerName,
        fileSlices: seenAs.fileSlices,
        fetchQuotaAtFront: seenAs.fetchQuotaAtFront,
        produceCheckedAtFront: seenAs.produceCheckedAtFront,
        write(chunks) {
          if (closed) return true;
          const peer = ends[peerIndex];
          for (const c of chunks) if (c.length > 0) peer.inbox.push(c);
          schedule(peer);
          return true;
        },
        pause() {
          end.paused = true;
        },
        resume() {
          if (!end.paused) return;
          end.paused = false;
          schedule(end);
        },
        close() {
          if (closed) return;
          closed = true;
          // This end is handed nothing more; what it wrote is still handed to its peer, paused or not (a graceful
          // close, as a port connection's reader gets what its peer wrote before closing), then both ends close.
          end.inbox.length = 0;
          queueMicrotask(() => {
            const peer = ends[peerIndex];
            peer.paused = false;
            while (peer.inbox.length > 0 && peer.handler !== null) peer.handler.onData(peer.inbox.shift()!);
            for (const e of ends) e.handler?.onClose();
          });
        },
      },
    };
    return end;
  };
  ends.push(make(1, first), make(0, second));
  ends[0].handler = onFirst(ends[0].conn);
  ends[1].handler = onSecond(ends[1].conn);
}
