/**
 * AlterUserScramCredentials (key 51), version 0: upserts (the client sends the salt and the salted password; the
 * broker keeps StoredKey and ServerKey only) and deletions, per user, as Kafka validates them: an empty name or
 * out-of-bounds iterations is UNACCEPTABLE_CREDENTIAL, an unknown mechanism UNSUPPORTED_SASL_MECHANISM, a user and
 * mechanism named twice DUPLICATE_RESOURCE, deleting a missing credential RESOURCE_NOT_FOUND.
 */
import type { AlterUserScramCredentialsRequest, AlterUserScramCredentialsResponse } from "../../protocol/generated/51_alter_user_scram_credentials.ts";
import { ErrorCode } from "../../protocol/errors.ts";
import type { ApiHandler } from "../api-handler.ts";
import type { ScramCredentialStore } from "../../security/scram-credentials.ts";
import { credentialFromSaltedPassword, SCRAM_MAX_ITERATIONS, SCRAM_MECHANISMS, SCRAM_MIN_ITERATIONS, type ScramCredential } from "../../security/scram.ts";

/** Builds the AlterUserScramCredentials handler over the credential store. */
export function alterUserScramCredentialsHandler(store: ScramCredentialStore): ApiHandler<AlterUserScramCredentialsRequest, AlterUserScramCredentialsResponse> {
  return {
    apiKey: 51,
    minVersion: 0,
    maxVersion: 0,
    async handle(_ctx, req) {
      const errors = new Map<string, [number, string]>();
      const fail = (user: string, code: number, msg: string) => {
        if (!errors.has(user)) errors.set(user, [code, msg]);
      };
      const upserts = new Map<string, Array<[string, ScramCredential]>>();
      const deletes = new Map<string, string[]>();
      const seen = new Set<string>();
      const order: string[] = [];
      const note = (user: string, mechanismId: number): string | null => {
        if (!order.includes(user)) order.push(user);
        if (user === "") return fail(user, ErrorCode.UNACCEPTABLE_CREDENTIAL, "Username must not be empty"), null;
        const m = SCRAM_MECHANISMS.find((x) => x.id === mechanismId);
        if (m === undefined) return fail(user, ErrorCode.UNSUPPORTED_SASL_MECHANISM, `Unknown SCRAM mechanism ${mechanismId}`), null;
        const key = `${user}\u0000${m.name}`;
        if (seen.has(key)) return fail(user, ErrorCode.DUPLICATE_RESOURCE, "A user credential cannot be altered twice in the same request"), null;
        seen.add(key);
        return m.name;
      };
      for (const d of req.deletions) {
        const m = note(d.name, d.mechanism);
        if (m === null) continue;
        if (store.get(d.name, m) === undefined) fail(d.name, ErrorCode.RESOURCE_NOT_FOUND, "Attempt to delete a user credential that does not exist");
        else deletes.set(d.name, [...(deletes.get(d.name) ?? []), m]);
      }
      for (const u of req.upsertions) {
        const m = note(u.name, u.mechanism);
        if (m === null) continue;
        if (u.iterations < SCRAM_MIN_ITERATIONS) fail(u.name, ErrorCode.UNACCEPTABLE_CREDENTIAL, `Too few iterations: ${u.iterations}, at least ${SCRAM_MIN_ITERATIONS} are needed`);
        else if (u.iterations > SCRAM_MAX_ITERATIONS) fail(u.name, ErrorCode.UNACCEPTABLE_CREDENTIAL, `Too many iterations: ${u.iterations}, at most ${SCRAM_MAX_ITERATIONS}`);
        else if (u.salt.length === 0 || u.saltedPassword.length === 0) fail(u.name, ErrorCode.UNACCEPTABLE_CREDENTIAL, "Salt and salted password must not be empty");
        else {
          const hash = SCRAM_MECHANISMS.find((x) => x.name === m)!.hash;
          upserts.set(u.name, [...(upserts.get(u.name) ?? []), [m, credentialFromSaltedPassword(hash, u.salt, u.saltedPassword, u.iterations)]]);
        }
      }
      const results = [];
      for (const user of order) {
        const err = errors.get(user);
        if (err !== undefined) {
          results.push({ user, errorCode: err[0], errorMessage: err[1] });
          continue;
        }
        try {
          await store.alter(user, upserts.get(user) ?? [], deletes.get(user) ?? []);
          results.push({ user, errorCode: ErrorCode.NONE, errorMessage: null });
        } catch (e) {
          results.push({ user, errorCode: ErrorCode.UNKNOWN_SERVER_ERROR, errorMessage: `Storing the credential failed: ${(e as Error).message}` });
        }
      }
      return { throttleTimeMs: 0, results };
    },
  };
}
