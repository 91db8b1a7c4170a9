/**
 * One client connection's channels to the shards: opened lazily, one per shard, reused for every request of that
 * connection so a shard sees the client's requests in the order they came (an idempotent producer's pipelined
 * batches stay in sequence), and closed with the client's connection.
 */
import type { BrokerChannel, RequestOptions } from "../../client/connection.ts";
import type { RequestContext, TakenFrame } from "../../broker/api-handler.ts";
import type { FrontShards, ShardApiVersions, ShardClientInfo } from "./front-shards.ts";
import type { PortBuffers } from "../../platform/port-connection.ts";

/** Mutes the client's own connection for a throttle time a shard answered (KIP-219); see {@link FrontClient.send}. */
export type MuteClient = (ctx: RequestContext, throttleMs: number) => void;

/** The throttle time of a shard's answer (0 when it has none). */
function throttleOf(answer: unknown): number {
  const t = (answer as { throttleTimeMs?: unknown } | null | undefined)?.throttleTimeMs;
  return typeof t === "number" ? t : 0;
}

/**
 * How long the front waits for a shard's answer: a shard is in the same process, so only the request's own wait
 * bounds it (a JoinGroup waits up to its rebalance timeout, at most `group.max.session.timeout.ms`, 30 minutes).
 */
export const SHARD_REQUEST_TIMEOUT_MS = 30 * 60_000;

/** The channels of one client connection. */
export class FrontClient {
  private readonly channels = new Map<number, Promise<BrokerChannel>>();
  /** Channels whose Fetch answers carry the record bytes (for slices the front could not read itself). */
  private readonly copyChannels = new Map<number, Promise<BrokerChannel>>();
  private closed = false;
  /** Sends not finished yet (a channel opening, a request written, an answer awaited). */
  private sending = 0;

  constructor(
    private readonly shards: FrontShards,
    /** Who this client is, for the shards. */
    readonly info: ShardClientInfo,
    /** The front's frame buffers (forwarded Produce frames are copied into them and come back to them). */
    private readonly buffers?: PortBuffers,
    /** Mutes the client's connection when a shard answers with a throttle time (unset: only the shard's channel waits). */
    private readonly mute?: MuteClient,
    /** The shards' API versions: channels open without an ApiVersions (unset: each channel asks). */
    private readonly versions?: ShardApiVersions,
  ) {}

  /**
   * The client's channel to `shard`, opened on first use (and again after it closed); with `copied`, the one whose
   * Fetch answers carry the record bytes even when the front reads file slices.
   */
  channel(shard: number, copied = false): Promise<BrokerChannel> {
    const channels = copied ? this.copyChannels : this.channels;
    let c = channels.get(shard);
    if (c === undefined) {
      c = this.shards.open(shard, copied ? { ...this.info, fileSlices: false } : this.info, this.buffers, this.versions);
      channels.set(shard, c);
      c.catch(() => channels.delete(shard));
      return c;
    }
    return c.then((ch) => {
      if (!ch.closed) return ch;
      if (channels.get(shard) === c) channels.delete(shard);
      return this.channel(shard, copied);
    });
  }

  /**
   * Sends `body` to `shard` at the client's version of the API and resolves with the shard's answer; `copied`: on
   * the channel whose Fetch answers carry the record bytes. An answer with a throttle time (a quota the shard
   * enforces: `request_percentage`, `producer_byte_rate`, `controller_mutation_rate`) mutes the client's own
   * connection for that long, as one broker mutes it, so its requests to the other shards wait too; the shard's mute
   * of its channel started earlier and so ends first, and the client waits once.
   */
  async send<T>(ctx: RequestContext, shard: number, body: unknown, opts: RequestOptions = {}, copied = false): Promise<T> {
    this.sending++;
    try {
      return await this.sendOn<T>(ctx, await this.channel(shard, copied), body, opts);
    } finally {
      this.sending--;
      if (this.closed && this.sending === 0) this.closeChannels();
    }
  }

  /**
   * Forwards the client's request frame `frame` to `shard` as it came (no decode and re-encode; over a port in a
   * message of its own, its buffer moved when {@link TakenFrame.movable}); resolves with the shard's answer
   * (undefined for `noResponse`), or null when the channel cannot forward frames (then nothing was sent).
   */
  async forwardFrame<T>(ctx: RequestContext, shard: number, frame: TakenFrame, noResponse: boolean): Promise<{ answer: T } | null> {
    this.sending++;
    try {
      const ch = await this.channel(shard);
      if (ch.forwardFrame === undefined) return null;
      const answer = await ch.forwardFrame<T>(ctx.header.requestApiKey, ctx.apiVersion, frame.body, { move: frame.movable, read: frame.read, noResponse, timeoutMs: SHARD_REQUEST_TIMEOUT_MS });
      this.mute?.(ctx, throttleOf(answer));
      return { answer };
    } finally {
      this.sending--;
      if (this.closed && this.sending === 0) this.closeChannels();
    }
  }

  /** Opens a separate, short-lived channel to `shard` (a long poll that must not hold the shared one). */
  openExtra(shard: number): Promise<BrokerChannel> {
    return this.shards.open(shard, this.info, undefined, this.versions);
  }

  /**
   * Sends `body` on `ch` (a channel of {@link openExtra}, or {@link send}'s) at the client's version of the API; an
   * answer with a throttle time mutes the client's connection (see {@link send}).
   */
  async sendOn<T>(ctx: RequestContext, ch: BrokerChannel, body: unknown, opts: RequestOptions = {}): Promise<T> {
    const answer = await ch.request<T>(ctx.header.requestApiKey, body, { version: ctx.apiVersion, timeoutMs: SHARD_REQUEST_TIMEOUT_MS, ...opts });
    this.mute?.(ctx, throttleOf(answer));
    return answer;
  }

  /** Whether the client's connection has closed. */
  get clientGone(): boolean {
    return this.closed;
  }

  /**
   * The client's connection closed: its channels close once the requests already read from it have been passed on
   * (as Kafka appends a produce it has read even when its client is gone, acks=0 included).
   */
  close(): void {
    this.closed = true;
    if (this.sending === 0) this.closeChannels();
  }

  private closeChannels(): void {
    for (const channels of [this.channels, this.copyChannels]) {
      for (const c of channels.values()) c.then((ch) => ch.close(), () => {});
      channels.clear();
    }
  }
}
