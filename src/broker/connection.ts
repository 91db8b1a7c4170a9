/**
 * One client connection: splits the byte stream into frames, decodes each request with the generated codecs,
 * dispatches it to its handler in arrival order, and writes responses back in request order even when handlers
 * finish out of order (a long-polling Fetch, an acks=all Produce waiting for fsync).
 *
 * Limits: framing is {@link FrameSplitter}'s (a frame announcing more than `socket.request.max.bytes`, checked
 * before anything is allocated, or less than a header closes the connection; memory follows the bytes that arrived).
 * Dispatch stops between frames, and reading pauses (TCP back-pressure), while `queued.max.requests.per.connection`
 * requests are in flight, while the socket's send buffer is full, or while the broker-wide {@link RequestBudget} is
 * used up. Idle and half-sent connections are closed by {@link ConnectionTimeouts}.
 *
 * A handler that throws answers that one request with UNKNOWN_SERVER_ERROR (a response shaped for the API and
 * version, see {@link errorResponse}), logged once; the connection stays open.
 */
import type { Connection, ConnectionHandler, SharedRead } from "../platform/net.ts";
import { PORT_CONNECTION_OWN_FRAME_MIN_BYTES } from "../platform/port-connection.ts";
import { MalformedFrameError, Reader, Writer } from "../protocol/wire.ts";
import { API_CODECS, requestHeaderVersion } from "../protocol/generated/index.ts";
import { readRequestHeader } from "../protocol/generated/headers.ts";
import { encodeResponseFrame } from "../protocol/frame-encoding.ts";
import { CloseConnection, NO_RESPONSE, type ApiHandler, type RequestContext } from "./api-handler.ts";
import { ErrorCode } from "../protocol/errors.ts";
import { errorResponse } from "./error-response.ts";
import type { RequestBudget } from "./request-budget.ts";
import type { ConnectionTimeouts, TimedConnection } from "./connection-timeouts.ts";
import { FrameSplitter, MIN_FRAME_BYTES } from "./frame-splitter.ts";
import type { FrameBufferPool } from "./frame-buffer-pool.ts";
import { countResponseErrors, type BrokerMetrics } from "../http/metrics/broker-metrics.ts";
import type { SecuritySession } from "../security/session.ts";


/** Settings and collaborators of a connection. */
export interface ConnectionOptions {
  /** Handlers indexed by API key. */
  handlers: ReadonlyArray<ApiHandler | undefined>;
  /** `socket.request.max.bytes`. */
  maxRequestBytes: number;
  /** `queued.max.requests.per.connection`: pipelined requests in flight before this connection's reads pause. */
  maxInFlight: number;
  /** Broker-wide in-flight requests and bytes (`queued.max.requests`, `queued.max.request.bytes`). */
  budget: RequestBudget;
  /** Idle and request-read deadlines. */
  timeouts: ConnectionTimeouts;
  /** Response encoder shared by every connection (a bump allocator: earlier responses stay valid). */
  writer: Writer;
  /** Monotonic clock. */
  monotonicMs(): number;
  /** Reports a closed-by-us connection or a handler failure. */
  log(level: "info" | "warn" | "error", msg: string): void;
  /** Request, error and connection counters for `/metrics` (src/http/metrics), when kept. */
  metrics?: BrokerMetrics;
  /** Builds the connection's security session (listener, principal, SASL state; src/security), when the listener has one. */
  security?: (conn: Connection) => SecuritySession;
  /** Runs `fn` after `ms` (ends a client quota's mute, KIP-219). */
  setTimer?: (fn: () => void, ms: number) => unknown;
  /** Told once when the connection closed, from either side (the sharded front closes its shard channels). */
  onClosed?: (session: SecuritySession | undefined, remote: string) => void;
  /** Free buffers for large frames arriving in several chunks (Produce frames go back once answered). */
  framePool?: FrameBufferPool;
  /**
   * A sharded node's front: follow the frames cut from each socket read (a chunk that is a whole ArrayBuffer), so
   * that when all of them go to shards in messages of their own the read's buffer moves with the last instead of
   * being copied ({@link TakenFrame.read}).
   */
  followReads?: boolean;
  /** Told each time a followed read moved with its last frame. */
  onReadMoved?: () => void;
}

