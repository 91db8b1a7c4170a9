/**
 * SASL OAUTHBEARER (RFC 7628) with Kafka's default server-side validation: unsecured JWS tokens (`alg: none`, for
 * development, as Kafka's OAuthBearerUnsecuredValidatorCallbackHandler). The client's message is
 * `n,[a=authzid],\x01auth=Bearer <token>\x01[key=value\x01]...\x01`; the token needs the principal claim
 * (`unsecuredValidatorPrincipalClaimName`, default `sub`) and an `exp` in the future (within
 * `unsecuredValidatorAllowableClockSkewMs`), and every `unsecuredValidatorRequiredScope` in its `scope`. With a JWKS
 * (Kafka's OAuthBearerValidatorCallbackHandler, `sasl.oauthbearer.jwks.endpoint.url`) only signed tokens are
 * accepted: the signature must verify with the key named by `kid`, and `iss`/`aud` must match when expected.
 */
import type { KeyObject } from "node:crypto";
import { verifyJws } from "../platform/crypto.ts";
import { SaslFailure, type SaslExchange, type SaslStep } from "./sasl-mechanism.ts";

/** The verification keys of signed tokens (a listener's JwksSource). */
export interface VerificationKeys {
  /** The keys by `kid` now. */
  keys(): ReadonlyMap<string, KeyObject>;
  /** Told when a token names a key id the keys lack (the source may refresh). */
  missingKid(kid: string): void;
}

/** Validation options (Kafka's unsecured validator JAAS options). */
export interface UnsecuredJwsOptions {
  /** Claim holding the principal name. */
  principalClaim: string;
  /** Scopes the token must carry. */
  requiredScopes: readonly string[];
  /** Allowed clock skew in ms. */
  clockSkewMs: number;
  /** Wall clock, ms. */
  nowMs(): number;
  /** Signed-token validation: the JWKS keys (null: unsecured tokens only). */
  jwks: VerificationKeys | null;
  /** `sasl.oauthbearer.expected.issuer`, or null. */
  expectedIssuer: string | null;
  /** `sasl.oauthbearer.expected.audience` (any one must appear in `aud`), empty = not checked. */
  expectedAudience: readonly string[];
}

const INVALID = "Authentication failed: invalid OAUTHBEARER token";

function base64urlJson(part: string, what: string): Record<string, unknown> {
  if (!/^[A-Za-z0-9_-]*$/.test(part)) throw new SaslFailure(INVALID, `${what} is not base64url`);
  try {
    const v = JSON.parse(Buffer.from(part, "base64url").toString("utf8"));
    if (v === null || typeof v !== "object" || Array.isArray(v)) throw new Error("not an object");
    return v as Record<string, unknown>;
  } catch {
    throw new SaslFailure(INVALID, `${what} is not a JSON object`);
  }
}

/** The server side of one OAUTHBEARER exchange. */
export class OAuthBearerServer implements SaslExchange {
  private done = false;

  constructor(private readonly opts: UnsecuredJwsOptions) {}

  step(token: Uint8Array): SaslStep {
    if (this.done) throw new SaslFailure("OAUTHBEARER exchange already complete", "a second OAUTHBEARER message");
    this.done = true;
    const text = new TextDecoder().decode(token);
    const m = /^([ny]),(?:a=([^,\x01]*))?,\x01((?:[^\x01]*\x01)*)\x01$/.exec(text);
    if (m === null) throw new SaslFailure("Invalid OAUTHBEARER client first message", "malformed client message");
    const fields = new Map<string, string>();
    for (const kv of m[3].split("\x01").filter((x) => x !== "")) {
      const eq = kv.indexOf("=");
      if (eq <= 0) throw new SaslFailure("Invalid OAUTHBEARER client first message", "malformed key=value");
      fields.set(kv.slice(0, eq), kv.slice(eq + 1));
    }
    const auth = /^Bearer\s+([^\s]+)$/i.exec(fields.get("auth") ?? "");
    if (auth === null) throw new SaslFailure("Invalid OAUTHBEARER client first message", "no auth=Bearer token");
    const parts = auth[1].split(".");
    if (parts.length !== 3) throw new SaslFailure(INVALID, "token is not a JWS");
    const header = base64urlJson(parts[0], "JOSE header");
    const source = this.opts.jwks;
    if (source === null) {
      if (header.alg !== "none" || parts[2] !== "") throw new SaslFailure(INVALID, `signed token (alg ${String(header.alg)}) but only unsecured tokens are validated`);
    } else {
      if (header.alg === "none" || parts[2] === "") throw new SaslFailure(INVALID, "unsecured token but a signature is required (JWKS)");
      const jwks = source.keys();
      const key = typeof header.kid === "string" ? jwks.get(header.kid) : jwks.size === 1 ? [...jwks.values()][0] : undefined;
      if (key === undefined) {
        if (typeof header.kid === "string") source.missingKid(header.kid);
        throw new SaslFailure(INVALID, `no JWKS key for kid ${String(header.kid)}`);
      }
      if (!/^[A-Za-z0-9_-]+$/.test(parts[2]) || !verifyJws(String(header.alg), key, `${parts[0]}.${parts[1]}`, new Uint8Array(Buffer.from(parts[2], "base64url")))) {
        throw new SaslFailure(INVALID, `bad signature (alg ${String(header.alg)}, kid ${String(header.kid)})`);
      }
    }
    const claims = base64urlJson(parts[1], "claims");
    if (this.opts.expectedIssuer !== null && claims.iss !== this.opts.expectedIssuer) throw new SaslFailure(INVALID, "unexpected issuer");
    if (this.opts.expectedAudience.length > 0) {
      const aud = Array.isArray(claims.aud) ? claims.aud.map(String) : typeof claims.aud === "string" ? [claims.aud] : [];
      if (!this.opts.expectedAudience.some((a) => aud.includes(a))) throw new SaslFailure(INVALID, "unexpected audience");
    }
    const principal = claims[this.opts.principalClaim];
    if (typeof principal !== "string" || principal === "") throw new SaslFailure(INVALID, `no '${this.opts.principalClaim}' claim`);
    const now = this.opts.nowMs();
    if (typeof claims.exp !== "number") throw new SaslFailure(INVALID, "no numeric 'exp' claim");
    if (claims.exp * 1000 + this.opts.clockSkewMs <= now) throw new SaslFailure(INVALID, `token of '${principal}' expired`);
    if (typeof claims.iat === "number" && claims.iat * 1000 - this.opts.clockSkewMs > now) throw new SaslFailure(INVALID, `token of '${principal}' issued in the future`);
    const scopes = typeof claims.scope === "string" ? claims.scope.split(" ") : Array.isArray(claims.scope) ? claims.scope.map(String) : [];
    for (const s of this.opts.requiredScopes) if (!scopes.includes(s)) throw new SaslFailure(INVALID, `token of '${principal}' lacks scope '${s}'`);
    if (m[2] !== undefined && m[2] !== "" && m[2] !== principal) throw new SaslFailure(INVALID, "authorization id differs from the token's principal");
    return { response: new Uint8Array(0), principal, lifetimeMs: claims.exp * 1000 - now };
  }
}
