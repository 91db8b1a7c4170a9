package runnel;

import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ExecutionException;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.ConsumerGroupDescription;
import org.apache.kafka.common.KafkaFuture;

/**
 * Admin.describeConsumerGroups for several groups at once (one batched FindCoordinator v4+, then DescribeGroups),
 * with the given client properties; prints {"event": "groups", "result": {"group": state or error class}}.
 * Arguments: --bootstrap --groups g1,g2 [--prop k=v]...
 */
public final class DescribeGroupsAs {
  private DescribeGroupsAs() {}

  public static void main(String[] argv) throws Exception {
    Map<String, String> args = Out.args(argv);
    Map<String, Object> props = Out.clientProps(args);
    try (Admin admin = Admin.create(props)) {
      Map<String, Object> out = new TreeMap<>();
      for (Map.Entry<String, KafkaFuture<ConsumerGroupDescription>> e : admin.describeConsumerGroups(List.of(args.get("groups").split(","))).describedGroups().entrySet()) {
        try {
          out.put(e.getKey(), e.getValue().get().groupState().toString());
        } catch (ExecutionException x) {
          out.put(e.getKey(), x.getCause().getClass().getSimpleName());
        }
      }
      Out.emit("groups", "result", out);
    }
  }
}
