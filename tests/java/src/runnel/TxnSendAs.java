package runnel;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.errors.TopicAuthorizationException;
import org.apache.kafka.common.serialization.StringSerializer;

/**
 * A transactional producer with the given client properties sends one record to each of --topics in one
 * transaction (one AddPartitionsToTxn), then aborts; prints {"event": "sent", "result": {"topic": "ok" or exception
 * class[:unauthorized topics]}}. Arguments: --bootstrap --transactional-id --topics a,b [--prop k=v]...
 */
public final class TxnSendAs {
  private TxnSendAs() {}

  public static void main(String[] argv) throws Exception {
    Map<String, String> args = Out.args(argv);
    Map<String, Object> props = Out.clientProps(args);
    props.put("transactional.id", args.get("transactional-id"));
    props.put("key.serializer", StringSerializer.class.getName());
    props.put("value.serializer", StringSerializer.class.getName());
    props.put("linger.ms", "50");
    try (KafkaProducer<String, String> p = new KafkaProducer<>(props)) {
      p.initTransactions();
      p.beginTransaction();
      String[] topics = args.get("topics").split(",");
      List<Future<RecordMetadata>> sent = new ArrayList<>();
      for (String t : topics) sent.add(p.send(new ProducerRecord<>(t, "k", "v")));
      Map<String, Object> out = new TreeMap<>();
      for (int i = 0; i < topics.length; i++) {
        try {
          sent.get(i).get();
          out.put(topics[i], "ok");
        } catch (ExecutionException e) {
          Throwable c = e.getCause();
          out.put(topics[i], c instanceof TopicAuthorizationException t ? "TopicAuthorizationException:" + new java.util.TreeSet<>(t.unauthorizedTopics()) : c.getClass().getSimpleName());
        }
      }
      Out.emit("sent", "result", out);
      p.abortTransaction();
    }
  }
}
