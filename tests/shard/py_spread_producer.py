"""Produces 40 KiB to each of partitions 0 and 1 of a topic with confluent-kafka and prints each throttle time the
broker answered (librdkafka's throttle_cb) as 'throttle <ms>', then 'delivered <n>'."""
import sys
from confluent_kafka import Producer

bootstrap, topic, client_id = sys.argv[1], sys.argv[2], sys.argv[3]
throttles = []
p = Producer({
    "bootstrap.servers": bootstrap,
    "client.id": client_id,
    "linger.ms": 100,
    "acks": "all",
    "compression.type": "none",
    "throttle_cb": lambda e: throttles.append(e.throttle_time),
})
delivered = []
value = b"q" * 1000
for partition in (0, 1):
    for _ in range(40):
        p.produce(topic, value, partition=partition, on_delivery=lambda err, msg: delivered.append(err))
assert p.flush(60) == 0, "records left unsent"
assert all(err is None for err in delivered), delivered
# librdkafka reports a throttle on its next poll.
p.poll(0.5)
for t in throttles:
    print(f"throttle {int(t * 1000)}")
print(f"delivered {len(delivered)}")
