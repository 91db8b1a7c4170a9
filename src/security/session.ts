/**
 * The security state of one client connection: its listener and protocol, its principal (`User:ANONYMOUS` until
 * authenticated; on SSL the mapped certificate subject), and on SASL listeners the SaslHandshake/SaslAuthenticate
 * exchange (KIP-152). Before SASL authentication completes only ApiVersions and the two SASL APIs are admitted;
 * anything else closes the connection, as in Kafka. A failed authentication is answered, logged once without
 * secrets, and then the connection is closed.
 */
import { ErrorCode } from "../protocol/errors.ts";
import type { RandomSource } from "../platform/random.ts";
import { escapeLogText } from "../broker/log-escape.ts";
import { usesSasl, type SecurityProtocol } from "./listeners.ts";
import { SaslFailure, type SaslExchange } from "./sasl-mechanism.ts";
import { PlainServer } from "./plain.ts";
import { SCRAM_MECHANISMS, ScramServer, type ScramCredential } from "./scram.ts";
import { OAuthBearerServer, type UnsecuredJwsOptions } from "./oauthbearer.ts";

/** API keys a SASL client may send before it is authenticated: SaslHandshake, ApiVersions, SaslAuthenticate. */
const OPEN_BEFORE_AUTH: ReadonlySet<number> = new Set([17, 18, 36]);

/** What a listener's SASL side knows: enabled mechanisms and where credentials come from. */
export interface SaslSettings {
  /** `sasl.enabled.mechanisms` of the listener (upper case). */
  mechanisms: readonly string[];
  /** PLAIN users (from the listener's PlainLoginModule `user_<name>` options). */
  plainUsers: ReadonlyMap<string, string>;
  /** SCRAM credential of a user for a mechanism. */
  scramCredential(user: string, mechanism: string): ScramCredential | undefined;
  /** Nonces. */
  random: RandomSource;
  /** OAUTHBEARER token validation, when that mechanism is enabled. */
  oauthBearer: UnsecuredJwsOptions | null;
  /** `connections.max.reauth.ms` (KIP-368): session lifetime asked of clients; 0 = sessions never expire. */
  reauthMs: number;
  /** `sasl.server.max.receive.size`: largest frame accepted before the first authentication completes. */
  maxReceiveBytes: number;
  /** Monotonic clock, ms (session expiry). */
  monotonicMs(): number;
  /** Counts each authentication's outcome (the listener's authentication metrics), when metrics are kept. */
  authenticated?(ok: boolean): void;
}

/** Outcome of SaslHandshake. */
export interface HandshakeResult {
  /** Kafka error code. */
  errorCode: number;
  /** The listener's enabled mechanisms. */
  mechanisms: string[];
}

/** Outcome of SaslAuthenticate. */
export interface AuthenticateResult {
  /** Kafka error code. */
  errorCode: number;
  /** Error message (no secrets). */
  errorMessage: string | null;
  /** The server's token. */
  authBytes: Uint8Array;
  /** KIP-368: ms until the client must re-authenticate (0: never). */
  sessionLifetimeMs: number;
}

/** One connection's security state. */
export class SecuritySession {
  /** The principal (`User:<name>`). */
  principal = "User:ANONYMOUS";
  /** Monotonic ms until which a client quota mutes the connection (KIP-219), 0 when not muted. */
  mutedUntilMs = 0;
  /** Why the connection must close once the response in hand is sent, or null. */
  closeAfterResponse: string | null = null;
  /** After a v0 SaslHandshake: the SASL tokens arrive as bare size-prefixed frames, not SaslAuthenticate requests. */
  rawTokens = false;
  private authenticated: boolean;
  private exchange: SaslExchange | null = null;
  private mechanism: string | null = null;
  /** Monotonic ms after which the authenticated session has expired (KIP-368), or null. */
  private expiresAtMs: number | null = null;
  private reauthenticating = false;

  constructor(
    /** The listener's name (upper case). */
    readonly listenerName: string,
    /** The listener's security protocol. */
    readonly securityProtocol: SecurityProtocol,
    /** The client's "host:port". */
    readonly remote: string,
    private readonly sasl: SaslSettings | null,
    private readonly log: (level: "info" | "warn", msg: string) => void,
    /** The principal name from the TLS client certificate, or null. */
    certificatePrincipal: string | null = null,
    /** The client's address alone (ACL host matching). */
    readonly clientHost: string = remote,
  ) {
    this.authenticated = !usesSasl(securityProtocol);
    if (certificatePrincipal !== null) this.principal = `User:${certificatePrincipal}`;
  }

