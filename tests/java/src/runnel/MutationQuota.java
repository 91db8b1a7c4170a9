package runnel;

import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import org.apache.kafka.clients.admin.*;
import org.apache.kafka.common.KafkaFuture;
import org.apache.kafka.common.errors.ThrottlingQuotaExceededException;
import org.apache.kafka.common.quota.ClientQuotaAlteration;
import org.apache.kafka.common.quota.ClientQuotaEntity;

/**
 * KIP-599 from the Java Admin client: sets controller_mutation_rate for client id "mut" (AlterClientQuotas), then,
 * as "mut", creates topics mq-1..mq-3 (6 partitions each), grows mq-1 and mq-2 to 18 partitions and deletes all
 * three, each first with
 * retryOnQuotaViolation(false) (per topic: "ok" or "throttled:<throttle ms>"), then with the default retries
 * ("ok" once the quota allows). One event per step. Arguments: --bootstrap --rate.
 */
public final class MutationQuota {
  private MutationQuota() {}

  private static String outcome(KafkaFuture<?> f) throws InterruptedException {
    try {
      f.get();
      return "ok";
    } catch (ExecutionException e) {
      if (e.getCause() instanceof ThrottlingQuotaExceededException t) return "throttled:" + t.throttleTimeMs();
      return e.getCause().getClass().getSimpleName();
    }
  }

  private static Map<String, String> outcomes(Map<String, KafkaFuture<Void>> futures) throws InterruptedException {
    Map<String, String> out = new java.util.TreeMap<>();
    for (Map.Entry<String, KafkaFuture<Void>> e : futures.entrySet()) out.put(e.getKey(), outcome(e.getValue()));
    return out;
  }

  public static void main(String[] argv) throws Exception {
    Map<String, String> args = Out.args(argv);
    String bootstrap = args.get("bootstrap");
    try (Admin setup = Admin.create(Map.of("bootstrap.servers", bootstrap))) {
      ClientQuotaEntity entity = new ClientQuotaEntity(Map.of(ClientQuotaEntity.CLIENT_ID, "mut"));
      setup.alterClientQuotas(List.of(new ClientQuotaAlteration(entity, List.of(new ClientQuotaAlteration.Op("controller_mutation_rate", Double.valueOf(args.get("rate"))))))).all().get();
      Out.emit("quota", "described", setup.describeClientQuotas(org.apache.kafka.common.quota.ClientQuotaFilter.all()).entities().get().get(entity));
    }
    try (Admin admin = Admin.create(Map.of("bootstrap.servers", bootstrap, "client.id", "mut"))) {
      List<String> names = List.of("mq-1", "mq-2", "mq-3");
      List<NewTopic> topics = names.stream().map((n) -> new NewTopic(n, 6, (short) 1)).toList();
      Out.emit("create-strict", "result", outcomes(admin.createTopics(topics, new CreateTopicsOptions().retryOnQuotaViolation(false)).values()));
      Out.emit("create-retrying", "result", outcomes(admin.createTopics(topics).values()));
      Map<String, NewPartitions> grow = new java.util.LinkedHashMap<>();
      grow.put("mq-1", NewPartitions.increaseTo(18));
      grow.put("mq-2", NewPartitions.increaseTo(18));
      Out.emit("partitions-strict", "result", outcomes(admin.createPartitions(grow, new CreatePartitionsOptions().retryOnQuotaViolation(false)).values()));
      grow.remove("mq-1");
      Out.emit("partitions-retrying", "result", outcomes(admin.createPartitions(grow).values()));
      Out.emit("delete-strict", "result", outcomes(admin.deleteTopics(names, new DeleteTopicsOptions().retryOnQuotaViolation(false)).topicNameValues()));
      Out.emit("delete-retrying", "result", outcomes(admin.deleteTopics(names).topicNameValues()));
      Out.emit("left", "topics", new java.util.TreeSet<>(admin.listTopics().names().get()));
    }
  }
}
