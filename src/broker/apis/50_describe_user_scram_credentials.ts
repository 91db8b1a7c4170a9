/**
 * DescribeUserScramCredentials (key 50), version 0: each user's SCRAM mechanisms and iteration counts (never the
 * salt or keys). No users named: every user with a credential. A name asked twice: DUPLICATE_RESOURCE; an unknown
 * one: RESOURCE_NOT_FOUND, as in Kafka.
 */
import type { DescribeUserScramCredentialsRequest, DescribeUserScramCredentialsResponse, DescribeUserScramCredentialsResponseDescribeUserScramCredentialsResult } from "../../protocol/generated/50_describe_user_scram_credentials.ts";
import { ErrorCode } from "../../protocol/errors.ts";
import type { ApiHandler } from "../api-handler.ts";
import type { ScramCredentialStore } from "../../security/scram-credentials.ts";
import { SCRAM_MECHANISMS } from "../../security/scram.ts";

/** Builds the DescribeUserScramCredentials handler over the credential store. */
export function describeUserScramCredentialsHandler(store: ScramCredentialStore): ApiHandler<DescribeUserScramCredentialsRequest, DescribeUserScramCredentialsResponse> {
  return {
    apiKey: 50,
    minVersion: 0,
    maxVersion: 0,
    handle(_ctx, req) {
      const asked = req.users === null || req.users.length === 0 ? null : req.users.map((u) => u.name);
      const found = store.describe(asked === null ? null : [...new Set(asked)]);
      const toInfos = (user: string) =>
        (found.get(user) ?? []).flatMap((i) => {
          const m = SCRAM_MECHANISMS.find((x) => x.name === i.mechanism);
          return m === undefined ? [] : [{ mechanism: m.id, iterations: i.iterations }];
        });
      const results: DescribeUserScramCredentialsResponseDescribeUserScramCredentialsResult[] = [];
      if (asked === null) {
        for (const user of [...found.keys()].sort()) results.push({ user, errorCode: ErrorCode.NONE, errorMessage: null, credentialInfos: toInfos(user) });
      } else {
        const seen = new Map<string, number>();
        for (const u of asked) seen.set(u, (seen.get(u) ?? 0) + 1);
        for (const [user, n] of seen) {
          if (n > 1) results.push({ user, errorCode: ErrorCode.DUPLICATE_RESOURCE, errorMessage: `Cannot describe SCRAM credentials for the same user twice in a single request: ${user}`, credentialInfos: [] });
          else if (!found.has(user)) results.push({ user, errorCode: ErrorCode.RESOURCE_NOT_FOUND, errorMessage: `Attempt to describe a user credential that does not exist: ${user}`, credentialInfos: [] });
          else results.push({ user, errorCode: ErrorCode.NONE, errorMessage: null, credentialInfos: toInfos(user) });
        }
      }
      return { throttleTimeMs: 0, errorCode: ErrorCode.NONE, errorMessage: null, results };
    },
  };
}
