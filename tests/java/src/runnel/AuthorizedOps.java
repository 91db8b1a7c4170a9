package runnel;

import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.DescribeClusterOptions;
import org.apache.kafka.clients.admin.DescribeConsumerGroupsOptions;
import org.apache.kafka.clients.admin.DescribeTopicsOptions;
import org.apache.kafka.common.acl.AclOperation;

/**
 * The authorized operations the broker reports to a principal (given client properties) for the cluster, one topic
 * and one group; prints {"event": "ops", "cluster": [...], "topic": [...], "group": [...]} (sorted operation names).
 * Arguments: --bootstrap --topic --group [--prop k=v]...
 */
public final class AuthorizedOps {
  private AuthorizedOps() {}

  private static Set<String> names(Set<AclOperation> ops) {
    Set<String> out = new TreeSet<>();
    if (ops != null) for (AclOperation op : ops) out.add(op.name());
    return out;
  }

  public static void main(String[] argv) throws Exception {
    Map<String, String> args = Out.args(argv);
    Map<String, Object> props = Out.clientProps(args);
    try (Admin admin = Admin.create(props)) {
      Set<AclOperation> cluster = admin.describeCluster(new DescribeClusterOptions().includeAuthorizedOperations(true)).authorizedOperations().get();
      Set<AclOperation> topic = admin.describeTopics(List.of(args.get("topic")), new DescribeTopicsOptions().includeAuthorizedOperations(true)).allTopicNames().get().get(args.get("topic")).authorizedOperations();
      Set<AclOperation> group = admin.describeConsumerGroups(List.of(args.get("group")), new DescribeConsumerGroupsOptions().includeAuthorizedOperations(true)).describedGroups().get(args.get("group")).get().authorizedOperations();
      Out.emit("ops", "cluster", names(cluster), "topic", names(topic), "group", names(group));
    }
  }
}
