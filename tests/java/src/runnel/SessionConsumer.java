package runnel;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.Metric;
import org.apache.kafka.common.MetricName;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.StringDeserializer;

/**
 * A KafkaConsumer (fetch sessions, KIP-227) assigned every partition of one topic from the start, checking that each
 * partition's values come as "partition:0", "partition:1", ... exactly once and in order. Prints {"event": "progress",
 * "records": n, "disconnects": d} whenever either grows (d: the consumer's connection-close-total, which a fetch that
 * timed out client-side raises), {"event": "bad", ...} for a record out of order or repeated, and {"event": "done"}
 * after "--records" records. Arguments: --bootstrap --topic --partitions N --records total [--prop k=v]...
 */
public final class SessionConsumer {
  private SessionConsumer() {}

  public static void main(String[] argv) throws Exception {
    Map<String, String> args = Out.args(argv);
    Map<String, Object> props = Out.clientProps(args);
    props.put("key.deserializer", StringDeserializer.class.getName());
    props.put("value.deserializer", StringDeserializer.class.getName());
    props.put("enable.auto.commit", "false");
    String topic = args.get("topic");
    int partitions = Integer.parseInt(args.get("partitions"));
    long total = Long.parseLong(args.get("records"));
    List<TopicPartition> tps = new ArrayList<>();
    for (int p = 0; p < partitions; p++) tps.add(new TopicPartition(topic, p));
    long[] next = new long[partitions];
    long records = 0;
    double lastDisconnects = -1;
    long lastRecords = -1;
    try (KafkaConsumer<String, String> consumer = new KafkaConsumer<>(props)) {
      consumer.assign(tps);
      consumer.seekToBeginning(tps);
      while (records < total) {
        for (ConsumerRecord<String, String> r : consumer.poll(Duration.ofMillis(200))) {
          String want = r.partition() + ":" + next[r.partition()];
          if (!want.equals(r.value())) Out.emit("bad", "partition", r.partition(), "offset", r.offset(), "value", r.value(), "want", want);
          else next[r.partition()]++;
          records++;
        }
        double disconnects = 0;
        for (Map.Entry<MetricName, ? extends Metric> m : consumer.metrics().entrySet()) {
          if (m.getKey().name().equals("connection-close-total") && m.getKey().group().equals("consumer-metrics")) disconnects = ((Number) m.getValue().metricValue()).doubleValue();
        }
        if (disconnects != lastDisconnects || records != lastRecords) {
          lastDisconnects = disconnects;
          lastRecords = records;
          Out.emit("progress", "records", records, "disconnects", (long) disconnects);
        }
      }
      Out.emit("done", "records", records);
    } catch (Exception e) {
      Out.emit("error", "error", Out.describe(e));
    }
  }
}
