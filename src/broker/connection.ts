/**
 * One client connection: splits the byte stream into frames, decodes each request with the generated codecs,
 * dispatches it to its handler in arrival order, and writes responses back in request order even when handlers
 * finish out of order (a long-polling Fetch, an acks=all Produce waiting for fsync).
 *
 * Limits: a frame larger than `socket.request.max.bytes` or shorter than a header closes the connection; at most
 * `queued.max.requests` requests are in flight before reading pauses.
 */
import type { Connection, ConnectionHandler } from "../platform/net.ts";
import { MalformedFrameError, Reader, Writer } from "../protocol/wire.ts";
import { API_CODECS, requestHeaderVersion, responseHeaderVersion } from "../protocol/generated/index.ts";
import { readRequestHeader, writeResponseHeader } from "../protocol/generated/headers.ts";
import { NO_RESPONSE, type ApiHandler, type RequestContext } from "./api-handler.ts";
import { ErrorCode } from "../protocol/errors.ts";
import { countResponseErrors, type BrokerMetrics } from "../http/metrics/broker-metrics.ts";

/** Smallest legal frame: apiKey + apiVersion + correlationId + clientId length. */
const MIN_FRAME_BYTES = 10;

/** Settings and collaborators of a connection. */
export interface ConnectionOptions {
  /** Handlers indexed by API key. */
  handlers: ReadonlyArray<ApiHandler | undefined>;
  /** `socket.request.max.bytes`. */
  maxRequestBytes: number;
  /** `queued.max.requests` per connection. */
  maxInFlight: number;
  /** Monotonic clock. */
  monotonicMs(): number;
  /** Reports a closed-by-us connection or a handler failure. */
  log(level: "info" | "warn" | "error", msg: string): void;
  /** Request, error and connection counters for `/metrics` (src/http/metrics), when kept. */
  metrics?: BrokerMetrics;
}

interface Slot {
  done: boolean;
  frame: Uint8Array[] | null;
  /** Metrics: API key, and monotonic ms when the frame arrived, the handler returned, and the response was ready. */
  apiKey: number;
  arrivedMs: number;
  startMs: number;
  localDoneMs: number;
  completedMs: number;
}

