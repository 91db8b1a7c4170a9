/**
 * Kafka's JAAS login config text as brokers take it in `sasl.jaas.config`:
 * `org.apache.kafka.common.security.plain.PlainLoginModule required username="admin" password="s" user_alice="a";`.
 * Only the single-module form Kafka accepts for `sasl.jaas.config` is read.
 */

/** One parsed login module entry. */
export interface JaasEntry {
  /** Fully qualified login module class. */
  loginModule: string;
  /** required, requisite, sufficient or optional. */
  flag: string;
  /** Options (quotes removed). */
  options: Map<string, string>;
}

/** Parses a `sasl.jaas.config` value; throws with a message that never repeats option values. */
export function parseJaasConfig(text: string): JaasEntry {
  const s = text.trim();
  const head = /^([A-Za-z_$][\w.$]*)\s+(required|requisite|sufficient|optional)\b/.exec(s);
  if (head === null) throw new Error("sasl.jaas.config: expected '<LoginModule class> required key=\"value\" ...;'");
  const options = new Map<string, string>();
  let at = head[0].length;
  const opt = /\s*([\w.\-]+)\s*=\s*("((?:[^"\\]|\\.)*)"|([^\s;"]+))/y;
  for (;;) {
    opt.lastIndex = at;
    const m = opt.exec(s);
    if (m === null) break;
    options.set(m[1], m[3] !== undefined ? m[3].replace(/\\(.)/g, "$1") : m[4]);
    at = opt.lastIndex;
  }
  if (!/^\s*;\s*$/.test(s.slice(at))) throw new Error(`sasl.jaas.config: malformed options after '${[...options.keys()].join(" ")}' (expected key="value" pairs ending with ';')`);
  return { loginModule: head[1], flag: head[2], options };
}

/** The PLAIN users (`user_<name>="<password>"` options of a PlainLoginModule entry). */
export function plainUsers(entry: JaasEntry): Map<string, string> {
  const users = new Map<string, string>();
  for (const [k, v] of entry.options) if (k.startsWith("user_") && k.length > 5) users.set(k.slice(5), v);
  return users;
}
