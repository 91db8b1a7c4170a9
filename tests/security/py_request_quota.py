"""confluent-kafka (librdkafka) producer that sends one record per Produce request and watches throttle_cb.

Usage: py_request_quota.py BOOTSTRAP CLIENT_ID TOPIC MAX_RECORDS STOP_ON_THROTTLE(0|1)
Sends records one at a time (each flushed, so each is its own request) until MAX_RECORDS, or, with
STOP_ON_THROTTLE=1, until the broker first reports a throttle time. Prints one JSON line:
{"sent": N, "throttles": [ms, ...]}.
"""
import json
import sys

from confluent_kafka import Producer

bootstrap, client_id, topic, max_records, stop = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5] == "1"
throttles = []
p = Producer({"bootstrap.servers": bootstrap, "client.id": client_id, "linger.ms": 0, "acks": 1,
              "throttle_cb": lambda e: throttles.append(e.throttle_time) if e.throttle_time > 0 else None})
sent = 0
while sent < max_records and not (stop and throttles):
    p.produce(topic, value=b"r" * 100)
    p.flush(30)
    sent += 1
p.poll(0)
print(json.dumps({"sent": sent, "throttles": [round(t * 1000) for t in throttles]}))
