"""Leaves a hanging transaction: a confluent-kafka transactional producer writes 3 records to each of partitions 0
and 1 of a topic, then exits without committing or aborting. Prints 'written' once the records are acknowledged."""
import os
import sys
from confluent_kafka import Producer

bootstrap, topic = sys.argv[1], sys.argv[2]
p = Producer({"bootstrap.servers": bootstrap, "transactional.id": "hanging", "transaction.timeout.ms": 600000})
p.init_transactions(60)
p.begin_transaction()
for partition in (0, 1):
    for i in range(3):
        p.produce(topic, f"v{i}".encode(), partition=partition)
assert p.flush(60) == 0, "records left unsent"
print("written", flush=True)
os._exit(0)
