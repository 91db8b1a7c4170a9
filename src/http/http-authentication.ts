/**
 * Who is calling the HTTP side (docs/http-api.md, "Authentication"). `http.authentication.methods` lists BASIC
 * (HTTP basic auth against the SASL users: PLAIN users from the JAAS configs and SCRAM credentials) and/or BEARER
 * (`Authorization: Bearer <token>` with a token from `http.authentication.bearer.tokens`, entries `<user>:<token>`).
 * Empty (the default): no authentication, every caller is `User:ANONYMOUS`, as on a Kafka PLAINTEXT listener.
 * Paths in `http.authentication.exempt.paths` (default `/metrics,/v1/health,/v1/ready`, so Prometheus and probes
 * scrape without credentials) are served to anyone.
 */
import { Buffer } from "node:buffer";
import type { BrokerConfig } from "../broker/config.ts";
import { constantTimeEqual } from "../platform/crypto.ts";
import type { HttpRequest } from "../platform/http.ts";
import type { PasswordVerifier } from "../security/password-verifier.ts";

/** The methods `http.authentication.methods` accepts. */
export const HTTP_AUTHENTICATION_METHODS = ["BASIC", "BEARER"] as const;

/** The principal of an unauthenticated caller (Kafka's name). */
export const ANONYMOUS_PRINCIPAL = "User:ANONYMOUS";

/** The outcome of authenticating one request. */
export type HttpIdentity = { ok: true; principal: string } | { ok: false; reason: string };

/** Authenticates HTTP requests as the config says. */
export class HttpAuthentication {
  private constructor(
    private readonly basic: boolean,
    private readonly tokens: ReadonlyArray<{ user: string; token: Uint8Array }> | null,
    private readonly exempt: ReadonlySet<string>,
    private readonly passwords: PasswordVerifier,
  ) {}

  /** Reads the `http.authentication.*` keys; throws naming the key (never a token) when one is malformed. */
  static fromConfig(config: BrokerConfig, passwords: PasswordVerifier): HttpAuthentication {
    const methods = config.list("http.authentication.methods").map((m) => m.trim().toUpperCase()).filter((m) => m !== "");
    for (const m of methods) {
      if (!(HTTP_AUTHENTICATION_METHODS as readonly string[]).includes(m)) throw new Error(`http.authentication.methods: ${m} is not one of ${HTTP_AUTHENTICATION_METHODS.join(", ")}`);
    }
    let tokens: Array<{ user: string; token: Uint8Array }> | null = null;
    if (methods.includes("BEARER")) {
      tokens = config.list("http.authentication.bearer.tokens").map((entry, i) => {
        const colon = entry.indexOf(":");
        if (colon <= 0 || colon === entry.length - 1) throw new Error(`http.authentication.bearer.tokens: entry ${i + 1} is not <user>:<token>`);
        return { user: entry.slice(0, colon).trim(), token: new TextEncoder().encode(entry.slice(colon + 1).trim()) };
      });
      if (tokens.length === 0) throw new Error("http.authentication.methods includes BEARER but http.authentication.bearer.tokens is empty");
    }
    return new HttpAuthentication(methods.includes("BASIC"), tokens, new Set(config.list("http.authentication.exempt.paths")), passwords);
  }

  /** Whether any method is on. */
  get enabled(): boolean {
    return this.basic || this.tokens !== null;
  }

  /** Whether `path` is served without credentials. */
  exempts(path: string): boolean {
    return !this.enabled || this.exempt.has(path);
  }

  /** The `WWW-Authenticate` challenge of a 401. */
  challenge(): string {
    return this.basic ? 'Basic realm="Runnel", charset="UTF-8"' : 'Bearer realm="Runnel"';
  }

  /** The request's principal, or why it is refused. */
  identify(req: HttpRequest): HttpIdentity {
    if (!this.enabled) return { ok: true, principal: ANONYMOUS_PRINCIPAL };
    const header = req.headers["authorization"];
    if (typeof header !== "string" || header === "") return { ok: false, reason: "no credentials" };
    const space = header.indexOf(" ");
    const scheme = (space < 0 ? header : header.slice(0, space)).toLowerCase();
    const rest = space < 0 ? "" : header.slice(space + 1).trim();
    if (scheme === "basic" && this.basic) {
      const decoded = Buffer.from(rest, "base64").toString("utf8");
      const colon = decoded.indexOf(":");
      if (colon <= 0) return { ok: false, reason: "malformed basic credentials" };
      const user = decoded.slice(0, colon);
      if (!this.passwords.verify(user, decoded.slice(colon + 1))) return { ok: false, reason: `invalid user name or password (user '${user}')` };
      return { ok: true, principal: `User:${user}` };
    }
    if (scheme === "bearer" && this.tokens !== null) {
      const given = new TextEncoder().encode(rest);
      let who: string | null = null;
      for (const t of this.tokens) if (constantTimeEqual(given, t.token)) who = t.user;
      return who === null ? { ok: false, reason: "unknown bearer token" } : { ok: true, principal: `User:${who}` };
    }
    return { ok: false, reason: `authentication scheme '${scheme}' is not enabled` };
  }
}
