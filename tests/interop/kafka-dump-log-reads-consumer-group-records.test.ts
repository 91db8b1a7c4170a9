/**
 * Kafka's own log dump tool (`kafka-dump-log --offsets-decoder`, 4.4) decodes the KIP-848 records Runnel writes to
 * `__consumer_offsets`: ConsumerGroupMetadata, PartitionMetadata, MemberMetadata (with a static instance id and a
 * regex), TargetAssignmentMetadata, TargetAssignmentMember, CurrentMemberAssignment and RegularExpression, and their
 * tombstones when the group is deleted. This proves the record layouts are Kafka's.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { startTestBroker } from "../support/broker.ts";
import { RawClient } from "../support/raw-client.ts";
import { javaSkip, startToolSession, KAFKA_TOOL } from "../support/java.ts";

test("kafka-dump-log --offsets-decoder decodes Runnel's consumer group records", { skip: javaSkip, timeout: 180_000 }, async () => {
  const b = await startTestBroker({ "offsets.topic.num.partitions": "1" });
  const tools = startToolSession();
  let stopped = false;
  try {
    await b.broker.createTopic("dl-t", 2, 1, {}, false);
    const c = await RawClient.connect(b.port);
    const hb = (req: Record<string, unknown>) =>
      c.requestWhileCoordinatorLoads(68, 1, { groupId: "dl-g", instanceId: null, rackId: null, rebalanceTimeoutMs: -1, subscribedTopicNames: null, subscribedTopicRegex: null, serverAssignor: null, topicPartitions: null, ...req }, (r) => r.errorCode);
    await c.findCoordinator("dl-g", 0);
    const a = await hb({ memberId: "dl-a", memberEpoch: 0, instanceId: "dl-inst", rebalanceTimeoutMs: 30000, subscribedTopicNames: ["dl-t"], topicPartitions: [] });
    assert.equal(a.errorCode, 0);
    const r = await hb({ memberId: "dl-r", memberEpoch: 0, rebalanceTimeoutMs: 30000, subscribedTopicNames: [], subscribedTopicRegex: "dl-.*", topicPartitions: [] });
    assert.equal(r.errorCode, 0);
    let epoch = r.memberEpoch;
    for (let i = 0; i < 100 && epoch === r.memberEpoch; i++) epoch = (await hb({ memberId: "dl-r", memberEpoch: r.memberEpoch })).memberEpoch;
    assert.ok(epoch > r.memberEpoch, "the regex was resolved");
    for (const [id, e] of [["dl-a", a.memberEpoch], ["dl-r", epoch]] as const) assert.equal((await hb({ memberId: id, memberEpoch: -1, instanceId: id === "dl-a" ? "dl-inst" : null })).errorCode, 0, `${id} leaves at ${e}`);
    assert.equal((await c.request(42, 2, { groupsNames: ["dl-g"] })).results[0].errorCode, 0);
    c.close();
    await b.stop({ keepDir: true });
    stopped = true;

    const dir = path.join(b.dir, "__consumer_offsets-0");
    const logs = fs.readdirSync(dir).filter((f) => f.endsWith(".log")).map((f) => path.join(dir, f));
    const out = await tools.run(KAFKA_TOOL.dumpLog, ["--offsets-decoder", "--files", logs.join(",")]);
    assert.equal(out.code, 0, out.stderr);
    const text = out.stdout;
    assert.doesNotMatch(text, /exception|unknown|isvalid: false/i, text.slice(0, 3000));
    const has = (re: RegExp, what: string) => assert.match(text, re, `${what}:\n${text.slice(0, 4000)}`);
    has(/key: \{"type":"3","data":\{"groupId":"dl-g"\}\} payload: \{"version":"0","data":\{"epoch":\d+/, "ConsumerGroupMetadata");
    has(/key: \{"type":"4","data":\{"groupId":"dl-g"\}\} payload: \{"version":"0","data":\{"topics":\[\{"topicId":"[A-Za-z0-9_-]{22}","topicName":"dl-t","numPartitions":2,"partitionMetadata":\[\]\}\]/, "ConsumerGroupPartitionMetadata");
    has(/key: \{"type":"5","data":\{"groupId":"dl-g","memberId":"dl-a"\}\} payload: \{"version":"0","data":\{"instanceId":"dl-inst","rackId":null,"clientId":"[^"]*","clientHost":"\/127\.0\.0\.1","subscribedTopicNames":\["dl-t"\]/, "ConsumerGroupMemberMetadata (static)");
    has(/key: \{"type":"5","data":\{"groupId":"dl-g","memberId":"dl-r"\}\} payload: \{"version":"0","data":\{.*"subscribedTopicRegex":"dl-\.\*"/, "ConsumerGroupMemberMetadata (regex)");
    has(/key: \{"type":"6","data":\{"groupId":"dl-g"\}\} payload: \{"version":"0","data":\{"assignmentEpoch":\d+/, "ConsumerGroupTargetAssignmentMetadata");
    has(/key: \{"type":"7","data":\{"groupId":"dl-g","memberId":"dl-a"\}\} payload: \{"version":"0","data":\{"topicPartitions":\[\{"topicId":"[A-Za-z0-9_-]{22}","partitions":\[0,1\]\}\]/, "ConsumerGroupTargetAssignmentMember");
    has(/key: \{"type":"8","data":\{"groupId":"dl-g","memberId":"dl-a"\}\} payload: \{"version":"0","data":\{"memberEpoch":\d+,"previousMemberEpoch":\d+,"state":0,"assignedPartitions":\[\{"topicId":"[A-Za-z0-9_-]{22}","partitions":\[0,1\],"assignmentEpochs":\[\d+,\d+\]/, "ConsumerGroupCurrentMemberAssignment with KIP-1251 assignment epochs");
    has(/key: \{"type":"16","data":\{"groupId":"dl-g","regularExpression":"dl-\.\*"\}\} payload: \{"version":"0","data":\{"topics":\["dl-t"\],"version":\d+,"timestamp":\d+/, "ConsumerGroupRegularExpression");
    for (const type of ["3", "4", "5", "6", "7", "8", "16"]) has(new RegExp(`key: \\{"type":"${type}","data":\\{"groupId":"dl-g"[^}]*\\}\\} payload: <DELETE>`), `tombstone of type ${type}`);
  } finally {
    await tools.close();
    if (!stopped) await b.stop();
    else fs.rmSync(b.dir, { recursive: true, force: true });
  }
});
