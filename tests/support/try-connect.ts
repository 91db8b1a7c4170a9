/**
 * Plain TCP connects to a Kafka listener for the connection-limit tests: whether a connection is accepted, or
 * refused (ECONNREFUSED: the listener stopped accepting at a limit and closed its listening socket).
 */
import * as net from "node:net";

/** Connects and resolves "connected" or the error code (ECONNREFUSED when the listener is paused). */
export function tryConnect(port: number): Promise<{ outcome: string; sock: net.Socket }> {
  return new Promise((resolve) => {
    const sock = net.connect({ host: "127.0.0.1", port });
    sock.once("connect", () => resolve({ outcome: "connected", sock }));
    sock.once("error", (e) => resolve({ outcome: (e as NodeJS.ErrnoException).code ?? String(e), sock }));
  });
}

/**
 * Connects until a connection is accepted, at most 100 tries 20 ms apart (a paused listener resumes a moment after
 * the close that frees it); resolves the last outcome. Every socket joins `socks`, for the test to destroy.
 */
export async function connectOnceAccepting(port: number, socks: net.Socket[]): Promise<string> {
  let outcome = "";
  for (let i = 0; i < 100 && outcome !== "connected"; i++) {
    const r = await tryConnect(port);
    socks.push(r.sock);
    outcome = r.outcome;
    if (outcome !== "connected") await new Promise((res) => setTimeout(res, 20));
  }
  return outcome;
}
