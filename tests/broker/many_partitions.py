"""Creates TOPIC with PARTITIONS partitions, produces one record to every partition with acks=all and reads every
one back by assigning all partitions (confluent-kafka). Prints one JSON line; exits non-zero on any failure.

Usage: many_partitions.py BOOTSTRAP TOPIC PARTITIONS
"""
import json
import sys
import time

from confluent_kafka import Consumer, KafkaException, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

bootstrap, topic, partitions = sys.argv[1], sys.argv[2], int(sys.argv[3])
admin = AdminClient({"bootstrap.servers": bootstrap})
for f in admin.create_topics([NewTopic(topic, partitions, 1)], request_timeout=120).values():
    f.result()

failed = []
producer = Producer({"bootstrap.servers": bootstrap, "acks": "all", "linger.ms": 20, "queue.buffering.max.messages": 100000})


def delivered(err, msg):
    if err is not None:
        failed.append("%d: %s" % (msg.partition(), err))


for p in range(partitions):
    producer.produce(topic, key=b"k%d" % p, value=b"value-%d" % p, partition=p, on_delivery=delivered)
    producer.poll(0)
if producer.flush(120) != 0 or failed:
    print(json.dumps({"ok": False, "error": "produce failed", "failed": failed[:5]}))
    sys.exit(1)

consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": "many", "enable.auto.commit": False, "fetch.wait.max.ms": 50})
consumer.assign([TopicPartition(topic, p, 0) for p in range(partitions)])
seen = {}
deadline = time.time() + 120
while len(seen) < partitions and time.time() < deadline:
    for m in consumer.consume(1000, 1.0):
        if m.error():
            raise KafkaException(m.error())
        if m.value() != b"value-%d" % m.partition():
            print(json.dumps({"ok": False, "error": "partition %d holds %r" % (m.partition(), m.value())}))
            sys.exit(1)
        seen[m.partition()] = m.offset()
consumer.close()
print(json.dumps({"ok": len(seen) == partitions, "produced": partitions, "read": len(seen)}))
sys.exit(0 if len(seen) == partitions else 1)
