/**
 * Everything a listener needs to secure its connections, resolved once at start-up from the config: its TLS server
 * settings (SSL, SASL_SSL) and a factory of per-connection {@link SecuritySession}s carrying the listener, the
 * certificate principal and the SASL mechanisms and credentials (SASL_PLAINTEXT, SASL_SSL).
 */
import type { BrokerConfig } from "../broker/config.ts";
import type { Connection } from "../platform/net.ts";
import type { FileSystem } from "../platform/fs.ts";
import type { RandomSource } from "../platform/random.ts";
import { listenerSetting, usesSasl, usesTls, type ListenerDef } from "./listeners.ts";
import { listenerTls, type ListenerTls } from "./tls-config.ts";
import { parseJaasConfig, plainUsers } from "./jaas.ts";
import { SecuritySession, SCRAM_MECHANISM_NAMES, type SaslSettings } from "./session.ts";
import type { ScramCredentialStore } from "./scram-credentials.ts";
import type { UnsecuredJwsOptions } from "./oauthbearer.ts";
import { JwksSource, type SharedJwksSlot } from "./jwks-source.ts";
import type { SharedTexts } from "../platform/shared-text.ts";
import type { HttpGet } from "../platform/http-client.ts";

/** Mechanisms Runnel serves. */
const SERVED_MECHANISMS: ReadonlySet<string> = new Set(["PLAIN", ...SCRAM_MECHANISM_NAMES, "OAUTHBEARER"]);

/** A listener's resolved security. */
export interface ListenerSecurity {
  /** The listener. */
  readonly def: ListenerDef;
  /** TLS settings, or null on PLAINTEXT and SASL_PLAINTEXT. */
  readonly tls: ListenerTls | null;
  /** Builds the session of a new connection. */
  session(conn: Connection): SecuritySession;
  /** Reads the TLS key material again (the PEM files may have changed); throws like start-up does. */
  rereadTls(): ListenerTls;
  /** Loads what must be loaded before the listener opens (the OAUTHBEARER JWKS); rejects like a bad setting does. */
  ready(): Promise<void>;
  /** Stops background work (JWKS refreshes). */
  close(): void;
}

/** What resolving a listener's security needs. */
export interface ListenerSecurityDeps {
  /** Reads PEM files. */
  fs: FileSystem;
  /** SCRAM nonces. */
  random: RandomSource;
  /** SCRAM credentials. */
  scram: ScramCredentialStore;
  /** Wall clock in ms (token expiry). */
  nowMs(): number;
  /** Monotonic clock in ms (session expiry). */
  monotonicMs(): number;
  /** Log sink (messages never carry secrets). */
  log(level: "info" | "warn", msg: string): void;
  /** Counts an authentication outcome on `listener` (metrics), when kept. */
  authenticated?(listener: string, ok: boolean): void;
  /** GETs an http(s):// JWKS. */
  httpGet: HttpGet;
  /** Timers of JWKS refreshes. */
  setTimer(fn: () => void, ms: number): unknown;
  clearTimer(handle: unknown): void;
  /**
   * A sharded node's JWKS documents shared by its accepting threads, one slot per listener in `listeners` order
   * (so that the node keeps one key set per listener, as one broker does); unset: this thread's own.
   */
  sharedJwks?: SharedTexts;
}

/** Listener `name`'s slot of the node's shared JWKS documents, or undefined without them. */
function sharedJwksSlot(config: BrokerConfig, name: string, shared: SharedTexts | undefined): SharedJwksSlot | undefined {
  if (shared === undefined) return undefined;
  const slot = config.listeners.findIndex((l) => l.name === name);
  if (slot < 0 || slot >= shared.slotCount) return undefined;
  return { generation: () => shared.generation(slot), publish: (text) => shared.publish(slot, text), read: () => shared.read(slot) };
}

