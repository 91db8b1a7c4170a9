/**
 * The client-quota and SCRAM-credential admin APIs check their requests as Kafka 4.4's controller and broker do
 * (ClientQuotaControlManager, ClientQuotasImage.describe, ScramControlManager), found different by
 * tests/oracle/quotas-scram-random-match-kafka:
 * - AlterClientQuotas: an entity is a map (a type twice keeps its last name); a repeated entity is refused once
 *   with its first entry applied; a key twice refuses the entity; removals are not checked; a fraction or a value
 *   above Long.MAX_VALUE is refused for the byte rates only; values not finite or <= 0, empty names and ip with
 *   user are refused; ip entities (named or default) take `connection_creation_rate` only, a whole number up to
 *   Integer.MAX_VALUE, and a name must be an IP address or a host name that resolves;
 * - DescribeClientQuotas: a type other than user / client-id / ip is UNSUPPORTED_VERSION; a match string given for
 *   DEFAULT or SPECIFIED, an empty type and ip with user are INVALID_REQUEST; SPECIFIED matches the type's default
 *   entity too;
 * - AlterUserScramCredentials: one alteration per user and request (two mechanisms of one user in one request are
 *   DUPLICATE_RESOURCE, nothing stored); an empty salt is accepted.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { startTestBroker } from "../support/broker.ts";
import { RawClient } from "../support/raw-client.ts";

const INVALID_REQUEST = 42;
const UNSUPPORTED_VERSION = 35;
const DUPLICATE_RESOURCE = 92;

type Entity = { entityType: string; entityName: string | null }[];
const user = (name: string | null) => ({ entityType: "user", entityName: name });
const client = (name: string | null) => ({ entityType: "client-id", entityName: name });
const set = (key: string, value: number) => ({ key, value, remove: false });
const remove = (key: string) => ({ key, value: 0, remove: true });
const shown = (entity: Entity) => JSON.stringify([...entity].sort((a, b) => (a.entityType < b.entityType ? -1 : 1)).map((c) => [c.entityType, c.entityName]));

test("AlterClientQuotas and DescribeClientQuotas check entities, keys, values and filters as Kafka 4.4", async () => {
  const b = await startTestBroker();
  const c = await RawClient.connect(b.port);
  try {
    const alter = async (entries: { entity: Entity; ops: ReturnType<typeof set>[] }[]) => {
      const r = await c.request(49, 1, { entries, validateOnly: false });
      return new Map(r.entries.map((e: { entity: Entity; errorCode: number }) => [shown(e.entity), e.errorCode]));
    };
    const answers = await alter([
      { entity: [user("alice")], ops: [set("producer_byte_rate", 1000)] },
      { entity: [user("alice")], ops: [set("consumer_byte_rate", 2000)] },
      { entity: [user("bob")], ops: [set("request_percentage", 1.5), set("request_percentage", 3)] },
      { entity: [client("app")], ops: [remove("no_such_quota"), set("request_percentage", 12.25)] },
      { entity: [client("old"), client("tool")], ops: [set("controller_mutation_rate", 5)] },
      { entity: [client("frac")], ops: [set("producer_byte_rate", 1.5)] },
      { entity: [client("")], ops: [set("producer_byte_rate", 10)] },
      { entity: [{ entityType: "ip", entityName: "127.0.0.1" }, user("carol")], ops: [set("producer_byte_rate", 10)] },
      { entity: [{ entityType: "ip", entityName: "127.0.0.1" }], ops: [set("connection_creation_rate", 10)] },
      { entity: [user(null)], ops: [set("consumer_byte_rate", 0)] },
      { entity: [client("huge")], ops: [set("producer_byte_rate", 1e19)] },
      { entity: [client("endless")], ops: [set("request_percentage", Infinity)] },
      { entity: [client("nan")], ops: [set("controller_mutation_rate", NaN)] },
    ]);
    assert.deepEqual(
      answers,
      new Map([
        [shown([user("alice")]), INVALID_REQUEST], // named twice: one answer, the first entry applied
        [shown([user("bob")]), INVALID_REQUEST], // a key twice
        [shown([client("app")]), 0], // removing what is not there, a fractional percentage
        [shown([client("tool")]), 0], // client-id twice: the last name
        [shown([client("frac")]), INVALID_REQUEST],
        [shown([client("")]), INVALID_REQUEST],
        [shown([{ entityType: "ip", entityName: "127.0.0.1" }, user("carol")]), INVALID_REQUEST],
        [shown([{ entityType: "ip", entityName: "127.0.0.1" }]), 0],
        [shown([user(null)]), INVALID_REQUEST],
        [shown([client("huge")]), INVALID_REQUEST], // above Java's Long.MAX_VALUE
        [shown([client("endless")]), INVALID_REQUEST], // not finite
        [shown([client("nan")]), INVALID_REQUEST],
      ]),
    );
    const all = await c.request(48, 1, { components: [], strict: false });
    assert.equal(all.errorCode, 0);
    const stored = new Map(all.entries.map((e: { entity: Entity; values: { key: string; value: number }[] }) => [shown(e.entity), e.values.map((v) => `${v.key}=${v.value}`).sort().join(",")]));
    assert.deepEqual(stored, new Map([[shown([user("alice")]), "producer_byte_rate=1000"], [shown([client("app")]), "request_percentage=12.25"], [shown([client("tool")]), "controller_mutation_rate=5"], [shown([{ entityType: "ip", entityName: "127.0.0.1" }]), "connection_creation_rate=10"]]));

    const describe = async (components: { entityType: string; matchType: number; match: string | null }[]) => {
      const r = await c.request(48, 1, { components, strict: false });
      assert.equal(r.errorCode !== 0, r.entries === null, "entries are null exactly on an error");
      return r.errorCode;
    };
    assert.equal(await describe([{ entityType: "group", matchType: 2, match: null }]), UNSUPPORTED_VERSION);
    assert.equal(await describe([{ entityType: "", matchType: 2, match: null }]), INVALID_REQUEST);
    assert.equal(await describe([{ entityType: "user", matchType: 1, match: "alice" }]), INVALID_REQUEST);
    assert.equal(await describe([{ entityType: "user", matchType: 2, match: "alice" }]), INVALID_REQUEST);
    assert.equal(await describe([{ entityType: "ip", matchType: 2, match: null }, { entityType: "user", matchType: 0, match: "alice" }]), INVALID_REQUEST);
    assert.equal(await describe([{ entityType: "user", matchType: 0, match: "alice" }]), 0);
  } finally {
    c.close();
    await b.stop();
  }
});

/** The entities a strict SPECIFIED filter of `entityType` describes, with their values. */
async function specified(c: RawClient, entityType: string): Promise<Map<string, string>> {
  const d = await c.request(48, 1, { components: [{ entityType, matchType: 2, match: null }], strict: true });
  assert.equal(d.errorCode, 0);
  return new Map(d.entries.map((e: { entity: Entity; values: { key: string; value: number }[] }) => [shown(e.entity), e.values.map((v) => `${v.key}=${v.value}`).join(",")]));
}