  /** Why a request with this API key must close the connection instead of being served, or null to serve it. */
  /** The largest frame this connection may send now: `sasl.server.max.receive.size` until first authenticated, else null (no SASL limit). */
  frameLimit(): number | null {
    return this.authenticated || this.sasl === null ? null : this.sasl.maxReceiveBytes;
  }

  refusal(apiKey: number): string | null {
    if (OPEN_BEFORE_AUTH.has(apiKey)) return null;
    if (!this.authenticated) return `API ${apiKey} request before SASL authentication on listener ${this.listenerName}`;
    if (this.expiresAtMs !== null && this.sasl!.monotonicMs() > this.expiresAtMs) return `SASL session of ${escapeLogText(this.principal)} expired (connections.max.reauth.ms) without re-authentication`;
    return null;
  }

  /** SaslHandshake: picks the mechanism (`version` 0: the tokens then follow as bare frames). */
  handshake(mechanism: string, version: number): HandshakeResult {
    const mechanisms = [...(this.sasl?.mechanisms ?? [])];
    const reauth = this.authenticated && this.sasl !== null && this.sasl.reauthMs > 0 && this.exchange === null && mechanism === this.mechanism;
    if (this.sasl === null || (this.authenticated && !reauth) || (!this.authenticated && this.mechanism !== null)) {
      this.closeAfterResponse = "unexpected SaslHandshake";
      return { errorCode: ErrorCode.ILLEGAL_SASL_STATE, mechanisms };
    }
    if (!mechanisms.includes(mechanism)) {
      this.failed(`unsupported SASL mechanism ${escapeLogText(mechanism)}`);
      return { errorCode: ErrorCode.UNSUPPORTED_SASL_MECHANISM, mechanisms };
    }
    this.mechanism = mechanism;
    this.reauthenticating = reauth;
    this.rawTokens = version === 0;
    const sasl = this.sasl;
    this.exchange = mechanism === "PLAIN"
      ? new PlainServer(sasl.plainUsers)
      : mechanism === "OAUTHBEARER"
      ? new OAuthBearerServer(sasl.oauthBearer!)
      : new ScramServer(mechanism, (u, m) => sasl.scramCredential(u, m), sasl.random);
    return { errorCode: ErrorCode.NONE, mechanisms };
  }

  /** SaslAuthenticate: one token of the exchange. */
  authenticate(token: Uint8Array): AuthenticateResult {
    if (this.exchange === null) {
      this.closeAfterResponse = "SaslAuthenticate without a handshake";
      return { errorCode: ErrorCode.ILLEGAL_SASL_STATE, errorMessage: "Unexpected SaslAuthenticate request", authBytes: new Uint8Array(0), sessionLifetimeMs: 0 };
    }
    try {
      const step = this.exchange.step(token);
      let lifetime = 0;
      if (step.principal !== null) {
        const principal = `User:${step.principal}`;
        if (this.reauthenticating && principal !== this.principal) throw new SaslFailure("Cannot change principals during re-authentication", `re-authentication of ${this.principal} as ${principal}`);
        const verb = this.reauthenticating ? "re-authenticated" : "authenticated";
        this.authenticated = true;
        this.reauthenticating = false;
        this.rawTokens = false;
        this.exchange = null;
        this.principal = principal;
        const sasl = this.sasl!;
        if (sasl.reauthMs > 0) {
          lifetime = Math.max(0, Math.min(sasl.reauthMs, step.lifetimeMs ?? Infinity));
          this.expiresAtMs = sasl.monotonicMs() + lifetime;
        }
        this.log("info", `${verb} ${escapeLogText(this.principal)} from ${this.remote} on ${this.listenerName} with ${this.mechanism}`);
        sasl.authenticated?.(true);
      }
      return { errorCode: ErrorCode.NONE, errorMessage: null, authBytes: step.response, sessionLifetimeMs: lifetime };
    } catch (e) {
      if (!(e instanceof SaslFailure)) throw e;
      this.failed(`${this.mechanism}: ${escapeLogText(e.logDetail)}`);
      return { errorCode: ErrorCode.SASL_AUTHENTICATION_FAILED, errorMessage: e.clientMessage, authBytes: new Uint8Array(0), sessionLifetimeMs: 0 };
    }
  }

  private failed(detail: string): void {
    this.exchange = null;
    this.rawTokens = false;
    this.closeAfterResponse = "failed authentication";
    this.sasl?.authenticated?.(false);
    this.log("warn", `Failed authentication with ${this.remote} on listener ${this.listenerName} (${detail})`);
  }
}

/** The SCRAM mechanism names. */
export const SCRAM_MECHANISM_NAMES: readonly string[] = SCRAM_MECHANISMS.map((m) => m.name);