/** Builds the response encoder to share between connections. */
export function responseWriter(): Writer {
  const w = new Writer(64 * 1024);
  w.dropUnsupportedFields = true;
  return w;
}

interface Slot {
  done: boolean;
  frame: Uint8Array[] | null;
  /** Budget bytes of the request frame, released once with the request. */
  bytes: number;
  released: boolean;
  /** Metrics: API key, and monotonic ms when the frame arrived, the handler returned, and the response was ready. */
  apiKey: number;
  arrivedMs: number;
  startMs: number;
  localDoneMs: number;
  completedMs: number;
  /** Metrics: ms spent encoding the response (part of the broker's own time). */
  encodeMs: number;
  /** Metrics: arrival (monotonic ms) of the request whose handler woke this parked one, or -1. */
  wokenByArrivalMs: number;
}

/** Most socket reads whose frames a connection follows at once for {@link SocketRead} (older ones never move). */
const OPEN_READS_MAX = 4;

/**
 * A socket read (a chunk that is its own whole ArrayBuffer) and the frames cut from it as views: once the framing
 * keeps nothing of it ({@link SocketRead.sealed}) and every one of those frames was taken by its handler and sent to
 * another thread in a message of its own, the last one sent takes the buffer along instead of being copied.
 */
class SocketRead implements SharedRead {
  /** Frames cut from the read. */
  cut = 0;
  private enlisted = 0;
  private out = 0;
  /** The framing holds no view of the read any more: no more frames will be cut from it. */
  sealed = false;

  constructor(
    readonly buffer: ArrayBufferLike,
    private readonly onMoved: (() => void) | undefined,
  ) {}

  enlist(): void {
    this.enlisted++;
  }

  lastOut(): boolean {
    this.out++;
    if (this.out > this.enlisted) throw new Error(`socket read: ${this.out} frames sent of ${this.enlisted} enlisted`);
    return this.sealed && this.enlisted === this.cut && this.out === this.cut;
  }

  moved(): void {
    this.onMoved?.();
  }
}

/** A served connection's handler, with when it was last active. */
export interface KafkaConnectionHandler extends ConnectionHandler {
  /** Monotonic ms of the last byte read or written (its place in Kafka's least recently used order of connections). */
  lastActiveMs(): number;
}

