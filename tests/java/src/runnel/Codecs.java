package runnel;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;

/**
 * KafkaProducer with each compression.type (none, gzip, snappy, lz4, zstd) writes --count keyed records with a
 * header to topic "codec-<type>" (one partition); a KafkaConsumer reads them back. Events: codec {"codec","read",
 * "mismatches"}, counting records whose key, value or header differ from what was sent.
 */
public final class Codecs {
  private Codecs() {}

  private static String value(int i) {
    StringBuilder sb = new StringBuilder();
    for (int j = 0; j < 20 + i % 80; j++) sb.append((char) ('a' + (i * 31 + j * 7) % 26));
    return sb.toString();
  }

  public static void main(String[] argv) throws Exception {
    Map<String, String> args = Out.args(argv);
    String bootstrap = args.get("bootstrap");
    int count = Integer.parseInt(args.getOrDefault("count", "2000"));
    for (String codec : List.of("none", "gzip", "snappy", "lz4", "zstd")) {
      String topic = "codec-" + codec;
      Map<String, Object> p = new HashMap<>();
      p.put("bootstrap.servers", bootstrap);
      p.put("key.serializer", StringSerializer.class.getName());
      p.put("value.serializer", StringSerializer.class.getName());
      p.put("compression.type", codec);
      p.put("linger.ms", "20");
      try (KafkaProducer<String, String> producer = new KafkaProducer<>(p)) {
        for (int i = 0; i < count; i++) {
          ProducerRecord<String, String> r = new ProducerRecord<>(topic, 0, "k" + i, value(i));
          r.headers().add("i", Integer.toString(i).getBytes(StandardCharsets.UTF_8));
          producer.send(r);
        }
        producer.flush();
      }
      Map<String, Object> c = new HashMap<>();
      c.put("bootstrap.servers", bootstrap);
      c.put("key.deserializer", StringDeserializer.class.getName());
      c.put("value.deserializer", StringDeserializer.class.getName());
      int read = 0;
      int mismatches = 0;
      try (KafkaConsumer<String, String> consumer = new KafkaConsumer<>(c)) {
        TopicPartition tp = new TopicPartition(topic, 0);
        consumer.assign(List.of(tp));
        consumer.seekToBeginning(List.of(tp));
        long deadline = System.currentTimeMillis() + 60_000;
        while (read < count && System.currentTimeMillis() < deadline) {
          for (ConsumerRecord<String, String> r : consumer.poll(Duration.ofMillis(200))) {
            int i = (int) r.offset();
            String header = new String(r.headers().lastHeader("i").value(), StandardCharsets.UTF_8);
            if (!r.key().equals("k" + i) || !r.value().equals(value(i)) || !header.equals(Integer.toString(i))) mismatches++;
            read++;
          }
        }
      }
      Out.emit("codec", "codec", codec, "read", read, "mismatches", mismatches);
    }
  }
}
