/** Fault injection for shard tests: a shard's control port that never hears some of the host's messages. */
import type { PortLike } from "../../src/platform/port-connection.ts";

/** `port` with every incoming message for which `drop(message data)` holds dropped. */
export function portDropping(port: PortLike, drop: (data: { t?: string; op?: string }) => boolean): PortLike {
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
      port.onmessage = f === null ? null : (e: MessageEvent) => (drop(e.data) ? undefined : f(e));
    },
  };
}
