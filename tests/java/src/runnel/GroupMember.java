package runnel;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;
import org.apache.kafka.clients.consumer.CommitFailedException;
import org.apache.kafka.clients.consumer.ConsumerRebalanceListener;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.SubscriptionPattern;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.RebalanceInProgressException;
import org.apache.kafka.common.errors.WakeupException;
import org.apache.kafka.common.serialization.StringDeserializer;

/**
 * One KafkaConsumer group member that runs until told to stop. Arguments: --bootstrap, --group, --topics a,b or
 * --pattern REGEX (java.util.regex, resolved by the client) or --re2 REGEX (a SubscriptionPattern the broker resolves,
 * group.protocol=consumer only), --protocol classic|consumer (group.protocol), optional --instance-id (static membership) and
 * repeated --prop key=value (any consumer config). It commits synchronously after each poll that returned records.
 * Events: {"event":"assigned"|"revoked"|"lost","partitions":["t-0",...]}, {"event":"records","records":[[topic,
 * partition,offset,key,value],...]}, {"event":"committed"} or {"event":"commit-failed"}, {"event":"closed"}, {"event":"error","message":...}.
 * Stdin: "close" leaves the group cleanly and exits.
 */
public final class GroupMember {
  private GroupMember() {}

  private static List<String> names(Collection<TopicPartition> tps) {
    List<String> out = new ArrayList<>();
    for (TopicPartition tp : tps) out.add(tp.topic() + "-" + tp.partition());
    out.sort(null);
    return out;
  }

  public static void main(String[] argv) throws Exception {
    Map<String, String> args = Out.args(argv);
    Map<String, Object> props = new HashMap<>();
    props.put("bootstrap.servers", args.get("bootstrap"));
    props.put("group.id", args.get("group"));
    props.put("group.protocol", args.getOrDefault("protocol", "classic"));
    props.put("key.deserializer", StringDeserializer.class.getName());
    props.put("value.deserializer", StringDeserializer.class.getName());
    props.put("auto.offset.reset", "earliest");
    props.put("enable.auto.commit", "false");
    if (args.containsKey("instance-id")) props.put("group.instance.id", args.get("instance-id"));
    Out.props(args, props);

    KafkaConsumer<String, String> consumer = new KafkaConsumer<>(props);
    Thread stdin = new Thread(() -> {
      try (BufferedReader r = new BufferedReader(new InputStreamReader(System.in))) {
        for (String line; (line = r.readLine()) != null; ) if (line.trim().equals("close")) break;
      } catch (Exception ignored) {
        // stdin closed: treat as close
      }
      consumer.wakeup();
    });
    stdin.setDaemon(true);

    ConsumerRebalanceListener listener = new ConsumerRebalanceListener() {
      @Override
      public void onPartitionsRevoked(Collection<TopicPartition> tps) {
        Out.emit("revoked", "partitions", names(tps));
      }

      @Override
      public void onPartitionsAssigned(Collection<TopicPartition> tps) {
        Out.emit("assigned", "partitions", names(tps), "assignment", names(consumer.assignment()));
      }

      @Override
      public void onPartitionsLost(Collection<TopicPartition> tps) {
        Out.emit("lost", "partitions", names(tps));
      }
    };
    if (args.containsKey("re2")) consumer.subscribe(new SubscriptionPattern(args.get("re2")), listener);
    else if (args.containsKey("pattern")) consumer.subscribe(Pattern.compile(args.get("pattern")), listener);
    else consumer.subscribe(Arrays.asList(args.get("topics").split(",")), listener);
    stdin.start();
    Out.emit("started", "protocol", props.get("group.protocol"));
    try {
      while (true) {
        ConsumerRecords<String, String> recs = consumer.poll(Duration.ofMillis(200));
        if (recs.isEmpty()) continue;
        List<Object[]> rows = new ArrayList<>();
        for (ConsumerRecord<String, String> r : recs) rows.add(new Object[] {r.topic(), r.partition(), r.offset(), r.key(), r.value()});
        Out.emit("records", "records", rows);
        try {
          consumer.commitSync();
          Out.emit("committed", "count", rows.size());
        } catch (CommitFailedException | RebalanceInProgressException e) {
          Out.emit("commit-failed", "message", Out.describe(e));
        }
      }
    } catch (WakeupException e) {
      // asked to close
    } catch (Exception e) {
      Out.emit("error", "message", Out.describe(e));
    } finally {
      consumer.close();
      Out.emit("closed");
    }
  }
}
