/**
 * SCRAM-SHA-256 and SCRAM-SHA-512 (RFC 5802, RFC 7677) as Kafka serves them: the server keeps only the salt, the
 * iteration count, StoredKey and ServerKey; a client proves it knows the password without sending it. Channel
 * binding is not offered (gs2 header `n,,` or `y,,`), as in Kafka; the `tokenauth` extension is refused.
 */
import { constantTimeEqual, digest, hmac, pbkdf2, type HashName } from "../platform/crypto.ts";
import type { RandomSource } from "../platform/random.ts";
import { SaslFailure, type SaslExchange, type SaslStep } from "./sasl-mechanism.ts";

/** The SCRAM mechanisms and their Kafka protocol ids (AlterUserScramCredentials' `mechanism`). */
export const SCRAM_MECHANISMS: ReadonlyArray<{ name: string; id: number; hash: HashName }> = [
  { name: "SCRAM-SHA-256", id: 1, hash: "sha256" },
  { name: "SCRAM-SHA-512", id: 2, hash: "sha512" },
];

/** Kafka's bounds on SCRAM iterations. */
export const SCRAM_MIN_ITERATIONS = 4096;
/** Kafka's bounds on SCRAM iterations. */
export const SCRAM_MAX_ITERATIONS = 16384;

/** What the server stores for one user and mechanism (never the password). */
export interface ScramCredential {
  /** Salt. */
  salt: Uint8Array;
  /** H(HMAC(SaltedPassword, "Client Key")). */
  storedKey: Uint8Array;
  /** HMAC(SaltedPassword, "Server Key"). */
  serverKey: Uint8Array;
  /** PBKDF2 iterations. */
  iterations: number;
}

/** The credential for a salted password (what AlterUserScramCredentials carries). */
export function credentialFromSaltedPassword(hash: HashName, salt: Uint8Array, saltedPassword: Uint8Array, iterations: number): ScramCredential {
  const clientKey = hmac(hash, saltedPassword, "Client Key");
  return { salt, storedKey: digest(hash, clientKey), serverKey: hmac(hash, saltedPassword, "Server Key"), iterations };
}

/** The credential for a password (development users given in the config). */
export function credentialFromPassword(hash: HashName, password: string, salt: Uint8Array, iterations: number): ScramCredential {
  return credentialFromSaltedPassword(hash, salt, pbkdf2(hash, new TextEncoder().encode(password.normalize("NFKC")), salt, iterations), iterations);
}

/** Kafka's stored text form: `salt=<b64>,stored_key=<b64>,server_key=<b64>,iterations=<n>`. */
export function formatCredential(c: ScramCredential): string {
  return `salt=${b64(c.salt)},stored_key=${b64(c.storedKey)},server_key=${b64(c.serverKey)},iterations=${c.iterations}`;
}

/** Parses {@link formatCredential}'s form; null when malformed. */
export function parseCredential(text: string): ScramCredential | null {
  const f = attributes(text);
  const iterations = Number(f.get("iterations"));
  const salt = f.get("salt"), storedKey = f.get("stored_key"), serverKey = f.get("server_key");
  if (salt === undefined || storedKey === undefined || serverKey === undefined || !Number.isInteger(iterations)) return null;
  return { salt: unb64(salt), storedKey: unb64(storedKey), serverKey: unb64(serverKey), iterations };
}

const b64 = (b: Uint8Array) => Buffer.from(b).toString("base64");
const unb64 = (s: string) => new Uint8Array(Buffer.from(s, "base64"));

/** Splits `k=v,k=v` (values may contain '='). */
function attributes(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const part of text.split(",")) {
    const eq = part.indexOf("=");
    if (eq > 0) out.set(part.slice(0, eq), part.slice(eq + 1));
  }
  return out;
}

/** Decodes a SCRAM saslname (`=2C` is ',', `=3D` is '='); null when it holds another escape. */
function decodeSaslName(s: string): string | null {
  if (/=(?!2C|3D)/.test(s)) return null;
  return s.replace(/=2C/g, ",").replace(/=3D/g, "=");
}

const PRINTABLE_NONCE = /^[\x21-\x2b\x2d-\x7e]+$/;

/** The server side of one SCRAM exchange: client-first -> server-first, client-final -> server-final. */
export class ScramServer implements SaslExchange {
  private state: "first" | "final" | "done" = "first";
  private user = "";
  private nonce = "";
  private gs2Header = "";
  private clientFirstBare = "";
  private serverFirst = "";
  private credential: ScramCredential | null = null;
  private readonly hash: HashName;

