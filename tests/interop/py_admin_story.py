"""Admin calls and a consumer group from the Python clients against a Runnel broker, one JSON line per step.

Usage: py_admin_story.py (kafka-python|confluent) BOOTSTRAP

Each step prints {"event": step, "result": ...} or {"event": step, "error": "<exception class>: <message>"}, then
{"event": "done"}. kafka-python: KafkaAdminClient (create/describe/alter configs, create partitions, groups and
their offsets, delete) and a KafkaConsumer in a group committing its offsets. confluent-kafka 1.7 (librdkafka):
AdminClient (create topics, describe/alter configs, create partitions, list groups and topics, delete topics).
"""
import json
import sys
import time

lib, bootstrap = sys.argv[1], sys.argv[2]


def step(name, fn):
    try:
        print(json.dumps({"event": name, "result": fn()}), flush=True)
    except Exception as e:  # the test compares the error's class with Kafka's
        print(json.dumps({"event": name, "error": "%s: %s" % (type(e).__name__, e)}), flush=True)


if lib == "kafka-python":
    from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer
    from kafka.admin import ConfigResource, ConfigResourceType, NewPartitions, NewTopic

    admin = KafkaAdminClient(bootstrap_servers=bootstrap, client_id="py-admin")
    step("create_topics", lambda: [str(e) for e in admin.create_topics([NewTopic("py-a", 2, 1, topic_configs={"retention.ms": "3600000"})]).topic_errors])
    step("create_topics-existing", lambda: [e[1] for e in admin.create_topics([NewTopic("py-a", 1, 1)]).topic_errors])

    def configs():
        r = admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, "py-a")])[0]
        return {e[0]: e[1] for e in r.resources[0][4] if e[0] in ("retention.ms", "cleanup.policy")}

    step("describe_configs", configs)
    step("alter_configs", lambda: (admin.alter_configs([ConfigResource(ConfigResourceType.TOPIC, "py-a", {"retention.ms": "7200000"})]), configs())[1])
    step("create_partitions", lambda: (admin.create_partitions({"py-a": NewPartitions(3)}), admin.describe_topics(["py-a"])[0]["partitions"].__len__())[1])
    producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all")
    for i in range(30):
        producer.send("py-a", key=b"k%d" % i, value=b"v%d" % i, partition=i % 3)
    producer.flush()
    producer.close()

    def consume():
        c = KafkaConsumer("py-a", bootstrap_servers=bootstrap, group_id="py-g", auto_offset_reset="earliest", enable_auto_commit=False)
        got = []
        deadline = time.time() + 60
        while len(got) < 30 and time.time() < deadline:
            for tp, recs in c.poll(timeout_ms=500).items():
                got += [(tp.partition, r.offset, r.value.decode()) for r in recs]
        c.commit()
        c.close()
        return sorted(v for _, _, v in got)

    step("group_consume", consume)
    step("list_consumer_groups", lambda: admin.list_consumer_groups())
    step("describe_consumer_groups", lambda: [(g.group, g.state, g.protocol_type, len(g.members)) for g in admin.describe_consumer_groups(["py-g"])])
    step("list_consumer_group_offsets", lambda: {"%s-%d" % (tp.topic, tp.partition): om.offset for tp, om in admin.list_consumer_group_offsets("py-g").items()})
    step("delete_consumer_groups", lambda: [(g, str(e)) for g, e in admin.delete_consumer_groups(["py-g"])])
    step("delete_topics", lambda: [e[1] for e in admin.delete_topics(["py-a"]).topic_error_codes])
    admin.close()
else:
    from confluent_kafka.admin import AdminClient, ConfigResource, NewPartitions, NewTopic

    admin = AdminClient({"bootstrap.servers": bootstrap})

    def wait(futures):
        return {k: (f.result(30) if f.result(30) is None else str(f.result(30))) for k, f in futures.items()}

    step("create_topics", lambda: wait(admin.create_topics([NewTopic("cf-a", 2, 1, config={"retention.ms": "3600000"})])))
    step("create_topics-existing", lambda: wait(admin.create_topics([NewTopic("cf-a", 1, 1)])))

    def configs():
        (f,) = admin.describe_configs([ConfigResource("topic", "cf-a")]).values()
        cs = f.result(30)
        return {k: [cs[k].value, cs[k].source] for k in ("retention.ms", "cleanup.policy")}

    step("describe_configs", configs)
    step("alter_configs", lambda: (wait(admin.alter_configs([ConfigResource("topic", "cf-a", set_config={"retention.ms": "7200000"})])), configs())[1])
    step("create_partitions", lambda: (wait(admin.create_partitions([NewPartitions("cf-a", 3)])), len(admin.list_topics(timeout=30).topics["cf-a"].partitions))[1])
    step("list_topics", lambda: sorted(t for t in admin.list_topics(timeout=30).topics if not t.startswith("__")))
    step("list_groups", lambda: [g.id for g in admin.list_groups(timeout=30)])
    step("delete_topics", lambda: wait(admin.delete_topics(["cf-a"])))
print(json.dumps({"event": "done"}), flush=True)
