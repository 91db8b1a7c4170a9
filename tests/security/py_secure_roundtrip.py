"""confluent-kafka (librdkafka) round trip over a secured listener.

Usage: py_secure_roundtrip.py '<librdkafka config as JSON>' TOPIC COUNT
Produces COUNT keyed records, consumes them back in a consumer group (committing offsets) and prints one JSON line:
{"ok": true, "records": N, "committed": N} or {"ok": false, "error": "..."}.
"""
import json
import sys
import time

from confluent_kafka import Consumer, Producer, TopicPartition

conf = json.loads(sys.argv[1])
topic = sys.argv[2]
count = int(sys.argv[3])
errors = []

p = Producer(dict(conf, **{"acks": "all", "error_cb": lambda e: errors.append(str(e))}))
delivered = []
for i in range(count):
    p.produce(topic, key=f"k{i}".encode(), value=f"v{i}".encode(), on_delivery=lambda err, m: delivered.append(err))
p.flush(60)
if len(delivered) != count or any(e is not None for e in delivered):
    print(json.dumps({"ok": False, "error": f"delivered {len(delivered)}: {[str(e) for e in delivered if e][:3]} {errors[:3]}"}))
    sys.exit(1)

c = Consumer(dict(conf, **{"group.id": f"{topic}-group", "auto.offset.reset": "earliest", "enable.auto.commit": False}))
c.subscribe([topic])
seen = set()
deadline = time.time() + 60
while len(seen) < count and time.time() < deadline:
    m = c.poll(1.0)
    if m is None or m.error():
        continue
    seen.add(m.value().decode())
c.commit(asynchronous=False)
committed = sum(tp.offset for tp in c.committed([TopicPartition(topic, 0)], timeout=10) if tp.offset >= 0)
c.close()
print(json.dumps({"ok": len(seen) == count, "records": len(seen), "committed": committed}))
