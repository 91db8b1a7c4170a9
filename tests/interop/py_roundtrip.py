"""Round trip against a Runnel broker with a real Python Kafka client.

Usage: py_roundtrip.py (kafka-python|confluent) BOOTSTRAP TOPIC COUNT

Creates TOPIC with 6 partitions, produces COUNT keyed records with headers and explicit timestamps, consumes them
all back by assigning every partition from the beginning, checks every byte, per-partition order and offsets,
checks offsets_for_times, and prints one JSON line with what it saw. Exits non-zero on any mismatch.
"""
import hashlib
import json
import sys
import time

lib, bootstrap, topic, count = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
PARTITIONS = 6
BASE_TS = 1_700_000_000_000


def record(i):
    key = b"key-%d" % i
    value = hashlib.sha256(b"v%d" % i).digest() * (1 + i % 4)
    headers = [("h1", b"x%d" % i), ("h2", b"")]
    return key, value, headers, BASE_TS + i


def fail(msg):
    print(json.dumps({"ok": False, "error": msg}))
    sys.exit(1)


expected = {}  # partition -> list of record indexes in produce order
seen = {}

if lib == "kafka-python":
    from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer, TopicPartition
    from kafka.admin import NewTopic

    admin = KafkaAdminClient(bootstrap_servers=bootstrap, client_id="py-admin")
    admin.create_topics([NewTopic(topic, PARTITIONS, 1)])
    admin.close()
    producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=5, max_in_flight_requests_per_connection=1)
    futures = []
    for i in range(count):
        k, v, h, ts = record(i)
        futures.append((i, producer.send(topic, key=k, value=v, headers=h, timestamp_ms=ts)))
    producer.flush()
    for i, f in futures:
        md = f.get(timeout=30)
        expected.setdefault(md.partition, []).append((md.offset, i))
    producer.close()
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False, auto_offset_reset="earliest")
    tps = [TopicPartition(topic, p) for p in range(PARTITIONS)]
    consumer.assign(tps)
    consumer.seek_to_beginning()
    got = 0
    deadline = time.time() + 60
    while got < count and time.time() < deadline:
        for tp, msgs in consumer.poll(timeout_ms=500).items():
            for m in msgs:
                seen.setdefault(tp.partition, []).append((m.offset, m.key, m.value, [(a, b) for a, b in m.headers], m.timestamp))
                got += 1
    mid = BASE_TS + count // 2
    times = consumer.offsets_for_times({tp: mid for tp in tps})
    by_time = {tp.partition: (ot.offset if ot else None) for tp, ot in times.items()}
    consumer.close()
elif lib == "confluent":
    from confluent_kafka import Consumer, Producer, TopicPartition
    from confluent_kafka.admin import AdminClient, NewTopic

    admin = AdminClient({"bootstrap.servers": bootstrap})
    for f in admin.create_topics([NewTopic(topic, num_partitions=PARTITIONS, replication_factor=1)]).values():
        f.result(30)
    producer = Producer({"bootstrap.servers": bootstrap, "acks": "all", "linger.ms": 5, "enable.idempotence": True})
    results = {}

    def on_delivery(i):
        def cb(err, msg):
            if err is not None:
                fail("delivery failed: %s" % err)
            results[i] = (msg.partition(), msg.offset())
        return cb

    for i in range(count):
        k, v, h, ts = record(i)
        while True:
            try:
                producer.produce(topic, key=k, value=v, headers=h, timestamp=ts, on_delivery=on_delivery(i))
                break
            except BufferError:
                producer.poll(0.1)
        producer.poll(0)
    if producer.flush(60) != 0:
        fail("flush left messages undelivered")
    for i, (p, off) in results.items():
        expected.setdefault(p, []).append((off, i))
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": "py-unused", "enable.auto.commit": False})
    tps = [TopicPartition(topic, p, -2) for p in range(PARTITIONS)]
    consumer.assign(tps)
    got = 0
    deadline = time.time() + 60
    while got < count and time.time() < deadline:
        for m in consumer.consume(num_messages=1000, timeout=0.5):
            if m.error():
                fail("consume error: %s" % m.error())
            seen.setdefault(m.partition(), []).append((m.offset(), m.key(), m.value(), [(a, b) for a, b in (m.headers() or [])], m.timestamp()[1]))
            got += 1
    mid = BASE_TS + count // 2
    times = consumer.offsets_for_times([TopicPartition(topic, p, mid) for p in range(PARTITIONS)], 10)
    by_time = {tp.partition: (tp.offset if tp.offset >= 0 else None) for tp in times}
    consumer.close()
else:
    fail("unknown lib " + lib)

# Verify: every record once, byte-exact, offsets 0..n-1 per partition in produce order.
total = 0
for p, exp in expected.items():
    exp.sort()
    got = seen.get(p, [])
    if len(got) != len(exp):
        fail("partition %d: expected %d records, got %d" % (p, len(exp), len(got)))
    for j, ((off, i), (goff, k, v, h, ts)) in enumerate(zip(exp, got)):
        ek, ev, eh, ets = record(i)
        if off != j or goff != j:
            fail("partition %d: offset %d/%d at position %d" % (p, off, goff, j))
        if k != ek or v != ev or h != eh or ts != ets:
            fail("partition %d offset %d: content differs" % (p, j))
    total += len(got)
if total != count:
    fail("expected %d records in total, got %d" % (count, total))
# offsets_for_times: first offset whose timestamp >= mid, per partition
mid = BASE_TS + count // 2
for p, exp in expected.items():
    want = next((off for off, i in sorted(exp) if BASE_TS + i >= mid), None)
    if by_time.get(p) != want:
        fail("partition %d: offsets_for_times gave %s, expected %s" % (p, by_time.get(p), want))
print(json.dumps({"ok": True, "records": total, "partitions": sorted(expected.keys())}))