/** Builds the per-connection handler for the platform's listener. */
export function kafkaConnection(conn: Connection, opts: ConnectionOptions): KafkaConnectionHandler {
  const { budget, writer } = opts;
  const frames = new FrameSplitter(opts.maxRequestBytes, opts.framePool ?? null);
  let frameHeld = 0; // budget bytes received and not yet handed to a request (a partial frame, unread bytes)
  let closed = false;
  let paused = false;
  let socketBlocked = false;
  let waitingForBudget = false;
  let responseHeld = 0; // budget bytes of responses queued behind a full socket
  let draining = false; // a consume() of unread bytes is scheduled
  const slots: Slot[] = [];
  /** Socket reads frames are still being cut from (see {@link SocketRead}), oldest first. */
  const openReads: SocketRead[] = [];
  const metrics = opts.metrics;
  const session = opts.security?.(conn);
  if (metrics !== undefined) {
    metrics.connections++;
    metrics.connectionsCreated++;
  }

  const timed: TimedConnection = {
    lastActiveMs: opts.monotonicMs(),
    get frameStartedMs() {
      return frames.startedMs;
    },
    busy: () => slots.length > 0,
    expire: (reason) => {
      if (reason.startsWith("idle")) close(null);
      else close(reason);
    },
  };
  opts.timeouts.track(timed);

  /** Closes the connection; `why` is logged (null: an ordinary close, not logged). */
  const close = (why: string | null) => {
    if (closed) return;
    if (why !== null) opts.log("warn", `closing connection ${conn.remote}: ${why}`);
    release();
    conn.close(false);
  };

  /** Closes after the responses already written are sent (a failed SASL authentication is answered, then closed). */
  const closeAfterResponses = (why: string) => {
    if (closed) return;
    opts.log("info", `closing connection ${conn.remote}: ${why}`);
    release();
    conn.close(true);
  };

  /** Gives back everything this connection holds; runs once, on the first close from either side. */
  const release = () => {
    if (closed) return;
    closed = true;
    if (metrics !== undefined) {
      metrics.connections--;
      metrics.connectionsClosed++;
    }
    opts.timeouts.untrack(timed);
    if (waitingForBudget) budget.cancelWait(onRoom);
    for (const s of slots) releaseSlot(s);
    slots.length = 0;
    budget.releaseBytes(frameHeld + responseHeld);
    frameHeld = 0;
    responseHeld = 0;
    frames.clear();
    opts.onClosed?.(session, conn.remote);
  };

  const releaseSlot = (s: Slot) => {
    if (s.released) return;
    s.released = true;
    budget.releaseRequest();
    budget.releaseBytes(s.bytes);
  };

  const onRoom = () => {
    waitingForBudget = false;
    updatePause();
  };

  /** Whether a client quota mutes this connection now (KIP-219: no reads until the throttle time is over). */
  const quotaMuted = () => session !== undefined && session.mutedUntilMs > opts.monotonicMs();
  let muteTimerArmed = false;
  const armMuteTimer = () => {
    if (muteTimerArmed || opts.setTimer === undefined) return;
    muteTimerArmed = true;
    opts.setTimer(() => {
      muteTimerArmed = false;
      updatePause();
    }, Math.max(1, session!.mutedUntilMs - opts.monotonicMs()));
  };

  const updatePause = () => {
    if (closed) return;
    const muted = quotaMuted();
    if (muted) armMuteTimer();
    const overBudget = !budget.hasRoom();
    if (overBudget && !waitingForBudget) {
      waitingForBudget = true;
      budget.waitForRoom(onRoom);
    }
    const shouldPause = socketBlocked || slots.length >= opts.maxInFlight || overBudget || muted;
    if (shouldPause && !paused) {
      paused = true;
      conn.pause();
    } else if (!shouldPause && paused) {
      paused = false;
      conn.resume();
    }
    if (!shouldPause && frames.hasUnread() && !draining) {
      draining = true;
      queueMicrotask(() => {
        draining = false;
        consume();
      });
    }
  };

  const flushSlots = () => {
    while (slots.length > 0 && slots[0].done) {
      const s = slots.shift()!;
      const sendStart = metrics !== undefined ? opts.monotonicMs() : 0;
      if (s.frame !== null && !closed) {
        let n = 0;
        for (const c of s.frame) n += c.length;
        if (!conn.write(s.frame) || socketBlocked) {
          socketBlocked = true;
          responseHeld += n;
          budget.addBytes(n);
        }
        timed.lastActiveMs = opts.monotonicMs();
      }
      if (metrics !== undefined) {
        const end = opts.monotonicMs();
        metrics.requestDone(s.apiKey, s.startMs - s.arrivedMs, s.localDoneMs - s.startMs, s.completedMs - s.localDoneMs, sendStart - s.completedMs, end - sendStart, end - s.arrivedMs, s.encodeMs);
        if (s.wokenByArrivalMs >= 0) metrics.wokenRequestDone(s.apiKey, end - s.wokenByArrivalMs);
      }
      releaseSlot(s);
    }
    updatePause();
  };

  const encode = (ctx: RequestContext, response: unknown): Uint8Array[] =>
    encodeResponseFrame(writer, ctx.header.requestApiKey, ctx.apiVersion, ctx.header.correlationId, response);

  const handleFrame = (frame: Uint8Array, frameBytes: number, arrivedMs: number, owned: boolean, read: SocketRead | undefined) => {
    const r = new Reader(frame);
    const apiKey = r.int16();
    // A Produce frame of its own goes back to the pool once its handler has finished and its response is encoded:
    // the handler writes the records to the log before it finishes, and neither the decoded request nor the
    // response is kept after that. (Other APIs keep views of their frames, e.g. group member metadata.)
    let poolable = owned && apiKey === 0 && opts.framePool !== undefined;
    // A Produce frame that came from another thread in a buffer of its own goes back to its sender the same way.
    let returnable = !owned && apiKey === 0 && conn.giveBack !== undefined;
    const recycleFrame = () => {
      if (returnable) conn.giveBack!(frame);
      returnable = false;
      if (!poolable) return;
      poolable = false;
      opts.framePool!.give(frame);
    };
    const apiVersion = r.int16();
    const codec = API_CODECS[apiKey];
    const handler = opts.handlers[apiKey];
    if (codec === undefined || handler === undefined) {
      budget.releaseBytes(frameBytes);
      return close(`unsupported API key ${apiKey}`);
    }
    const refused = session?.refusal(apiKey) ?? null;
    if (refused !== null) {
      budget.releaseBytes(frameBytes);
      return close(`${codec.name}: ${refused}`);
    }
    // ApiVersions newer than ours is answered at v0 (KIP-511) so the client can retry with a version we know.
    const decodeVersion = apiKey === 18 && apiVersion > handler.maxVersion ? 0 : apiVersion;
    if (decodeVersion < codec.minVersion || decodeVersion > codec.maxVersion) {
      budget.releaseBytes(frameBytes);
      return close(`unsupported version ${apiVersion} of API ${codec.name}`);
    }
    r.pos = 0;
    let header;
    let request: unknown;
    let unsupported = false;
    try {
      header = readRequestHeader(r, requestHeaderVersion(apiKey, decodeVersion));
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
    } catch (e) {
      budget.releaseBytes(frameBytes);
      throw e;
    }
    const ctx: RequestContext = { header, apiVersion: decodeVersion, remote: conn.remote, receivedAtMs: opts.monotonicMs(), session, connection: conn };
    if (apiKey === 0) {
      ctx.takeFrame = () => {
        const pooled = poolable;
        poolable = false;
        returnable = false;
        // A joined or pooled frame, or a chunk holding only this frame's prefix (already read) and its body:
        // nothing else reads its buffer.
        const alone = frame.byteOffset <= 4 && frame.byteOffset + frame.length === frame.buffer.byteLength;
        // A pooled frame that moved comes back to the pool from the other thread (its view here is detached).
        const movable = owned || alone;
        return { body: frame, movable, read: movable ? undefined : read, release: () => pooled && frame.buffer.byteLength > 0 && opts.framePool!.give(frame) };
      };
    }
    const slot: Slot = { done: false, frame: null, bytes: frameBytes, released: false, apiKey, arrivedMs, startMs: ctx.receivedAtMs, localDoneMs: ctx.receivedAtMs, completedMs: ctx.receivedAtMs, encodeMs: 0, wokenByArrivalMs: -1 };
    slots.push(slot);
    budget.addRequest();
    const complete = (res: unknown) => {
      try {
        answer(res);
      } finally {
        recycleFrame();
      }
    };
    const answer = (res: unknown) => {
      if (slot.released) return; // the connection closed while the handler worked
      if (metrics !== undefined) {
        slot.completedMs = opts.monotonicMs();
        slot.wokenByArrivalMs = ctx.wokenByArrivalMs ?? -1;
        if (res !== NO_RESPONSE && !(res instanceof CloseConnection)) countResponseErrors(metrics, apiKey, res);
      }
      if (res instanceof CloseConnection) {
        slot.done = true;
        return close(res.reason);
      }
      if (res !== NO_RESPONSE) {
        try {
          slot.frame = encode(ctx, res);
          if (metrics !== undefined) slot.encodeMs = opts.monotonicMs() - slot.completedMs;
        } catch (e) {
          opts.log("error", `encoding ${codec.name} v${ctx.apiVersion} response failed: ${(e as Error)?.stack ?? e}`);
          slot.frame = encodeError(ctx, request);
          if (slot.frame === null) {
            slot.done = true;
            return close("internal error encoding a response");
          }
        }
      }
      slot.done = true;
      flushSlots();
      if (session?.closeAfterResponse != null) closeAfterResponses(session.closeAfterResponse);
    };
    // A failed handler's frame is not given back: work it started (an off-loop codec call) may still read it.
    const onError = (e: unknown) => {
      if (slot.released) {
        // The client went away while the handler worked: nobody to answer, but the failure is still ours to see.
        opts.log("error", `${codec.name} v${apiVersion} request from ${conn.remote} failed after the connection closed: ${(e as Error)?.stack ?? e}`);
        return;
      }
      opts.log("error", `${codec.name} v${apiVersion} request from ${conn.remote} failed, answering UNKNOWN_SERVER_ERROR: ${(e as Error)?.stack ?? e}`);
      // An acks=0 Produce has no response to carry the error: close, as Kafka does, so the client notices.
      if (apiKey === 0 && (request as { acks?: number } | null)?.acks === 0) {
        slot.done = true;
        return close("an acks=0 produce request failed");
      }
      slot.frame = encodeError(ctx, request);
      slot.done = true;
      if (slot.frame === null) return close("internal error encoding an error response");
      flushSlots();
    };
    if (unsupported) return complete(errorResponse(apiKey, apiVersion, null, ErrorCode.UNSUPPORTED_VERSION));
    try {
      if (metrics !== undefined) metrics.runningRequestArrivedMs = arrivedMs;
      const result = handler.handle(ctx, request);
      if (metrics !== undefined) {
        metrics.runningRequestArrivedMs = -1;
        slot.localDoneMs = opts.monotonicMs();
      }
      if (result instanceof Promise) result.then(complete, onError);
      else complete(result);
    } catch (e) {
      if (metrics !== undefined) metrics.runningRequestArrivedMs = -1;
      onError(e);
    }
  };

  /** The UNKNOWN_SERVER_ERROR response to `request`, or null when even that cannot be encoded. */
  const encodeError = (ctx: RequestContext, request: unknown): Uint8Array[] | null => {
    try {
      return encode(ctx, errorResponse(ctx.header.requestApiKey, ctx.apiVersion, request, ErrorCode.UNKNOWN_SERVER_ERROR));
    } catch (e) {
      opts.log("error", `encoding an error response for API ${ctx.header.requestApiKey} v${ctx.apiVersion} failed: ${(e as Error)?.stack ?? e}`);
      return null;
    }
  };

  /** A bare SASL token after a v0 SaslHandshake: answered with a bare token; a failure closes the connection. */
  const handleRawToken = (s: SecuritySession, token: Uint8Array, frameBytes: number) => {
    const res = s.authenticate(token.slice());
    if (res.errorCode !== ErrorCode.NONE) {
      budget.releaseBytes(frameBytes);
      return close(`SASL authentication failed on listener ${s.listenerName}`);
    }
    const prefix = new Uint8Array(4);
    new DataView(prefix.buffer).setInt32(0, res.authBytes.length);
    const now = opts.monotonicMs();
    slots.push({ done: true, frame: [prefix, res.authBytes], bytes: frameBytes, released: false, apiKey: 17, arrivedMs: now, startMs: now, localDoneMs: now, completedMs: now, encodeMs: 0, wokenByArrivalMs: -1 });
    budget.addRequest();
    flushSlots();
  };

  const processFrame = (frame: Uint8Array, frameBytes: number, owned: boolean) => {
    let read: SocketRead | undefined;
    if (!owned) {
      for (const r of openReads) if (r.buffer === frame.buffer) read = r;
      if (read !== undefined) read.cut++;
    }
    if (session?.rawTokens) return handleRawToken(session, frame, frameBytes);
    try {
      handleFrame(frame, frameBytes, metrics !== undefined ? opts.monotonicMs() : 0, owned, read);
    } catch (e) {
      if (e instanceof MalformedFrameError) close(`malformed request: ${e.message}`);
      else if ((e as Error)?.name === "UnsupportedVersionError") close((e as Error).message);
      else {
        opts.log("error", `request from ${conn.remote} failed: ${(e as Error)?.stack ?? e}`);
        close("internal error");
      }
    }
  };

  /**
   * Whether dispatching must stop: too many requests in flight here, a full socket, or (while this connection has a
   * request in flight) the broker-wide budget used up. A connection with nothing in flight may always dispatch one
   * request whose bytes are already here, so connections stopped over budget can never wait on each other.
   */
  const mustStop = () => slots.length >= opts.maxInFlight || socketBlocked || (slots.length > 0 && !budget.hasRoom()) || quotaMuted();

  /**
   * Splits the unread bytes into frames and dispatches them, stopping between frames as soon as a limit is reached:
   * the rest stays unread (still counted in the budget) until the limit clears, so one chunk full of pipelined
   * requests cannot run past `queued.max.requests.per.connection`.
   */
  const consume = () => {
    const now = opts.monotonicMs();
    while (!closed) {
      if (frames.betweenFrames() && mustStop()) break;
      if (frames.betweenFrames()) frames.maxBytes = Math.min(opts.maxRequestBytes, session?.frameLimit() ?? opts.maxRequestBytes);
      const next = frames.next(now);
      if (next.kind === "partial") break;
      if (next.kind === "bad-size") {
        const limit = frames.maxBytes < opts.maxRequestBytes ? "sasl.server.max.receive.size before SASL authentication" : "socket.request.max.bytes";
        close(`frame size ${next.size} outside [${MIN_FRAME_BYTES}, ${frames.maxBytes}] (${limit})`);
        return;
      }
      // The frame's budget bytes (body and size prefix) go with the request until it is answered.
      const held = next.body.length + 4;
      if (frameHeld < held) throw new Error(`frame of ${held} bytes holds only ${frameHeld} counted bytes`);
      frameHeld -= held;
      processFrame(next.body, held, next.owned);
    }
    // A read the framing no longer holds a view of gets no more frames: its last one sent may take it along.
    for (let i = openReads.length - 1; i >= 0; i--) {
      if (frames.references(openReads[i].buffer)) continue;
      openReads[i].sealed = true;
      openReads.splice(i, 1);
    }
    updatePause();
  };

  updatePause(); // a connection opened while the budget is used up starts muted

  return {
    onData(chunk: Uint8Array) {
      if (closed) return;
      timed.lastActiveMs = opts.monotonicMs();
      budget.addBytes(chunk.length);
      frameHeld += chunk.length;
      // A chunk that is a whole ArrayBuffer of its own (a socket read on Bun) may move to a shard with its frames, if
      // it can hold a frame that goes in a message of its own.
      if (opts.followReads === true && chunk.length >= PORT_CONNECTION_OWN_FRAME_MIN_BYTES && chunk.byteOffset === 0 && chunk.length === chunk.buffer.byteLength) {
        if (openReads.length === OPEN_READS_MAX) openReads.shift();
        openReads.push(new SocketRead(chunk.buffer, opts.onReadMoved));
      }
      // A runtime may deliver a chunk or two after pause(): it queues behind what is already waiting. A chunk copied
      // in behind unread bytes goes back to its sender at once if it was lent (a frame slot or a moved frame from a
      // front): no frame will be cut from it, so a frame's own give-back would never find it.
      if (!frames.push(chunk)) conn.giveBack?.(chunk);
      if (!draining) consume();
    },
    onDrain() {
      if (closed) return;
      socketBlocked = false;
      timed.lastActiveMs = opts.monotonicMs();
      budget.releaseBytes(responseHeld);
      responseHeld = 0;
      updatePause();
    },
    onClose() {
      release();
    },
    lastActiveMs: () => timed.lastActiveMs,
  };
}