/** The SASL settings of listener `name` and its JWKS source (null without one); throws on a mechanism Runnel does not serve or a malformed login config. */
function saslSettings(config: BrokerConfig, name: string, deps: ListenerSecurityDeps): { settings: SaslSettings; jwks: JwksSource | null } {
  const mechanisms = (listenerSetting(config, name, "sasl.enabled.mechanisms") ?? "").split(",").map((m) => m.trim().toUpperCase()).filter((m) => m !== "");
  for (const m of mechanisms) {
    if (!SERVED_MECHANISMS.has(m)) throw new Error(`listener ${name}: sasl.enabled.mechanisms: ${m} is not served (Runnel serves ${[...SERVED_MECHANISMS].join(", ")})`);
  }
  if (mechanisms.length === 0) throw new Error(`listener ${name}: sasl.enabled.mechanisms is empty`);
  let users = new Map<string, string>();
  const jaasKey = `listener.name.${name.toLowerCase()}.plain.sasl.jaas.config`;
  const jaas = config.values.get(jaasKey) ?? config.raw("sasl.jaas.config");
  if (mechanisms.includes("PLAIN") && jaas !== null) {
    const entry = parseJaasConfig(jaas);
    if (!entry.loginModule.endsWith("PlainLoginModule")) throw new Error(`listener ${name}: ${jaasKey} must use org.apache.kafka.common.security.plain.PlainLoginModule for PLAIN`);
    users = plainUsers(entry);
  }
  if (mechanisms.includes("PLAIN") && users.size === 0) deps.log("warn", `listener ${name}: PLAIN is enabled but ${jaasKey} names no user_<name> entries: every PLAIN login will fail`);
  let oauthBearer: UnsecuredJwsOptions | null = null;
  let jwks: JwksSource | null = null;
  if (mechanisms.includes("OAUTHBEARER")) {
    const oauthJaas = config.values.get(`listener.name.${name.toLowerCase()}.oauthbearer.sasl.jaas.config`);
    const options = oauthJaas === undefined ? new Map<string, string>() : parseJaasConfig(oauthJaas).options;
    const skew = Number(options.get("unsecuredValidatorAllowableClockSkewMs") ?? "0");
    if (!Number.isInteger(skew) || skew < 0) throw new Error(`listener ${name}: unsecuredValidatorAllowableClockSkewMs must be a non-negative integer`);
    const jwksUrl = listenerSetting(config, name, "sasl.oauthbearer.jwks.endpoint.url");
    const get = (key: string) => listenerSetting(config, name, key);
    const ms = (key: string, dflt: string) => Number(get(key) ?? dflt);
    if (jwksUrl !== null) {
      jwks = new JwksSource(
        { listener: name, url: jwksUrl, refreshMs: ms("sasl.oauthbearer.jwks.endpoint.refresh.ms", "3600000"), backoffMs: ms("sasl.oauthbearer.jwks.endpoint.retry.backoff.ms", "100"), backoffMaxMs: ms("sasl.oauthbearer.jwks.endpoint.retry.backoff.max.ms", "10000") },
        { readFile: (p) => deps.fs.readFile(p), get: deps.httpGet, monotonicMs: deps.monotonicMs, setTimer: deps.setTimer, clearTimer: deps.clearTimer, log: deps.log, shared: sharedJwksSlot(config, name, deps.sharedJwks) },
      );
    }
    oauthBearer = {
      principalClaim: jwksUrl !== null ? get("sasl.oauthbearer.sub.claim.name") ?? "sub" : options.get("unsecuredValidatorPrincipalClaimName") ?? "sub",
      requiredScopes: (options.get("unsecuredValidatorRequiredScope") ?? "").split(/[\s,]+/).filter((x) => x !== ""),
      clockSkewMs: jwksUrl !== null ? Number(get("sasl.oauthbearer.clock.skew.seconds") ?? "30") * 1000 : skew,
      nowMs: () => deps.nowMs(),
      jwks,
      expectedIssuer: get("sasl.oauthbearer.expected.issuer"),
      expectedAudience: (get("sasl.oauthbearer.expected.audience") ?? "").split(",").map((a) => a.trim()).filter((a) => a !== ""),
    };
    if (jwksUrl === null) deps.log("warn", `listener ${name}: OAUTHBEARER accepts unsecured (unsigned) tokens, as Kafka's default validator does: for development only`);
  }
  const maxReceiveBytes = Number(listenerSetting(config, name, "sasl.server.max.receive.size") ?? "524288");
  if (!Number.isInteger(maxReceiveBytes) || maxReceiveBytes < 1) throw new Error(`listener ${name}: sasl.server.max.receive.size must be a positive integer`);
  const reauthMs = Number(listenerSetting(config, name, "connections.max.reauth.ms") ?? "0");
  if (!Number.isInteger(reauthMs) || reauthMs < 0) throw new Error(`listener ${name}: connections.max.reauth.ms must be a non-negative integer`);
  return { jwks, settings: { mechanisms, plainUsers: users, scramCredential: (u, m) => deps.scram.get(u, m), random: deps.random, oauthBearer, reauthMs, maxReceiveBytes, monotonicMs: () => deps.monotonicMs(), authenticated: (ok) => deps.authenticated?.(name, ok) } };
}

/** Resolves listener `def`'s security; throws (naming the key, never a secret) when its settings are incomplete. */
export function listenerSecurity(config: BrokerConfig, def: ListenerDef, deps: ListenerSecurityDeps): ListenerSecurity {
  const tls = usesTls(def.securityProtocol) ? listenerTls(config, def.name, deps.fs) : null;
  const resolved = usesSasl(def.securityProtocol) ? saslSettings(config, def.name, deps) : null;
  const sasl = resolved?.settings ?? null;
  const jwks = resolved?.jwks ?? null;
  return {
    def,
    tls,
    rereadTls: () => listenerTls(config, def.name, deps.fs),
    ready: async () => jwks?.start(),
    close: () => jwks?.close(),
    session(conn) {
      // A certificate principal counts on SSL; on SASL_SSL the SASL identity replaces it.
      const certPrincipal = tls !== null && sasl === null && conn.peerSubject ? tls.principals.map(conn.peerSubject) : null;
      const session = new SecuritySession(conn.listenerName ?? def.name, def.securityProtocol, conn.remote, sasl, deps.log, certPrincipal, conn.remoteIp);
      if (conn.principal !== undefined) session.principal = conn.principal; // a shard serving its node's front's client
      return session;
    },
  };
}
