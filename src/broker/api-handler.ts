/**
 * The contract between the connection layer and the per-API handler modules in `./apis/`. Each module declares the
 * versions it serves in one place; ApiVersions is built from those declarations, so an API without a handler is
 * never advertised.
 */
import type { RequestHeader } from "../protocol/generated/headers.ts";
import type { SecuritySession } from "../security/session.ts";
import type { SharedRead } from "../platform/net.ts";

/** What a handler knows about the request it serves. */
export interface RequestContext {
  /** The decoded request header. */
  readonly header: RequestHeader;
  /** The request's API version. */
  readonly apiVersion: number;
  /** "host:port" of the client. */
  readonly remote: string;
  /** Monotonic ms when the request was decoded. */
  readonly receivedAtMs: number;
  /** The connection's listener, principal and SASL state (absent: an in-process caller, anonymous). */
  readonly session?: SecuritySession;
  /** The client connection the request came on (the same object for all its requests; absent: an in-process caller). */
  readonly connection?: object;
  /**
   * Set by a handler whose parked request was answered because another request's handler woke it (a long-poll
   * Fetch woken by a Produce's append): that request's arrival (monotonic ms), for `runnel_request_woken_path_ms`.
   */
  wokenByArrivalMs?: number;
  /**
   * Produce only: takes the request's frame (its body without the size prefix: header, then the request) out of the
   * connection's hands, so a sharded node's front can forward it whole; the connection then never reuses it.
   */
  takeFrame?: () => TakenFrame;
}

/** A request frame a handler took from its connection ({@link RequestContext.takeFrame}). */
export interface TakenFrame {
  /** The frame's body: request header, then the request. */
  readonly body: Uint8Array;
  /**
   * Nothing else lies in the body's ArrayBuffer that anyone still reads (a joined frame, or a received chunk that
   * held only this frame and its size prefix), so the whole buffer may move to another thread.
   */
  readonly movable: boolean;
  /** Gives the body back to the connection's free buffers once nothing reads it any more (nothing when not owned). */
  release(): void;
  /**
   * Not movable, but a view of a socket read whose other frames may all go to other threads too: the read's buffer
   * may then move with the last of them ({@link SharedRead}); absent when the frame is movable or shares its read with
   * bytes nobody hands over.
   */
  readonly read?: SharedRead;
}

/** Returned by a handler that sends no response (Produce with acks=0). */
export const NO_RESPONSE: unique symbol = Symbol("no-response");

/**
 * Returned instead of a response to close the client's connection after this request (an acks=0 Produce that
 * failed: the client gets no response, so closing is how it learns, as in Kafka).
 */
export class CloseConnection {
  constructor(
    /** Why, for the log. */
    readonly reason: string,
  ) {}
}

/** A handler result: a response body, a promise of one, {@link NO_RESPONSE} or {@link CloseConnection}. */
export type HandlerResult<Res> = Res | typeof NO_RESPONSE | CloseConnection | Promise<Res | typeof NO_RESPONSE | CloseConnection>;

/** One API served by the broker. */
export interface ApiHandler<Req = any, Res = any> {
  /** Kafka API key. */
  readonly apiKey: number;
  /** Lowest version served (Kafka 4.x minimum). */
  readonly minVersion: number;
  /** Highest version served. */
  readonly maxVersion: number;
  /** Lowest version advertised in ApiVersions when it differs from minVersion (Produce: 0, KAFKA-18659). */
  readonly advertisedMinVersion?: number;
  /** Serves one request. */
  handle(ctx: RequestContext, request: Req): HandlerResult<Res>;
}
