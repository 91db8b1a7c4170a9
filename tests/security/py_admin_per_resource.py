"""confluent-kafka (librdkafka) AdminClient calls naming several resources, each answered on its own future.

Usage: py_admin_per_resource.py '<librdkafka config as JSON>' '<plan as JSON>'
The plan names the resources of each call: {"create": [topics], "delete": [topics], "partitions": [topics],
"describe": [topics], "alter": [topics]}. Prints one JSON object mapping "call:resource" to "ok" or the Kafka error
name that resource's future raised.
"""
import json
import sys

from confluent_kafka import KafkaException
from confluent_kafka.admin import AdminClient, ConfigResource, NewPartitions, NewTopic

conf = json.loads(sys.argv[1])
plan = json.loads(sys.argv[2])
admin = AdminClient(conf)
out = {}


def settle(call, futures):
    for key, fut in futures.items():
        name = key.name if isinstance(key, ConfigResource) else key
        try:
            fut.result(timeout=30)
            out[f"{call}:{name}"] = "ok"
        except KafkaException as e:
            out[f"{call}:{name}"] = e.args[0].name()


settle("create", admin.create_topics([NewTopic(t, 1, 1) for t in plan.get("create", [])], operation_timeout=20))
settle("delete", admin.delete_topics(plan.get("delete", []), operation_timeout=20))
settle("partitions", admin.create_partitions([NewPartitions(t, 2) for t in plan.get("partitions", [])], operation_timeout=20))
settle("describe", admin.describe_configs([ConfigResource("topic", t) for t in plan.get("describe", [])]))
settle("alter", admin.alter_configs([ConfigResource("topic", t, set_config={"retention.ms": "3600000"}) for t in plan.get("alter", [])]))
print(json.dumps(out))
