package runnel;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.ListConsumerGroupOffsetsSpec;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.TopicPartition;

/**
 * Admin.listConsumerGroupOffsets (OffsetFetch v8+) for chosen partitions of one group, with the given client
 * properties; prints {"event": "offsets", "result": {"topic-partition": offset}} or {"event": "offsets", "error":
 * exception chain}. Arguments: --bootstrap --group --partitions a-0,b-0 [--prop k=v]...
 */
public final class GroupOffsets {
  private GroupOffsets() {}

  public static void main(String[] argv) throws Exception {
    Map<String, String> args = Out.args(argv);
    Map<String, Object> props = Out.clientProps(args);
    List<TopicPartition> tps = new ArrayList<>();
    for (String tp : args.get("partitions").split(",")) {
      int dash = tp.lastIndexOf('-');
      tps.add(new TopicPartition(tp.substring(0, dash), Integer.parseInt(tp.substring(dash + 1))));
    }
    String group = args.get("group");
    try (Admin admin = Admin.create(props)) {
      Map<TopicPartition, OffsetAndMetadata> got = admin.listConsumerGroupOffsets(Map.of(group, new ListConsumerGroupOffsetsSpec().topicPartitions(tps))).partitionsToOffsetAndMetadata(group).get();
      Map<String, Object> out = new TreeMap<>();
      for (Map.Entry<TopicPartition, OffsetAndMetadata> e : got.entrySet()) out.put(e.getKey().toString(), e.getValue() == null ? null : e.getValue().offset());
      Out.emit("offsets", "result", out);
    } catch (Exception e) {
      Out.emit("offsets", "error", Out.describe(e));
    }
  }
}
