"""With 'produce': produces 40 records of 1500 bytes (about 60 KB) to each of partitions 0 and 1 of a topic with
confluent-kafka; with 'consume': reads the 80 records of both partitions from offset 0, assigned together (no group
join, no offset lookup: both partitions are fetchable at once, so librdkafka's first fetches read both within a few
ms rather than one partition's records up to a long poll (fetch.wait.max.ms) after the other's). Prints each
throttle time the broker answered (librdkafka's throttle_cb) as 'throttle <ms>', then 'delivered <n>' or
'consumed <n>'."""
import sys
import time
from confluent_kafka import Consumer, Producer, TopicPartition

mode, bootstrap, topic, client_id = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]
throttles = []
common = {"bootstrap.servers": bootstrap, "client.id": client_id, "throttle_cb": lambda e: throttles.append(e.throttle_time)}
if mode == "produce":
    p = Producer({**common, "linger.ms": 100, "acks": "all", "compression.type": "none"})
    delivered = []
    value = b"q" * 1500
    for partition in (0, 1):
        for _ in range(40):
            p.produce(topic, value, partition=partition, on_delivery=lambda err, msg: delivered.append(err))
    assert p.flush(60) == 0, "records left unsent"
    assert all(err is None for err in delivered), delivered
    # librdkafka reports a throttle on its next poll.
    p.poll(0.5)
    result = f"delivered {len(delivered)}"
else:
    # A short long poll too: a partition that joins the fetch late waits at most this long behind the other's.
    c = Consumer({**common, "group.id": client_id, "enable.auto.commit": False, "fetch.wait.max.ms": 100})
    c.assign([TopicPartition(topic, 0, 0), TopicPartition(topic, 1, 0)])
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
