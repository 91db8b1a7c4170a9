/**
 * A small HTTP/1.1 server behind one interface, so the metrics, health and console code above it is
 * runtime-neutral. It uses `node:http`, which Bun, Deno and `bun build --compile` executables all provide.
 */
import { Buffer } from "node:buffer";
import * as http from "node:http";
import * as https from "node:https";
import type { TlsServerOptions } from "./net.ts";

/** One HTTP request as the routes see it. */
export interface HttpRequest {
  /** GET, POST, ... */
  readonly method: string;
  /** The path without the query string, e.g. `/v1/topics`. */
  readonly path: string;
  /** Query parameters. */
  readonly query: URLSearchParams;
  /** Request headers (lower-case names). */
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  /** The whole body (read up to the server's `maxBodyBytes`). */
  readonly body: Uint8Array;
  /** The client's IP address. */
  readonly remoteIp: string;
}

/** One HTTP response. */
export interface HttpResponse {
  /** Status code. */
  status: number;
  /** Response headers. */
  headers?: Record<string, string>;
  /** Body. */
  body: string | Uint8Array;
}

/** A listening HTTP server. */
export interface HttpListener {
  /** The bound host. */
  readonly host: string;
  /** The bound port (the OS-chosen one when 0 was asked). */
  readonly port: number;
  /** Stops accepting and closes open connections. */
  close(): Promise<void>;
}

/** Handles one request. */
export type HttpRoute = (req: HttpRequest) => HttpResponse | Promise<HttpResponse>;

/**
 * Listens on host:port (0 = OS-chosen), over TLS (HTTPS) when `tls` is given; bodies above `maxBodyBytes` get 413
 * without reaching `route`.
 */
export function serveHttp(host: string, port: number, maxBodyBytes: number, route: HttpRoute, onError: (e: unknown) => void, tls: TlsServerOptions | null = null): Promise<HttpListener> {
  const handle = (req: http.IncomingMessage, res: http.ServerResponse) => {
    const chunks: Uint8Array[] = [];
    let size = 0;
    let tooLarge = false;
    req.on("data", (c: Uint8Array) => {
      size += c.length;
      if (size > maxBodyBytes) tooLarge = true;
      else chunks.push(c);
    });
    req.on("error", () => res.destroy());
    req.on("end", () => {
      const send = (r: HttpResponse) => {
        res.writeHead(r.status, { "content-length": String(typeof r.body === "string" ? Buffer.byteLength(r.body) : r.body.length), ...r.headers });
        res.end(r.body);
      };
      if (tooLarge) return send({ status: 413, body: `request body above ${maxBodyBytes} bytes\n` });
      const url = new URL(req.url ?? "/", "http://localhost");
      const body = chunks.length === 1 ? chunks[0] : Buffer.concat(chunks);
      const request: HttpRequest = { method: req.method ?? "GET", path: url.pathname, query: url.searchParams, headers: req.headers, body, remoteIp: req.socket.remoteAddress ?? "" };
      const fail = (e: unknown) => {
        onError(e);
        if (!res.headersSent) send({ status: 500, headers: { "content-type": "text/plain" }, body: "internal error\n" });
      };
      try {
        const out = route(request);
        if (out instanceof Promise) out.then(send, fail);
        else send(out);
      } catch (e) {
        fail(e);
      }
    });
  };
  const server =
    tls === null
      ? http.createServer(handle)
      : https.createServer(
          { key: tls.key, cert: tls.cert, passphrase: tls.passphrase, ca: tls.ca, requestCert: tls.clientAuth !== "none", rejectUnauthorized: tls.clientAuth === "required" },
          handle,
        );
  if (tls?.onHandshakeError) server.on("tlsClientError", (e: Error, socket: { remoteAddress?: string; remotePort?: number }) => tls.onHandshakeError!(`${socket.remoteAddress}:${socket.remotePort}`, e.message));
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      server.off("error", reject);
      const addr = server.address();
      const bound = typeof addr === "object" && addr !== null ? addr.port : port;
      resolve({
        host,
        port: bound,
        close: () =>
          new Promise<void>((done) => {
            server.close(() => done());
            server.closeAllConnections?.();
          }),
      });
    });
  });
}
