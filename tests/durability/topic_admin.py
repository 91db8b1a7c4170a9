"""Topic admin for power-cut tests (confluent-kafka AdminClient): create TOPIC with N partitions, delete TOPIC, or
list topics with their partition counts as JSON. Exits non-zero when the broker refuses.

Usage: topic_admin.py BOOTSTRAP create TOPIC N | delete TOPIC | list
"""
import json
import sys

from confluent_kafka.admin import AdminClient, NewTopic

admin = AdminClient({"bootstrap.servers": sys.argv[1]})
op = sys.argv[2]
if op == "create":
    for f in admin.create_topics([NewTopic(sys.argv[3], int(sys.argv[4]), 1)], request_timeout=60).values():
        f.result()
elif op == "delete":
    for f in admin.delete_topics([sys.argv[3]], request_timeout=60).values():
        f.result()
else:
    md = admin.list_topics(timeout=30)
    print(json.dumps({name: len(t.partitions) for name, t in md.topics.items() if not name.startswith("__")}))
