"""Produces to partition PARTITION (default 0) of TOPIC with acks=all (confluent-kafka, i.e. librdkafka) until killed, and prints one
line "OFFSET KEY" for every record the broker acknowledged, as soon as the acknowledgement arrives.

Usage: acked_producer.py BOOTSTRAP TOPIC KEY_PREFIX VALUE_BYTES [PARTITION]
Keys are KEY_PREFIX-0, KEY_PREFIX-1, ...; each value is VALUE_BYTES bytes.
"""
import sys

from confluent_kafka import Producer

bootstrap, topic, prefix, value_bytes = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
partition = int(sys.argv[5]) if len(sys.argv) > 5 else 0
producer = Producer({
    "bootstrap.servers": bootstrap,
    "acks": "all",
    "linger.ms": 1,
    "enable.idempotence": False,
    "message.timeout.ms": 300000,
    "queue.buffering.max.messages": 32,
})
value = b"v" * value_bytes


def delivered(err, msg):
    if err is None:
        sys.stdout.write("%d %s\n" % (msg.offset(), msg.key().decode()))
        sys.stdout.flush()


i = 0
while True:
    try:
        producer.produce(topic, key=b"%s-%d" % (prefix.encode(), i), value=value, partition=partition, on_delivery=delivered)
        i += 1
        producer.poll(0)
    except BufferError:
        producer.poll(0.05)