  constructor(
    private readonly mechanism: string,
    private readonly lookup: (user: string, mechanism: string) => ScramCredential | undefined,
    private readonly random: RandomSource,
  ) {
    const m = SCRAM_MECHANISMS.find((x) => x.name === mechanism);
    if (m === undefined) throw new Error(`not a SCRAM mechanism: ${mechanism}`);
    this.hash = m.hash;
  }

  step(token: Uint8Array): SaslStep {
    const text = new TextDecoder("utf-8", { fatal: false }).decode(token);
    if (this.state === "first") return this.first(text);
    if (this.state === "final") return this.final(text);
    throw new SaslFailure("SCRAM exchange already complete", "a message after the final one");
  }

  private first(text: string): SaslStep {
    // gs2-header: "n,," or "y,," (no channel binding), optionally with "a=authzid".
    const m = /^([ny]),(a=[^,]*)?,(.*)$/.exec(text);
    if (m === null) throw new SaslFailure("Invalid SCRAM client first message", text.startsWith("p=") ? "channel binding asked" : "malformed client-first message");
    this.gs2Header = `${m[1]},${m[2] ?? ""},`;
    this.clientFirstBare = m[3];
    const parts = this.clientFirstBare.split(",");
    if (parts.length < 2 || !parts[0].startsWith("n=") || !parts[1].startsWith("r=")) throw new SaslFailure("Invalid SCRAM client first message", "malformed client-first message");
    const user = decodeSaslName(parts[0].slice(2));
    const clientNonce = parts[1].slice(2);
    if (user === null || user === "" || !PRINTABLE_NONCE.test(clientNonce)) throw new SaslFailure("Invalid SCRAM client first message", "malformed user name or nonce");
    const authzid = m[2]?.slice(2);
    if (authzid !== undefined && authzid !== "" && decodeSaslName(authzid) !== user) throw new SaslFailure("Authentication failed: Invalid user credentials", "authorization id differs from the user");
    for (const ext of parts.slice(2)) {
      if (ext.startsWith("tokenauth=")) throw new SaslFailure("Authentication failed: delegation tokens are not supported", "tokenauth extension");
    }
    this.user = user;
    const credential = this.lookup(user, this.mechanism);
    if (credential === undefined) throw new SaslFailure(`Authentication failed during authentication due to invalid credentials with SASL mechanism ${this.mechanism}`, `unknown user '${user}'`);
    this.credential = credential;
    const nonceBytes = new Uint8Array(24);
    this.random.fill(nonceBytes);
    this.nonce = clientNonce + b64(nonceBytes);
    this.serverFirst = `r=${this.nonce},s=${b64(credential.salt)},i=${credential.iterations}`;
    this.state = "final";
    return { response: new TextEncoder().encode(this.serverFirst), principal: null };
  }

  private final(text: string): SaslStep {
    this.state = "done";
    const proofAt = text.lastIndexOf(",p=");
    if (proofAt < 0) throw new SaslFailure("Invalid SCRAM client final message", "no proof");
    const withoutProof = text.slice(0, proofAt);
    const f = attributes(withoutProof);
    if (f.get("c") !== b64(new TextEncoder().encode(this.gs2Header))) throw new SaslFailure("Invalid SCRAM client final message", "channel binding differs");
    // Kafka accepts a nonce that ends with the server's (librdkafka 2.0 sends the client nonce again in front of it).
    if (!(f.get("r") ?? "").endsWith(this.nonce)) throw new SaslFailure("Invalid SCRAM client final message", "nonce differs from the server's (replayed or tampered)");
    const proof = unb64(text.slice(proofAt + 3));
    const c = this.credential!;
    const authMessage = `${this.clientFirstBare},${this.serverFirst},${withoutProof}`;
    const clientSignature = hmac(this.hash, c.storedKey, authMessage);
    if (proof.length !== clientSignature.length) throw new SaslFailure(`Authentication failed during authentication due to invalid credentials with SASL mechanism ${this.mechanism}`, `bad proof for user '${this.user}'`);
    const clientKey = new Uint8Array(proof.length);
    for (let i = 0; i < proof.length; i++) clientKey[i] = proof[i] ^ clientSignature[i];
    if (!constantTimeEqual(digest(this.hash, clientKey), c.storedKey)) {
      throw new SaslFailure(`Authentication failed during authentication due to invalid credentials with SASL mechanism ${this.mechanism}`, `wrong password for user '${this.user}'`);
    }
    const serverSignature = hmac(this.hash, c.serverKey, authMessage);
    return { response: new TextEncoder().encode(`v=${b64(serverSignature)}`), principal: this.user };
  }
}
