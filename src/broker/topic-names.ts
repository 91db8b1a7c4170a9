/** Kafka's topic name rules. */

/** Longest legal topic name (Kafka's limit, so that `<topic>-<partition>` fits a file name). */
export const MAX_TOPIC_NAME_LENGTH = 249;

/** Returns why `name` is not a legal topic name, or null when it is. */
export function topicNameProblem(name: string | null | undefined): string | null {
  if (name === null || name === undefined || name.length === 0) return "topic name is empty";
  if (name === "." || name === "..") return `topic name cannot be '${name}'`;
  if (name.length > MAX_TOPIC_NAME_LENGTH) return `topic name is longer than ${MAX_TOPIC_NAME_LENGTH} characters`;
  if (!/^[a-zA-Z0-9._-]+$/.test(name)) return `topic name '${name}' has characters other than ASCII alphanumerics, '.', '_' and '-'`;
  return null;
}

/** Whether a topic is internal (Kafka's `__consumer_offsets` and `__transaction_state`). */
export function isInternalTopic(name: string): boolean {
  return name === "__consumer_offsets" || name === "__transaction_state";
}
