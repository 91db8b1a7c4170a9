package runnel;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.util.LinkedHashMap;
import java.util.Map;

/** Prints one JSON object per stdout line: the events the TypeScript tests read (tests/support/json-process.ts). */
public final class Out {
  private static final ObjectMapper JSON = new ObjectMapper();

  private Out() {}

  /** Prints {"event": name, k1: v1, k2: v2, ...}. */
  public static synchronized void emit(String event, Object... kv) {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("event", event);
    for (int i = 0; i + 1 < kv.length; i += 2) m.put(String.valueOf(kv[i]), kv[i + 1]);
    try {
      System.out.println(JSON.writeValueAsString(m));
      System.out.flush();
    } catch (Exception e) {
      throw new RuntimeException(e);
    }
  }

  /** Parses "--name value" pairs (and bare "--flag") into a map; repeated "--prop k=v" are collected under "prop". */
  public static Map<String, String> args(String[] argv) {
    Map<String, String> m = new LinkedHashMap<>();
    for (int i = 0; i < argv.length; i++) {
      String a = argv[i];
      if (!a.startsWith("--")) throw new IllegalArgumentException("unexpected argument " + a);
      String key = a.substring(2);
      String value = i + 1 < argv.length && !argv[i + 1].startsWith("--") ? argv[++i] : "true";
      if (key.equals("prop")) m.merge("prop", value, (x, y) -> x + "\n" + y);
      else m.put(key, value);
    }
    return m;
  }

  /** The "--prop k=v" values of `args` put into `props`. */
  public static void props(Map<String, String> args, Map<String, Object> props) {
    String all = args.get("prop");
    if (all == null) return;
    for (String kv : all.split("\n")) {
      int eq = kv.indexOf('=');
      props.put(kv.substring(0, eq), kv.substring(eq + 1));
    }
  }

  /** Client properties: bootstrap.servers from "--bootstrap" and the "--prop k=v" values of `args`. */
  public static Map<String, Object> clientProps(Map<String, String> args) {
    Map<String, Object> props = new java.util.HashMap<>();
    props.put("bootstrap.servers", args.get("bootstrap"));
    props(args, props);
    return props;
  }

  /** The name of an exception and its cause chain, for error events. */
  public static String describe(Throwable t) {
    StringBuilder sb = new StringBuilder();
    for (Throwable c = t; c != null; c = c.getCause()) {
      if (sb.length() > 0) sb.append(" <- ");
      sb.append(c.getClass().getSimpleName()).append(": ").append(c.getMessage());
    }
    return sb.toString();
  }
}