test("a SPECIFIED filter matches the type's default entity too (Kafka 4.4's ClientQuotasImage)", async () => {
  const b = await startTestBroker();
  const c = await RawClient.connect(b.port);
  try {
    const r = await c.request(49, 1, { entries: [{ entity: [client(null)], ops: [set("request_percentage", 50)] }, { entity: [client("app")], ops: [set("request_percentage", 20)] }, { entity: [user("alice"), client(null)], ops: [set("request_percentage", 30)] }], validateOnly: false });
    assert.deepEqual(r.entries.map((e: { errorCode: number }) => e.errorCode), [0, 0, 0]);
    assert.deepEqual(await specified(c, "client-id"), new Map([[shown([client(null)]), "request_percentage=50"], [shown([client("app")]), "request_percentage=20"]]));
    const loose = await c.request(48, 1, { components: [{ entityType: "client-id", matchType: 2, match: null }], strict: false });
    assert.equal(loose.entries.length, 3, "not strict: the user + default client-id entity too");
  } finally {
    c.close();
    await b.stop();
  }
});

test("ip entities take connection_creation_rate as an INT, named or default", async () => {
  const b = await startTestBroker();
  const c = await RawClient.connect(b.port);
  const ip = (name: string | null) => ({ entityType: "ip", entityName: name });
  try {
    const r = await c.request(49, 1, {
      entries: [
        { entity: [ip("127.0.0.1")], ops: [set("connection_creation_rate", 1000)] },
        { entity: [ip(null)], ops: [set("connection_creation_rate", 500)] },
        { entity: [ip("::1")], ops: [set("producer_byte_rate", 10)] },
        { entity: [ip("10.0.0.1")], ops: [set("connection_creation_rate", 1.5)] },
        { entity: [ip("10.0.0.2")], ops: [set("connection_creation_rate", 3e9)] },
        { entity: [ip("no-such-host.invalid")], ops: [set("connection_creation_rate", 10)] },
        { entity: [user("alice")], ops: [set("connection_creation_rate", 10)] },
      ],
      validateOnly: false,
    });
    assert.deepEqual(
      new Map(r.entries.map((e: { entity: Entity; errorCode: number }) => [shown(e.entity), e.errorCode])),
      new Map([
        [shown([ip("127.0.0.1")]), 0],
        [shown([ip(null)]), 0],
        [shown([ip("::1")]), INVALID_REQUEST], // not a key of ip entities
        [shown([ip("10.0.0.1")]), INVALID_REQUEST], // a fraction of an INT
        [shown([ip("10.0.0.2")]), INVALID_REQUEST], // above Integer.MAX_VALUE
        [shown([ip("no-such-host.invalid")]), INVALID_REQUEST], // neither an address nor a host that resolves
        [shown([user("alice")]), INVALID_REQUEST], // not a key of user entities
      ]),
    );
    assert.deepEqual(await specified(c, "ip"), new Map([[shown([ip("127.0.0.1")]), "connection_creation_rate=1000"], [shown([ip(null)]), "connection_creation_rate=500"]]));
  } finally {
    c.close();
    await b.stop();
  }
});

