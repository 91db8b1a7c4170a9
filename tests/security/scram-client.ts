/**
 * A test-side SCRAM client (RFC 5802) over {@link RawClient}, to create users with AlterUserScramCredentials and to
 * send tampered or replayed proofs that real clients never send.
 */
import * as crypto from "node:crypto";
import type { RawClient } from "../support/raw-client.ts";

/** Mechanism ids of AlterUserScramCredentials. */
export const SCRAM_ID = { "SCRAM-SHA-256": 1, "SCRAM-SHA-512": 2 } as const;

const hashOf = (m: keyof typeof SCRAM_ID) => (m === "SCRAM-SHA-256" ? "sha256" : "sha512");

/** Creates or replaces `user`'s credential through AlterUserScramCredentials; returns the user's error code. */
export async function upsertScramUser(c: RawClient, user: string, password: string, mechanism: keyof typeof SCRAM_ID, iterations = 4096): Promise<number> {
  const salt = crypto.randomBytes(16);
  const saltedPassword = crypto.pbkdf2Sync(password, salt, iterations, mechanism === "SCRAM-SHA-256" ? 32 : 64, hashOf(mechanism));
  const res = await c.request(51, 0, { deletions: [], upsertions: [{ name: user, mechanism: SCRAM_ID[mechanism], iterations, salt, saltedPassword }] });
  return res.results[0].errorCode;
}

/** The client's side of one SCRAM exchange; `final()` can be tampered with before sending. */
export class ScramExchange {
  readonly clientNonce = crypto.randomBytes(18).toString("base64");
  readonly clientFirstBare: string;
  serverFirst = "";

  constructor(
    readonly mechanism: keyof typeof SCRAM_ID,
    readonly user: string,
    readonly password: string,
  ) {
    this.clientFirstBare = `n=${user},r=${this.clientNonce}`;
  }

  /** client-first-message. */
  first(): Buffer {
    return Buffer.from(`n,,${this.clientFirstBare}`);
  }

  /** client-final-message for the server-first message. */
  final(serverFirst: string): Buffer {
    this.serverFirst = serverFirst;
    const f = new Map(serverFirst.split(",").map((p) => [p.slice(0, 1), p.slice(2)]));
    const h = hashOf(this.mechanism);
    const salted = crypto.pbkdf2Sync(this.password, Buffer.from(f.get("s")!, "base64"), Number(f.get("i")), h === "sha256" ? 32 : 64, h);
    const clientKey = crypto.createHmac(h, salted).update("Client Key").digest();
    const storedKey = crypto.createHash(h).update(clientKey).digest();
    const withoutProof = `c=biws,r=${f.get("r")}`;
    const sig = crypto.createHmac(h, storedKey).update(`${this.clientFirstBare},${serverFirst},${withoutProof}`).digest();
    const proof = Buffer.alloc(clientKey.length);
    for (let i = 0; i < proof.length; i++) proof[i] = clientKey[i] ^ sig[i];
    return Buffer.from(`${withoutProof},p=${proof.toString("base64")}`);
  }
}
