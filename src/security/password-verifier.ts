/**
 * Checks a user name and password against the broker's SASL users, for logins that carry a password outside SASL
 * (HTTP basic auth): the PLAIN users of every PlainLoginModule config (`sasl.jaas.config` and each
 * `listener.name.<l>.plain.sasl.jaas.config`), then the SCRAM credentials in the metadata store, where the password
 * is salted with the stored salt and iterations and its StoredKey compared with the stored one (the password itself
 * is never stored). Successful SCRAM checks are remembered so a polling client does not pay PBKDF2 per request.
 */
import { Buffer } from "node:buffer";
import type { BrokerConfig } from "../broker/config.ts";
import { constantTimeEqual, digest } from "../platform/crypto.ts";
import { parseJaasConfig, plainUsers } from "./jaas.ts";
import { credentialFromPassword, SCRAM_MECHANISMS, type ScramCredential } from "./scram.ts";

/** Most remembered successful SCRAM checks (the memory is cleared when full). */
export const PASSWORD_CHECK_CACHE_ENTRIES = 1024;

/** The PLAIN users (name to passwords) of every PlainLoginModule config in `config`. */
export function configuredPlainUsers(config: BrokerConfig): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const [key, value] of config.values) {
    if (key !== "sasl.jaas.config" && !/^listener\.name\.[^.]+\.plain\.sasl\.jaas\.config$/.test(key)) continue;
    const entry = parseJaasConfig(value);
    if (!entry.loginModule.endsWith("PlainLoginModule")) continue;
    for (const [user, password] of plainUsers(entry)) out.set(user, [...(out.get(user) ?? []), password]);
  }
  return out;
}

/** Verifies passwords against PLAIN users and SCRAM credentials. */
export class PasswordVerifier {
  private readonly verified = new Set<string>();

  constructor(
    private readonly plain: ReadonlyMap<string, readonly string[]>,
    private readonly scramCredential: (user: string, mechanism: string) => ScramCredential | undefined,
  ) {}

  /** Whether `password` is `user`'s PLAIN password or proves one of `user`'s SCRAM credentials. */
  verify(user: string, password: string): boolean {
    const enc = new TextEncoder();
    const given = enc.encode(password);
    let ok = false;
    // Compare with every configured password (no early exit) so timing tells little.
    for (const p of this.plain.get(user) ?? []) ok = constantTimeEqual(given, enc.encode(p)) || ok;
    if (ok) return true;
    for (const m of SCRAM_MECHANISMS) {
      const stored = this.scramCredential(user, m.name);
      if (stored === undefined) continue;
      const memo = `${user}\u0000${m.name}\u0000${Buffer.from(stored.storedKey).toString("base64")}\u0000${Buffer.from(digest("sha256", new Uint8Array([...stored.salt, ...given]))).toString("base64")}`;
      if (this.verified.has(memo)) return true;
      const proof = credentialFromPassword(m.hash, password, stored.salt, stored.iterations);
      if (constantTimeEqual(proof.storedKey, stored.storedKey)) {
        if (this.verified.size >= PASSWORD_CHECK_CACHE_ENTRIES) this.verified.clear();
        this.verified.add(memo);
        return true;
      }
    }
    return false;
  }
}