test("AlterUserScramCredentials takes one alteration per user and request, and an empty salt", async () => {
  const b = await startTestBroker();
  const c = await RawClient.connect(b.port);
  try {
    const upsert = (name: string, mechanism: number, salt = 16) => ({ name, mechanism, iterations: 4096, salt: new Uint8Array(salt).fill(1), saltedPassword: new Uint8Array(32).fill(2) });
    const alter = async (deletions: { name: string; mechanism: number }[], upsertions: ReturnType<typeof upsert>[]) => {
      const r = await c.request(51, 0, { deletions, upsertions });
      return new Map(r.results.map((x: { user: string; errorCode: number }) => [x.user, x.errorCode]));
    };
    assert.deepEqual(await alter([], [upsert("alice", 1), upsert("alice", 2), upsert("bob", 1, 0)]), new Map([["alice", DUPLICATE_RESOURCE], ["bob", 0]]));
    assert.deepEqual(await alter([], [upsert("alice", 1)]), new Map([["alice", 0]]));
    assert.deepEqual(await alter([{ name: "alice", mechanism: 1 }], [upsert("alice", 2)]), new Map([["alice", DUPLICATE_RESOURCE]]));
    const all = await c.request(50, 0, { users: null });
    assert.deepEqual(
      all.results.map((r: { user: string; credentialInfos: { mechanism: number }[] }) => [r.user, r.credentialInfos.map((i) => i.mechanism)]).sort(),
      [["alice", [1]], ["bob", [1]]],
    );
  } finally {
    c.close();
    await b.stop();
  }
});