/** Builds the per-connection handler for the platform's listener. */
export function kafkaConnection(conn: Connection, opts: ConnectionOptions): ConnectionHandler {
  let pending: Uint8Array | null = null; // bytes of an incomplete frame header or body
  let frameBuf: Uint8Array | null = null; // assembling a frame that spans chunks
  let frameFill = 0;
  let closed = false;
  let closedCounted = false;
  let paused = false;
  let socketBlocked = false;
  const slots: Slot[] = [];
  const writer = new Writer(64 * 1024);
  writer.dropUnsupportedFields = true;
  const metrics = opts.metrics;
  if (metrics !== undefined) {
    metrics.connections++;
    metrics.connectionsCreated++;
  }

  const fail = (why: string) => {
    if (closed) return;
    opts.log("warn", `closing connection ${conn.remote}: ${why}`);
    closed = true;
    conn.close(false);
  };

  const updatePause = () => {
    const shouldPause = socketBlocked || slots.length >= opts.maxInFlight;
    if (shouldPause && !paused) {
      paused = true;
      conn.pause();
    } else if (!shouldPause && paused) {
      paused = false;
      conn.resume();
    }
  };

  const flushSlots = () => {
    while (slots.length > 0 && slots[0].done) {
      const s = slots.shift()!;
      const sendStart = metrics !== undefined ? opts.monotonicMs() : 0;
      if (s.frame !== null && !closed) {
        if (!conn.write(s.frame)) socketBlocked = true;
      }
      if (metrics !== undefined) {
        const end = opts.monotonicMs();
        metrics.requestDone(s.apiKey, s.startMs - s.arrivedMs, s.localDoneMs - s.startMs, s.completedMs - s.localDoneMs, sendStart - s.completedMs, end - sendStart, end - s.arrivedMs);
      }
    }
    updatePause();
  };

  const encode = (ctx: RequestContext, response: unknown): Uint8Array[] => {
    const apiKey = ctx.header.requestApiKey;
    const codec = API_CODECS[apiKey]!;
    writer.beginMessage();
    writer.reserve(4);
    writeResponseHeader(writer, responseHeaderVersion(apiKey, ctx.apiVersion), { correlationId: ctx.header.correlationId });
    codec.writeResponse(writer, ctx.apiVersion, response);
    const size = writer.length() - 4;
    const chunks = writer.finish().slice();
    new DataView(chunks[0].buffer, chunks[0].byteOffset, 4).setInt32(0, size);
    return chunks;
  };

  const handleFrame = (frame: Uint8Array, arrivedMs: number) => {
    const r = new Reader(frame);
    const apiKey = r.int16();
    const apiVersion = r.int16();
    const codec = API_CODECS[apiKey];
    const handler = opts.handlers[apiKey];
    if (codec === undefined || handler === undefined) {
      return fail(`unsupported API key ${apiKey}`);
    }
    // ApiVersions newer than ours is answered at v0 (KIP-511) so the client can retry with a version we know.
    const decodeVersion = apiKey === 18 && apiVersion > handler.maxVersion ? 0 : apiVersion;
    if (decodeVersion < codec.minVersion || decodeVersion > codec.maxVersion) {
      return fail(`unsupported version ${apiVersion} of API ${codec.name}`);
    }
    r.pos = 0;
    const header = readRequestHeader(r, requestHeaderVersion(apiKey, decodeVersion));
    let request: unknown;
    let unsupported = false;
    if (decodeVersion !== apiVersion) {
      request = { __unsupportedVersion: apiVersion };
    } else if (apiVersion < handler.minVersion || apiVersion > handler.maxVersion) {
      // A version the schemas define but this broker does not serve: answer with UNSUPPORTED_VERSION in the
      // response's top-level error code (other fields at their defaults) without running the handler.
      unsupported = true;
      request = null;
    } else {
      request = codec.readRequest(r, apiVersion);
    }
    const ctx: RequestContext = { header, apiVersion: decodeVersion, remote: conn.remote, receivedAtMs: opts.monotonicMs() };
    const slot: Slot = { done: false, frame: null, apiKey, arrivedMs, startMs: ctx.receivedAtMs, localDoneMs: ctx.receivedAtMs, completedMs: ctx.receivedAtMs };
    slots.push(slot);
    const complete = (res: unknown) => {
      if (metrics !== undefined) {
        slot.completedMs = opts.monotonicMs();
        if (res !== NO_RESPONSE) countResponseErrors(metrics, apiKey, res);
      }
      if (res !== NO_RESPONSE) {
        try {
          slot.frame = encode(ctx, res);
        } catch (e) {
          opts.log("error", `encoding ${codec.name} v${ctx.apiVersion} response failed: ${(e as Error).stack ?? e}`);
          slot.done = true;
          return fail("internal error encoding a response");
        }
      }
      slot.done = true;
      flushSlots();
    };
    const onError = (e: unknown) => {
      opts.log("error", `${codec.name} v${apiVersion} handler failed: ${(e as Error)?.stack ?? e}`);
      slot.done = true;
      fail("internal error in a handler");
    };
    if (unsupported) return complete({ errorCode: ErrorCode.UNSUPPORTED_VERSION });
    try {
      const result = handler.handle(ctx, request);
      if (metrics !== undefined) slot.localDoneMs = opts.monotonicMs();
      if (result instanceof Promise) result.then(complete, onError);
      else complete(result);
    } catch (e) {
      onError(e);
    }
  };

  const processFrame = (frame: Uint8Array) => {
    try {
      handleFrame(frame, metrics !== undefined ? opts.monotonicMs() : 0);
    } catch (e) {
      if (e instanceof MalformedFrameError) fail(`malformed request: ${e.message}`);
      else if ((e as Error)?.name === "UnsupportedVersionError") fail((e as Error).message);
      else {
        opts.log("error", `request failed: ${(e as Error)?.stack ?? e}`);
        fail("internal error");
      }
    }
  };

  return {
    onData(chunk: Uint8Array) {
      if (closed) return;
      let data = chunk;
      let at = 0;
      while (!closed && at < data.length) {
        if (frameBuf !== null) {
          const n = Math.min(frameBuf.length - frameFill, data.length - at);
          frameBuf.set(data.subarray(at, at + n), frameFill);
          frameFill += n;
          at += n;
          if (frameFill === frameBuf.length) {
            const f = frameBuf;
            frameBuf = null;
            processFrame(f);
          }
          continue;
        }
        if (pending !== null) {
          const merged = new Uint8Array(pending.length + data.length - at);
          merged.set(pending, 0);
          merged.set(data.subarray(at), pending.length);
          pending = null;
          data = merged;
          at = 0;
        }
        if (data.length - at < 4) {
          pending = data.slice(at);
          return;
        }
        const size = ((data[at] << 24) | (data[at + 1] << 16) | (data[at + 2] << 8) | data[at + 3]) | 0;
        if (size < MIN_FRAME_BYTES || size > opts.maxRequestBytes) {
          return fail(`frame size ${size} outside [${MIN_FRAME_BYTES}, ${opts.maxRequestBytes}]`);
        }
        at += 4;
        if (data.length - at >= size) {
          const f = data.subarray(at, at + size);
          at += size;
          processFrame(f);
        } else {
          frameBuf = new Uint8Array(size);
          frameFill = 0;
        }
      }
      updatePause();
    },
    onDrain() {
      socketBlocked = false;
      updatePause();
    },
    onClose() {
      if (metrics !== undefined && !closedCounted) {
        closedCounted = true;
        metrics.connections--;
        metrics.connectionsClosed++;
      }
      closed = true;
      slots.length = 0;
    },
  };
}
