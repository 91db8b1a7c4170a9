package runnel;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Future;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.ProducerFencedException;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;

/**
 * KafkaProducer scenarios, one JVM for all: --bootstrap, --idem-topic (an idempotent acks=all producer sends --count
 * keyed records), --txn-topic (a transactional producer commits one transaction of --count records and aborts one of
 * --count records, then a second producer with the same transactional.id fences the first), then consumers with
 * read_committed and read_uncommitted read --txn-topic back. Events: "idempotent" (per-partition offsets of every
 * send), "transactions" (the fencing outcome), "read" (isolation level and the values read, per partition).
 * --compression sets compression.type for both producers.
 */
public final class Producers {
  private Producers() {}

  private static String compression = "none";

  private static Map<String, Object> producerProps(String bootstrap) {
    Map<String, Object> p = new HashMap<>();
    p.put("compression.type", compression);
    p.put("bootstrap.servers", bootstrap);
    p.put("key.serializer", StringSerializer.class.getName());
    p.put("value.serializer", StringSerializer.class.getName());
    p.put("acks", "all");
    p.put("linger.ms", "5");
    return p;
  }

  private static void idempotent(String bootstrap, String topic, int count) throws Exception {
    Map<String, Object> p = producerProps(bootstrap);
    p.put("enable.idempotence", "true");
    p.put("max.in.flight.requests.per.connection", "5");
    try (KafkaProducer<String, String> producer = new KafkaProducer<>(p)) {
      List<Future<RecordMetadata>> sent = new ArrayList<>();
      for (int i = 0; i < count; i++) sent.add(producer.send(new ProducerRecord<>(topic, "k" + i, "v" + i)));
      producer.flush();
      List<Object[]> acks = new ArrayList<>();
      for (int i = 0; i < count; i++) {
        RecordMetadata m = sent.get(i).get();
        acks.add(new Object[] {i, m.partition(), m.offset()});
      }
      Out.emit("idempotent", "acks", acks);
    }
  }

  private static void transactional(String bootstrap, String topic, int count) throws Exception {
    Map<String, Object> p = producerProps(bootstrap);
    p.put("transactional.id", "runnel-java-txn");
    KafkaProducer<String, String> first = new KafkaProducer<>(p);
    first.initTransactions();
    first.beginTransaction();
    for (int i = 0; i < count; i++) first.send(new ProducerRecord<>(topic, "k" + i, "committed-" + i));
    first.commitTransaction();
    first.beginTransaction();
    for (int i = 0; i < count; i++) first.send(new ProducerRecord<>(topic, "k" + i, "aborted-" + i));
    first.flush();
    first.abortTransaction();
    first.beginTransaction();
    first.send(new ProducerRecord<>(topic, "k", "fenced-attempt")).get();

    KafkaProducer<String, String> second = new KafkaProducer<>(p);
    second.initTransactions();
    String fenced = "not fenced";
    try {
      first.commitTransaction();
    } catch (ProducerFencedException e) {
      fenced = "ProducerFencedException";
    } catch (Exception e) {
      fenced = Out.describe(e);
    }
    first.close(Duration.ofSeconds(5));
    second.beginTransaction();
    second.send(new ProducerRecord<>(topic, "k", "after-fence"));
    second.commitTransaction();
    second.close();
    Out.emit("transactions", "fenced", fenced);
  }

  private static void read(String bootstrap, String topic, String isolation) {
    Map<String, Object> c = new HashMap<>();
    c.put("bootstrap.servers", bootstrap);
    c.put("key.deserializer", StringDeserializer.class.getName());
    c.put("value.deserializer", StringDeserializer.class.getName());
    c.put("isolation.level", isolation);
    try (KafkaConsumer<String, String> consumer = new KafkaConsumer<>(c)) {
      List<TopicPartition> tps = new ArrayList<>();
      consumer.partitionsFor(topic).forEach(pi -> tps.add(new TopicPartition(topic, pi.partition())));
      consumer.assign(tps);
      consumer.seekToBeginning(tps);
      Map<TopicPartition, Long> end = consumer.endOffsets(tps);
      Map<String, List<String>> values = new HashMap<>();
      long deadline = System.currentTimeMillis() + 60_000;
      while (System.currentTimeMillis() < deadline) {
        boolean done = true;
        for (TopicPartition tp : tps) if (consumer.position(tp) < end.get(tp)) done = false;
        if (done) break;
        for (ConsumerRecord<String, String> r : consumer.poll(Duration.ofMillis(200)))
          values.computeIfAbsent(String.valueOf(r.partition()), k -> new ArrayList<>()).add(r.value());
      }
      Map<String, Long> ends = new HashMap<>();
      end.forEach((tp, o) -> ends.put(String.valueOf(tp.partition()), o));
      Out.emit("read", "isolation", isolation, "values", values, "endOffsets", ends);
    }
  }

  public static void main(String[] argv) throws Exception {
    Map<String, String> args = Out.args(argv);
    String bootstrap = args.get("bootstrap");
    int count = Integer.parseInt(args.getOrDefault("count", "1000"));
    compression = args.getOrDefault("compression", "none");
    idempotent(bootstrap, args.get("idem-topic"), count);
    transactional(bootstrap, args.get("txn-topic"), count);
    read(bootstrap, args.get("txn-topic"), "read_committed");
    read(bootstrap, args.get("txn-topic"), "read_uncommitted");
  }
}
