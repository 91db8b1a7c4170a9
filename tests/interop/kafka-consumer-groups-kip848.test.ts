/**
 * Issue 13 acceptance, kafka-consumer-groups (Kafka 4.4's ConsumerGroupCommand, which uses the Admin client:
 * ConsumerGroupDescribe for KIP-848 groups, OffsetFetch, ListGroups with types, DeleteGroups) on a group of Java
 * KafkaConsumers with group.protocol=consumer: --list with types, --describe (offsets and lag, members, state) while
 * the member runs, then --delete once it left.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { startTestBroker } from "../support/broker.ts";
import { javaSkip, spawnJava, startToolSession, KAFKA_TOOL } from "../support/java.ts";
import { Producer } from "../../src/client/producer.ts";
import { waitUntil } from "../transactions/wait-until.ts";
import { describeConsumerGroup, groupState, waitFor } from "../support/group-state.ts";

const cells = (line: string) => line.trim().split(/\s+/);

test("kafka-consumer-groups --list/--describe/--delete on a group.protocol=consumer group", { skip: javaSkip, timeout: 180_000 }, async () => {
  const b = await startTestBroker({ "group.consumer.min.heartbeat.interval.ms": "500", "group.consumer.heartbeat.interval.ms": "500" });
  const tools = startToolSession();
  const member = spawnJava("runnel.GroupMember", ["--bootstrap", b.bootstrap, "--group", "kc-g", "--topics", "kc", "--protocol", "consumer", "--prop", "client.id=kc-client"]);
  const tool = async (args: string[]) => {
    const r = await tools.run(KAFKA_TOOL.consumerGroups, ["--bootstrap-server", b.bootstrap, ...args]);
    assert.equal(r.code, 0, `${args.join(" ")} exited ${r.code}:\n${r.stdout}\n${r.stderr}`);
    return r.stdout.split("\n").map((l) => l.trimEnd()).filter((l) => l.trim() !== "");
  };
  try {
    await b.broker.createTopic("kc", 4, 1, {}, false);
    const p = new Producer({ bootstrap: b.bootstrap, acks: "all" });
    await p.connect();
    await Promise.all([...Array(20).keys()].map((i) => p.send({ topic: "kc", key: `k${i}`, value: `v${i}` })));
    await p.close();
    await waitUntil(() => member.events.filter((e) => e.event === "committed").reduce((n, e) => n + e.count, 0) >= 20, 60_000, () => `the member to consume and commit 20 records:\n${member.output()}`);
    const memberId = (await describeConsumerGroup(b.port, "kc-g")).members[0].memberId;

    const listed = await tool(["--list", "--type"]);
    assert.deepEqual(listed.map(cells), [["GROUP", "TYPE"], ["kc-g", "Consumer"]]);

    const described = await tool(["--describe", "--group", "kc-g"]);
    assert.deepEqual(cells(described[0]), ["GROUP", "TOPIC", "PARTITION", "CURRENT-OFFSET", "LOG-END-OFFSET", "LAG", "CONSUMER-ID", "HOST", "CLIENT-ID"]);
    const rows = described.slice(1).map(cells);
    assert.deepEqual(rows.map((r) => [r[0], r[1], r[2], r[5], r[6], r[7], r[8]]), [0, 1, 2, 3].map((p) => ["kc-g", "kc", `${p}`, "0", memberId, "/127.0.0.1", "kc-client"]));
    assert.equal(rows.reduce((n, r) => n + Number(r[3]), 0), 20, "committed offsets add up to the records produced");

    const members = await tool(["--describe", "--group", "kc-g", "--members", "--verbose"]);
    assert.deepEqual(cells(members[0]), ["GROUP", "CONSUMER-ID", "HOST", "CLIENT-ID", "#PARTITIONS", "CURRENT-EPOCH", "CURRENT-ASSIGNMENT", "TARGET-EPOCH", "TARGET-ASSIGNMENT"]);
    assert.deepEqual(cells(members[1]), ["kc-g", memberId, "/127.0.0.1", "kc-client", "4", "2", "kc:0,1,2,3", "2", "kc:0,1,2,3"]);

    const state = await tool(["--describe", "--group", "kc-g", "--state", "--verbose"]);
    assert.deepEqual(cells(state[0]), ["GROUP", "COORDINATOR", "(ID)", "ASSIGNMENT-STRATEGY", "STATE", "GROUP-EPOCH", "TARGET-ASSIGNMENT-EPOCH", "#MEMBERS"]);
    assert.deepEqual(cells(state[1]), ["kc-g", b.bootstrap, "(1)", "uniform", "Stable", "2", "2", "1"]);

    member.send("close");
    await member.waitFor((e) => e.event === "closed", 60_000, "the member to leave");
    await waitFor(async () => (await groupState(b.port, "kc-g")) === "Empty", 30_000, "the group to be empty");
    assert.deepEqual(await tool(["--delete", "--group", "kc-g"]), ["Deletion of requested consumer groups ('kc-g') was successful."]);
    assert.deepEqual(await tool(["--list"]), []);
  } finally {
    member.send("close");
    await Promise.race([member.exited, new Promise((r) => setTimeout(r, 10_000))]);
    await member.kill();
    await tools.close();
    await b.stop();
  }
});
