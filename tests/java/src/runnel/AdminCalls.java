package runnel;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutionException;
import org.apache.kafka.clients.admin.*;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.GroupType;
import org.apache.kafka.common.Node;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.TopicPartitionInfo;
import org.apache.kafka.common.config.ConfigResource;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;

/**
 * Calls every Admin method whose API Runnel serves, in a fixed story (topics adm-a and adm-b, group adm-g,
 * transactional ids adm-done and adm-open), and prints one event per call named after the method (plus a suffix for
 * a second call), holding either the normalised result or {"error": exception class}. The TypeScript test compares
 * each with what Kafka answers. Arguments: --bootstrap.
 */
public final class AdminCalls {
  private AdminCalls() {}

  private static Admin admin;

  /** Runs `body` and emits its result as event `name`, or {"error": simple class name of the cause}. */
  private static void call(String name, Callable<Object> body) {
    try {
      Out.emit(name, "result", body.call());
    } catch (ExecutionException e) {
      Out.emit(name, "error", e.getCause().getClass().getSimpleName(), "message", String.valueOf(e.getCause().getMessage()));
    } catch (Exception e) {
      Out.emit(name, "error", e.getClass().getSimpleName(), "message", String.valueOf(e.getMessage()));
    }
  }

  private static Map<String, Object> map(Object... kv) {
    Map<String, Object> m = new LinkedHashMap<>();
    for (int i = 0; i + 1 < kv.length; i += 2) m.put(String.valueOf(kv[i]), kv[i + 1]);
    return m;
  }

  private static List<Integer> ids(Collection<Node> nodes) {
    List<Integer> out = new ArrayList<>();
    for (Node n : nodes) out.add(n.id());
    return out;
  }

  private static Object describeTopic(TopicDescription d) {
    List<Object> parts = new ArrayList<>();
    for (TopicPartitionInfo p : d.partitions())
      parts.add(map("partition", p.partition(), "leader", p.leader() == null ? null : p.leader().id(), "replicas", ids(p.replicas()), "isr", ids(p.isr())));
    return map("name", d.name(), "internal", d.isInternal(), "topicIdSet", d.topicId() != null && !d.topicId().toString().equals("AAAAAAAAAAAAAAAAAAAAAA"), "partitions", parts);
  }

  private static Object configs(ConfigResource r, String... keys) throws Exception {
    Config c = admin.describeConfigs(List.of(r)).all().get().get(r);
    Map<String, Object> out = new TreeMap<>();
    for (String k : keys) {
      ConfigEntry e = c.get(k);
      out.put(k, e == null ? null : map("value", e.value(), "source", e.source().name(), "isDefault", e.isDefault(), "readOnly", e.isReadOnly(), "sensitive", e.isSensitive(), "type", e.type().name()));
    }
    return out;
  }

  private static Object committed(String group) throws Exception {
    Map<String, Object> out = new TreeMap<>();
    for (Map.Entry<TopicPartition, OffsetAndMetadata> e : admin.listConsumerGroupOffsets(group).partitionsToOffsetAndMetadata().get().entrySet())
      out.put(e.getKey().toString(), e.getValue() == null ? null : map("offset", e.getValue().offset(), "metadata", e.getValue().metadata(), "leaderEpoch", e.getValue().leaderEpoch().orElse(null)));
    return out;
  }

  private static Object transaction(TransactionDescription d) {
    List<String> tps = new ArrayList<>();
    for (TopicPartition tp : d.topicPartitions()) tps.add(tp.toString());
    tps.sort(null);
    return map("state", d.state().name(), "producerId", d.producerId(), "producerEpoch", d.producerEpoch(), "timeoutMs", d.transactionTimeoutMs(), "startSet", d.transactionStartTimeMs().isPresent(), "partitions", tps);
  }

  private static KafkaProducer<String, String> producer(String bootstrap, String txnId) {
    Map<String, Object> p = new HashMap<>();
    p.put("bootstrap.servers", bootstrap);
    p.put("key.serializer", StringSerializer.class.getName());
    p.put("value.serializer", StringSerializer.class.getName());
    if (txnId != null) p.put("transactional.id", txnId);
    return new KafkaProducer<>(p);
  }

