/**
 * HTTP for the etcd client and the OAUTHBEARER JWKS fetch, behind one small interface: JSON POSTs with a deadline,
 * POSTs whose response is a long-lived byte stream (etcd watches), and GETs with a deadline. The real implementation is the web-standard `fetch`, which Bun, Deno and
 * the `bun build --compile` executable all provide; tests and the simulation can inject their own.
 */

/** A finished HTTP exchange. */
export interface HttpReply {
  /** HTTP status code. */
  status: number;
  /** The whole body as text. */
  text: string;
}

/** A streamed HTTP response: its status and an iterator over body chunks. */
export interface HttpStream {
  /** HTTP status code. */
  status: number;
  /** Body chunks as they arrive; ends when the server closes, throws on a network error or abort. */
  chunks: AsyncIterable<Uint8Array>;
}

/** The HTTP calls the cluster layer needs. */
export interface HttpTransport {
  /** POSTs `body` (JSON text) to `url`; rejects on a network error or when `timeoutMs` passes. */
  postJson(url: string, body: string, timeoutMs: number): Promise<HttpReply>;
  /** POSTs `body` and streams the response until it ends or `signal` aborts. */
  postStream(url: string, body: string, signal: AbortSignal): Promise<HttpStream>;
}

/** A GET with a deadline (https:// verified against the runtime's trusted CAs). */
export type HttpGet = (url: string, timeoutMs: number) => Promise<HttpReply>;

/** The real GET: the runtime's `fetch`. */
export const fetchGet: HttpGet = async (url, timeoutMs) => {
  const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
  return { status: res.status, text: await res.text() };
};

const JSON_HEADERS = { "content-type": "application/json" };

async function* readerChunks(body: ReadableStream<Uint8Array> | null): AsyncIterable<Uint8Array> {
  if (!body) return;
  const reader = body.getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      if (value && value.length > 0) yield value;
    }
  } finally {
    reader.releaseLock();
  }
}

/** The real transport: the runtime's `fetch`. */
export const fetchTransport: HttpTransport = {
  async postJson(url, body, timeoutMs) {
    const res = await fetch(url, { method: "POST", headers: JSON_HEADERS, body, signal: AbortSignal.timeout(timeoutMs) });
    return { status: res.status, text: await res.text() };
  },
  async postStream(url, body, signal) {
    const res = await fetch(url, { method: "POST", headers: JSON_HEADERS, body, signal });
    return { status: res.status, chunks: readerChunks(res.body) };
  },
};
