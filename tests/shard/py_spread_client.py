"""With 'produce': produces 40 KiB to each of partitions 0 and 1 of a topic with confluent-kafka; with 'consume':
reads 80 records from the start of both partitions. Prints each throttle time the broker answered (librdkafka's
throttle_cb) as 'throttle <ms>', then 'delivered <n>' or 'consumed <n>'."""
import sys
import time
from confluent_kafka import Consumer, Producer

mode, bootstrap, topic, client_id = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]
throttles = []
common = {"bootstrap.servers": bootstrap, "client.id": client_id, "throttle_cb": lambda e: throttles.append(e.throttle_time)}
if mode == "produce":
    p = Producer({**common, "linger.ms": 100, "acks": "all", "compression.type": "none"})
    delivered = []
    value = b"q" * 1000
    for partition in (0, 1):
        for _ in range(40):
            p.produce(topic, value, partition=partition, on_delivery=lambda err, msg: delivered.append(err))
    assert p.flush(60) == 0, "records left unsent"
    assert all(err is None for err in delivered), delivered
    # librdkafka reports a throttle on its next poll.
    p.poll(0.5)
    result = f"delivered {len(delivered)}"
else:
    c = Consumer({**common, "group.id": client_id, "auto.offset.reset": "earliest", "enable.auto.commit": False})
    c.subscribe([topic])
    got = 0
    deadline = time.time() + 60
    while got < 80 and time.time() < deadline:
        m = c.poll(0.5)
        if m is not None and m.error() is None:
            got += 1
    c.poll(0.5)
    c.close()
    result = f"consumed {got}"
for t in throttles:
    print(f"throttle {int(t * 1000)}")
print(result)