  public static void main(String[] argv) throws Exception {
    String bootstrap = Out.args(argv).get("bootstrap");
    admin = Admin.create(Map.of("bootstrap.servers", bootstrap));
    ConfigResource topicA = new ConfigResource(ConfigResource.Type.TOPIC, "adm-a");
    TopicPartition b0 = new TopicPartition("adm-b", 0);

    call("createTopics", () -> {
      CreateTopicsResult r = admin.createTopics(List.of(new NewTopic("adm-a", 3, (short) 1).configs(Map.of("retention.ms", "3600000")), new NewTopic("adm-b", Optional.empty(), Optional.empty())));
      r.all().get();
      Map<String, Object> out = new TreeMap<>();
      for (String t : List.of("adm-a", "adm-b")) {
        ConfigEntry ret = r.config(t).get().get("retention.ms");
        out.put(t, map("partitions", r.numPartitions(t).get(), "replicationFactor", r.replicationFactor(t).get(), "topicIdSet", r.topicId(t).get() != null, "retention.ms", ret.value(), "retentionSource", ret.source().name()));
      }
      return out;
    });
    call("createTopics-existing", () -> admin.createTopics(List.of(new NewTopic("adm-a", 1, (short) 1))).all().get());
    call("createTopics-replication-3", () -> admin.createTopics(List.of(new NewTopic("adm-c", 1, (short) 3))).all().get());
    call("createTopics-validate-only", () -> {
      admin.createTopics(List.of(new NewTopic("adm-v", 2, (short) 1)), new CreateTopicsOptions().validateOnly(true)).all().get();
      return admin.listTopics().names().get().contains("adm-v");
    });
    call("listTopics", () -> new java.util.TreeSet<>(admin.listTopics().names().get()));
    call("describeTopics", () -> describeTopic(admin.describeTopics(List.of("adm-a")).allTopicNames().get().get("adm-a")));
    call("describeTopics-by-id", () -> {
      org.apache.kafka.common.Uuid id = admin.describeTopics(List.of("adm-a")).allTopicNames().get().get("adm-a").topicId();
      TopicDescription d = admin.describeTopics(org.apache.kafka.common.TopicCollection.ofTopicIds(List.of(id))).allTopicIds().get().get(id);
      return map("name", d.name(), "partitions", d.partitions().size());
    });
    call("describeTopics-missing", () -> admin.describeTopics(List.of("adm-missing")).allTopicNames().get());
    call("describeCluster", () -> {
      DescribeClusterResult r = admin.describeCluster();
      Node n = r.nodes().get().iterator().next();
      return map("clusterIdSet", r.clusterId().get() != null && !r.clusterId().get().isEmpty(), "controller", r.controller().get().id(), "nodes", ids(r.nodes().get()), "host", n.host(), "port", n.port());
    });
    int nodeId = admin.describeCluster().nodes().get().iterator().next().id();
    ConfigResource broker = new ConfigResource(ConfigResource.Type.BROKER, String.valueOf(nodeId));

    call("describeConfigs-topic", () -> configs(topicA, "retention.ms", "cleanup.policy", "segment.bytes", "max.message.bytes", "min.insync.replicas"));
    call("describeConfigs-broker", () -> configs(broker, "offsets.topic.num.partitions", "log.segment.bytes", "num.partitions"));
    call("incrementalAlterConfigs", () -> {
      admin.incrementalAlterConfigs(Map.of(topicA, List.of(
          new AlterConfigOp(new ConfigEntry("retention.ms", "7200000"), AlterConfigOp.OpType.SET),
          new AlterConfigOp(new ConfigEntry("cleanup.policy", "compact"), AlterConfigOp.OpType.APPEND),
          new AlterConfigOp(new ConfigEntry("max.message.bytes", "500000"), AlterConfigOp.OpType.SET)))).all().get();
      admin.incrementalAlterConfigs(Map.of(topicA, List.of(new AlterConfigOp(new ConfigEntry("max.message.bytes", ""), AlterConfigOp.OpType.DELETE)))).all().get();
      return configs(topicA, "retention.ms", "cleanup.policy", "max.message.bytes");
    });
    call("incrementalAlterConfigs-invalid-value", () -> admin.incrementalAlterConfigs(Map.of(topicA, List.of(new AlterConfigOp(new ConfigEntry("retention.ms", "soon"), AlterConfigOp.OpType.SET)))).all().get());
    call("incrementalAlterConfigs-unknown-name", () -> admin.incrementalAlterConfigs(Map.of(topicA, List.of(new AlterConfigOp(new ConfigEntry("no.such.config", "1"), AlterConfigOp.OpType.SET)))).all().get());
    call("incrementalAlterConfigs-missing-topic", () -> admin.incrementalAlterConfigs(Map.of(new ConfigResource(ConfigResource.Type.TOPIC, "adm-missing"), List.of(new AlterConfigOp(new ConfigEntry("retention.ms", "1"), AlterConfigOp.OpType.SET)))).all().get());

    call("createPartitions", () -> {
      admin.createPartitions(Map.of("adm-b", NewPartitions.increaseTo(4))).all().get();
      return admin.describeTopics(List.of("adm-b")).allTopicNames().get().get("adm-b").partitions().size();
    });
    call("createPartitions-decrease", () -> admin.createPartitions(Map.of("adm-b", NewPartitions.increaseTo(2))).all().get());

    try (KafkaProducer<String, String> p = producer(bootstrap, null)) {
      for (int i = 0; i < 10; i++) p.send(new ProducerRecord<>("adm-b", 0, 1_000_000L + i, "k" + i, "v" + i)).get();
    }
    call("deleteRecords", () -> admin.deleteRecords(Map.of(b0, RecordsToDelete.beforeOffset(4))).lowWatermarks().get(b0).get().lowWatermark());
    call("deleteRecords-compacted", () -> {
      admin.createTopics(List.of(new NewTopic("adm-compact", 1, (short) 1).configs(Map.of("cleanup.policy", "compact")))).all().get();
      TopicPartition c0 = new TopicPartition("adm-compact", 0);
      return admin.deleteRecords(Map.of(c0, RecordsToDelete.beforeOffset(0))).all().get();
    });
    call("deleteRecords-beyond-end", () -> admin.deleteRecords(Map.of(b0, RecordsToDelete.beforeOffset(100))).all().get());
    call("listOffsets", () -> {
      Map<String, OffsetSpec> specs = new LinkedHashMap<>();
      specs.put("earliest", OffsetSpec.earliest());
      specs.put("latest", OffsetSpec.latest());
      specs.put("maxTimestamp", OffsetSpec.maxTimestamp());
      specs.put("forTimestamp", OffsetSpec.forTimestamp(1_000_005L));
      specs.put("forTimestamp-future", OffsetSpec.forTimestamp(2_000_000L));
      specs.put("earliestLocal", OffsetSpec.earliestLocal());
      Map<String, Object> out = new LinkedHashMap<>();
      for (Map.Entry<String, OffsetSpec> e : specs.entrySet()) {
        ListOffsetsResult.ListOffsetsResultInfo i = admin.listOffsets(Map.of(b0, e.getValue())).partitionResult(b0).get();
        out.put(e.getKey(), map("offset", i.offset(), "timestamp", i.timestamp(), "leaderEpoch", i.leaderEpoch().orElse(null)));
      }
      return out;
    });
    call("describeLogDirs", () -> {
      Map<String, LogDirDescription> dirs = admin.describeLogDirs(List.of(nodeId)).allDescriptions().get().get(nodeId);
      List<Object> out = new ArrayList<>();
      for (LogDirDescription d : dirs.values()) {
        ReplicaInfo r = d.replicaInfos().get(b0);
        out.add(map("error", d.error() == null ? null : d.error().getClass().getSimpleName(), "hasAdmB0", r != null, "admB0SizePositive", r != null && r.size() > 0, "admB0Lag", r == null ? null : r.offsetLag(),
            "admB0Future", r != null && r.isFuture(), "totalBytesSet", d.totalBytes().isPresent(), "usableBytesSet", d.usableBytes().isPresent(), "replicaCount", d.replicaInfos().size()));
      }
      return out;
    });

    Map<String, Object> c = new HashMap<>();
    c.put("bootstrap.servers", bootstrap);
    c.put("group.id", "adm-g");
    c.put("group.protocol", "classic");
    c.put("key.deserializer", StringDeserializer.class.getName());
    c.put("value.deserializer", StringDeserializer.class.getName());
    c.put("auto.offset.reset", "earliest");
    c.put("enable.auto.commit", "false");
    try (KafkaConsumer<String, String> consumer = new KafkaConsumer<>(c)) {
      consumer.subscribe(List.of("adm-b"));
      int got = 0;
      long deadline = System.currentTimeMillis() + 60_000;
      while (got < 6 && System.currentTimeMillis() < deadline) got += consumer.poll(Duration.ofMillis(200)).count();
      consumer.commitSync();
      call("describeConsumerGroups-active", () -> {
        ConsumerGroupDescription d = admin.describeConsumerGroups(List.of("adm-g")).all().get().get("adm-g");
        MemberDescription m = d.members().iterator().next();
        List<String> tps = new ArrayList<>();
        for (TopicPartition tp : m.assignment().topicPartitions()) tps.add(tp.toString());
        tps.sort(null);
        return map("state", d.groupState().name(), "type", d.type().name(), "assignor", d.partitionAssignor(), "members", d.members().size(), "assignment", tps, "clientIdSet", !m.clientId().isEmpty(), "hostSet", !m.host().isEmpty(), "simple", d.isSimpleConsumerGroup());
      });
      call("alterConsumerGroupOffsets-active", () -> admin.alterConsumerGroupOffsets("adm-g", Map.of(b0, new OffsetAndMetadata(5))).all().get());
      call("removeMembersFromConsumerGroup", () -> {
        admin.removeMembersFromConsumerGroup("adm-g", new RemoveMembersFromConsumerGroupOptions()).all().get();
        ConsumerGroupDescription d = admin.describeConsumerGroups(List.of("adm-g")).all().get().get("adm-g");
        return map("state", d.groupState().name(), "members", d.members().size());
      });
    }
    call("listConsumerGroups", () -> {
      List<Object> out = new ArrayList<>();
      for (ConsumerGroupListing l : admin.listConsumerGroups().all().get())
        out.add(map("groupId", l.groupId(), "simple", l.isSimpleConsumerGroup(), "state", l.groupState().map(Enum::name).orElse(null), "type", l.type().map(Enum::name).orElse(null)));
      return out;
    });
    call("listGroups", () -> {
      List<Object> out = new ArrayList<>();
      for (GroupListing l : admin.listGroups().all().get())
        out.add(map("groupId", l.groupId(), "protocol", l.protocol(), "state", l.groupState().map(Enum::name).orElse(null), "type", l.type().map(Enum::name).orElse(null)));
      return out;
    });
    call("describeConsumerGroups", () -> {
      ConsumerGroupDescription d = admin.describeConsumerGroups(List.of("adm-g")).all().get().get("adm-g");
      return map("state", d.groupState().name(), "type", d.type().name(), "assignor", d.partitionAssignor(), "members", d.members().size(), "coordinator", d.coordinator().id(), "simple", d.isSimpleConsumerGroup());
    });
    call("listTopics-internal", () -> {
      java.util.TreeSet<String> names = new java.util.TreeSet<>(admin.listTopics(new ListTopicsOptions().listInternal(true)).names().get());
      return map("consumerOffsets", names.contains("__consumer_offsets"), "withoutInternal", new java.util.TreeSet<>(admin.listTopics().names().get()).contains("__consumer_offsets"));
    });
    call("describeReplicaLogDirs", () -> {
      org.apache.kafka.common.TopicPartitionReplica r = new org.apache.kafka.common.TopicPartitionReplica("adm-b", 0, nodeId);
      DescribeReplicaLogDirsResult.ReplicaLogDirInfo info = admin.describeReplicaLogDirs(List.of(r)).all().get().get(r);
      return map("dirSet", info.getCurrentReplicaLogDir() != null, "offsetLag", info.getCurrentReplicaOffsetLag(), "future", info.getFutureReplicaLogDir());
    });
    call("describeConsumerGroups-missing", () -> admin.describeConsumerGroups(List.of("adm-missing")).all().get());
    call("listConsumerGroupOffsets", () -> committed("adm-g"));
    call("alterConsumerGroupOffsets", () -> {
      admin.alterConsumerGroupOffsets("adm-g", Map.of(b0, new OffsetAndMetadata(6, "moved"))).all().get();
      return committed("adm-g");
    });
    call("deleteConsumerGroupOffsets", () -> {
      admin.deleteConsumerGroupOffsets("adm-g", Set.of(b0)).all().get();
      return committed("adm-g");
    });
    call("deleteConsumerGroups", () -> {
      admin.deleteConsumerGroups(List.of("adm-g")).all().get();
      return admin.listConsumerGroups().all().get().size();
    });
    call("deleteConsumerGroups-missing", () -> admin.deleteConsumerGroups(List.of("adm-g")).all().get());

    try (KafkaProducer<String, String> done = producer(bootstrap, "adm-done"); KafkaProducer<String, String> open = producer(bootstrap, "adm-open")) {
      done.initTransactions();
      done.beginTransaction();
      done.send(new ProducerRecord<>("adm-a", 0, "k", "committed")).get();
      done.commitTransaction();
      open.initTransactions();
      open.beginTransaction();
      open.send(new ProducerRecord<>("adm-a", 1, "k", "open")).get();
      call("describeTransactions", () -> {
        Map<String, Object> out = new TreeMap<>();
        admin.describeTransactions(List.of("adm-done", "adm-open")).all().get().forEach((id, d) -> out.put(id, transaction(d)));
        return out;
      });
      call("listOffsets-isolation", () -> {
        TopicPartition a1 = new TopicPartition("adm-a", 1);
        long committed = admin.listOffsets(Map.of(a1, OffsetSpec.latest()), new ListOffsetsOptions(org.apache.kafka.common.IsolationLevel.READ_COMMITTED)).partitionResult(a1).get().offset();
        long uncommitted = admin.listOffsets(Map.of(a1, OffsetSpec.latest()), new ListOffsetsOptions(org.apache.kafka.common.IsolationLevel.READ_UNCOMMITTED)).partitionResult(a1).get().offset();
        return map("readCommitted", committed, "readUncommitted", uncommitted);
      });
      call("describeTransactions-missing", () -> admin.describeTransactions(List.of("adm-missing")).all().get());
      call("listTransactions", () -> {
        Map<String, Object> out = new TreeMap<>();
        for (TransactionListing l : admin.listTransactions().all().get()) out.put(l.transactionalId(), map("state", l.state().name(), "producerIdSet", l.producerId() >= 0));
        return out;
      });
      call("listTransactions-ongoing", () -> {
        List<String> out = new ArrayList<>();
        for (TransactionListing l : admin.listTransactions(new ListTransactionsOptions().filterStates(List.of(org.apache.kafka.clients.admin.TransactionState.ONGOING))).all().get())
          out.add(l.transactionalId());
        return out;
      });
      call("fenceProducers", () -> {
        admin.fenceProducers(List.of("adm-open")).all().get();
        TransactionDescription d = admin.describeTransactions(List.of("adm-open")).all().get().get("adm-open");
        String sendAfter;
        try {
          open.send(new ProducerRecord<>("adm-a", 1, "k", "after-fence")).get();
          open.commitTransaction();
          sendAfter = "committed";
        } catch (Exception e) {
          sendAfter = (e instanceof ExecutionException ? e.getCause() : e).getClass().getSimpleName();
        }
        return map("state", d.state().name(), "epoch", d.producerEpoch(), "partitions", d.topicPartitions().size(), "fencedProducer", sendAfter);
      });
    }

    call("describeFeatures", () -> {
      FeatureMetadata f = admin.describeFeatures().featureMetadata().get();
      Map<String, Object> fin = new TreeMap<>();
      f.finalizedFeatures().forEach((k, v) -> fin.put(k, List.of(v.minVersionLevel(), v.maxVersionLevel())));
      Map<String, Object> sup = new TreeMap<>();
      f.supportedFeatures().forEach((k, v) -> sup.put(k, List.of(v.minVersion(), v.maxVersion())));
      return map("finalized", fin, "supported", sup, "epochSet", f.finalizedFeaturesEpoch().isPresent());
    });
    call("deleteTopics", () -> {
      admin.deleteTopics(List.of("adm-a")).all().get();
      return new java.util.TreeSet<>(admin.listTopics().names().get());
    });
    call("deleteTopics-missing", () -> admin.deleteTopics(List.of("adm-a")).all().get());
    admin.close();
    Out.emit("done");
  }
}
