/** Fault injection for shard tests: a shard's control port that never hears, or hears late, some of the host's messages. */
import type { PortLike } from "../../src/platform/port-connection.ts";

/** A host message's kind: `t` for posts, `op` for calls. */
type HostMessage = { t?: string; op?: string };

/** `port` whose incoming messages go through `deliver(message data, pass it on)`. */
function portIntercepting(port: PortLike, deliver: (data: HostMessage, pass: () => void) => void): PortLike {
  let receive: ((e: MessageEvent) => void) | null = null;
  return {
    postMessage: (m, t) => port.postMessage(m, t),
    close: () => port.close(),
    start: () => port.start?.(),
    get onmessage() {
      return receive;
    },
    set onmessage(f) {
      receive = f;
      port.onmessage = f === null ? null : (e: MessageEvent) => deliver(e.data, () => f(e));
    },
  };
}

/** `port` with every incoming message for which `drop(message data)` holds dropped. */
export function portDropping(port: PortLike, drop: (data: HostMessage) => boolean): PortLike {
  return portIntercepting(port, (data, pass) => (drop(data) ? undefined : pass()));
}

/** `port` with every incoming message for which `hold(message data)` holds passed on `ms` later. */
export function portDelaying(port: PortLike, hold: (data: HostMessage) => boolean, ms: number): PortLike {
  return portIntercepting(port, (data, pass) => (hold(data) ? void setTimeout(pass, ms) : pass()));
}

/** `port` that throws `message` (uncaught in its thread: the thread ends) on the first incoming message for which `fail(message data)` holds. */
export function portFailing(port: PortLike, fail: (data: HostMessage) => boolean, message: string): PortLike {
  return portIntercepting(port, (data, pass) => {
    if (fail(data)) throw new Error(message);
    pass();
  });
}
