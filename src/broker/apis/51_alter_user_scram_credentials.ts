/**
 * AlterUserScramCredentials (key 51), version 0: upserts (the client sends the salt and the salted password; the
 * broker keeps StoredKey and ServerKey only) and deletions, per user, as Kafka 4.4 validates them: an empty name or
 * out-of-bounds iterations is UNACCEPTABLE_CREDENTIAL, an unknown mechanism UNSUPPORTED_SASL_MECHANISM, a user
 * named twice in one request (any mechanisms, deletions and upsertions together) DUPLICATE_RESOURCE, deleting a
 * missing credential RESOURCE_NOT_FOUND; a user's first error is its answer. An empty salt is accepted (Kafka
 * does); an empty salted password is UNACCEPTABLE_CREDENTIAL (Kafka: UNKNOWN_SERVER_ERROR from its HMAC).
 */
import type { AlterUserScramCredentialsRequest, AlterUserScramCredentialsResponse } from "../../protocol/generated/51_alter_user_scram_credentials.ts";
import { ErrorCode } from "../../protocol/errors.ts";
import type { ApiHandler } from "../api-handler.ts";
import type { ScramCredentialStore } from "../../security/scram-credentials.ts";
import { credentialFromSaltedPassword, SCRAM_MAX_ITERATIONS, SCRAM_MECHANISMS, SCRAM_MIN_ITERATIONS } from "../../security/scram.ts";

/** Builds the AlterUserScramCredentials handler over the credential store. */
export function alterUserScramCredentialsHandler(store: ScramCredentialStore): ApiHandler<AlterUserScramCredentialsRequest, AlterUserScramCredentialsResponse> {
  return {
    apiKey: 51,
    minVersion: 0,
    maxVersion: 0,
    async handle(_ctx, req) {
      // Kafka 4.4's rules (ScramControlManager.alterCredentials): one alteration per user and request, checked in
      // request order (deletions, then upsertions); a user's first error is its answer and stops further checks
      const errors = new Map<string, [number, string]>();
      const deletes = new Map<string, string>();
      const upserts = new Map<string, AlterUserScramCredentialsRequest["upsertions"][number]>();
      const order: string[] = [];
      const mechanismOf = (user: string, mechanismId: number): string | null => {
        if (user === "") return errors.set(user, [ErrorCode.UNACCEPTABLE_CREDENTIAL, "Username must not be empty"]), null;
        const m = SCRAM_MECHANISMS.find((x) => x.id === mechanismId);
        if (m === undefined) return errors.set(user, [ErrorCode.UNSUPPORTED_SASL_MECHANISM, `Unknown SCRAM mechanism ${mechanismId}`]), null;
        return m.name;
      };
      const duplicate = (user: string) => errors.set(user, [ErrorCode.DUPLICATE_RESOURCE, "A user credential cannot be altered twice in the same request"]);
      for (const d of req.deletions) {
        if (!order.includes(d.name)) order.push(d.name);
        if (errors.has(d.name)) continue;
        if (deletes.delete(d.name)) {
          duplicate(d.name);
          continue;
        }
        const m = mechanismOf(d.name, d.mechanism);
        if (m === null) continue;
        if (store.get(d.name, m) === undefined) errors.set(d.name, [ErrorCode.RESOURCE_NOT_FOUND, "Attempt to delete a user credential that does not exist"]);
        else deletes.set(d.name, m);
      }
      for (const u of req.upsertions) {
        if (!order.includes(u.name)) order.push(u.name);
        if (errors.has(u.name)) continue;
        if (deletes.delete(u.name) || upserts.delete(u.name)) {
          duplicate(u.name);
          continue;
        }
        const m = mechanismOf(u.name, u.mechanism);
        if (m === null) continue;
        if (u.iterations < SCRAM_MIN_ITERATIONS) errors.set(u.name, [ErrorCode.UNACCEPTABLE_CREDENTIAL, `Too few iterations: ${u.iterations}, at least ${SCRAM_MIN_ITERATIONS} are needed`]);
        else if (u.iterations > SCRAM_MAX_ITERATIONS) errors.set(u.name, [ErrorCode.UNACCEPTABLE_CREDENTIAL, `Too many iterations: ${u.iterations}, at most ${SCRAM_MAX_ITERATIONS}`]);
        else upserts.set(u.name, u);
      }
      for (const [user, u] of upserts) {
        // checked after the others, where Kafka derives the keys (its HMAC refuses an empty key: UNKNOWN_SERVER_ERROR)
        if (u.saltedPassword.length === 0) {
          upserts.delete(user);
          errors.set(user, [ErrorCode.UNACCEPTABLE_CREDENTIAL, "The salted password must not be empty"]);
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
          const d = deletes.get(user);
          const u = upserts.get(user);
          const m = u === undefined ? undefined : SCRAM_MECHANISMS.find((x) => x.id === u.mechanism)!;
          await store.alter(user, u === undefined || m === undefined ? [] : [[m.name, credentialFromSaltedPassword(m.hash, u.salt, u.saltedPassword, u.iterations)]], d === undefined ? [] : [d]);
          results.push({ user, errorCode: ErrorCode.NONE, errorMessage: null });
        } catch (e) {
          results.push({ user, errorCode: ErrorCode.UNKNOWN_SERVER_ERROR, errorMessage: `Storing the credential failed: ${(e as Error).message}` });
        }
      }
      return { throttleTimeMs: 0, results };
    },
  };
}
