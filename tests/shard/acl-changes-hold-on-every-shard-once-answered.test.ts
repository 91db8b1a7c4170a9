/**
 * An ACL change a sharded node answered holds on every shard, as on one broker: the host answers a shard's config
 * record write once the other shards' metadata mirrors applied it (src/shard/metadata-mirror.ts, serveMetadata's
 * `othersApplied`). Before, only the writer's mirror had it when CreateAcls was answered, and a request the client
 * sent next, served by another thread, could be judged without it (seen as refused groups and cluster operations in
 * tests/security/acl-answers-as-kafka under the sharded pass, on a loaded machine).
 *
 * A node whose shard threads accept clients too (the kernel spreads the 8 connections over the main thread and the
 * shard threads; each thread's front sends metadata-wide requests to its own shard or the first): each round one
 * connection creates an ACL (every third round also deletes the oldest) and, once answered, another connection
 * lists them; the list must be exactly what was answered, every round.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { acceptSkip, withAcceptingNode } from "./support.ts";

/** Rounds of change-then-list. */
const ROUNDS = 300;
/** Client connections (spread over the node's threads by the kernel). */
const CONNECTIONS = 8;
const TOPIC = 2;
const LITERAL = 3;
const ALLOW = 3;
const READ = 3;
const ANY = 1;

const aclOf = (name: string) => ({ resourceType: TOPIC, resourceName: name, resourcePatternType: LITERAL, principal: "User:alice", host: "*", operation: READ, permissionType: ALLOW });
const filterOf = (name: string | null) => ({ resourceTypeFilter: TOPIC, resourceNameFilter: name, patternTypeFilter: ANY, principalFilter: null, hostFilter: null, operation: ANY, permissionType: ANY });

test("an ACL change a sharded node answered holds for the next request on any thread (create and delete)", { skip: acceptSkip, timeout: 300_000 }, async () => {
  // PLAINTEXT: every client is User:ANONYMOUS, a super user here, so it may change and list ACLs
  const settings = { "authorizer.class.name": "org.apache.kafka.metadata.authorizer.StandardAuthorizer", "super.users": "User:ANONYMOUS" };
  await withAcceptingNode(settings, CONNECTIONS, async (clients) => {
    const held: string[] = [];
    const late: string[] = [];
    for (let i = 0; i < ROUNDS; i++) {
      const writer = clients[i % CONNECTIONS];
      const reader = clients[(3 * i + 1) % CONNECTIONS];
      const name = `t-${String(i).padStart(3, "0")}`;
      const created = await writer.request(30, 3, { creations: [aclOf(name)] });
      assert.deepEqual(created.results.map((r: any) => r.errorCode), [0]);
      held.push(name);
      if (i % 3 === 2) {
        const gone = held.shift()!;
        const deleted = await writer.request(31, 3, { filters: [filterOf(gone)] });
        assert.deepEqual(deleted.filterResults.map((r: any) => [r.errorCode, r.matchingAcls.length]), [[0, 1]]);
      }
      const listed = await reader.request(29, 3, filterOf(null));
      assert.equal(listed.errorCode, 0);
      const seen = listed.resources.map((x: any) => x.resourceName).sort();
      if (seen.join() !== held.join()) late.push(`round ${i}: listed ${seen.length} ACLs, ${held.length} answered`);
    }
    assert.deepEqual(late, [], "every list held exactly what was answered");
  });
});
