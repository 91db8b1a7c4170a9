/**
 * Which `__consumer_offsets` partition holds a group: Kafka's `abs(groupId.hashCode()) % numPartitions`, with Java's
 * `String.hashCode` over UTF-16 code units and Kafka's `Utils.abs` (Integer.MIN_VALUE maps to 0), so a group lands
 * on the same partition as on a Kafka broker with the same partition count.
 */

/** Java's `String.hashCode()`: s[0]*31^(n-1) + ... + s[n-1] in int32 arithmetic over UTF-16 code units. */
export function javaStringHashCode(s: string): number {
  let h = 0;
  for (let i = 0; i < s.length; i++) h = (Math.imul(h, 31) + s.charCodeAt(i)) | 0;
  return h;
}

/** The `__consumer_offsets` partition of `groupId` among `numPartitions`. */
export function offsetsPartitionFor(groupId: string, numPartitions: number): number {
  if (!Number.isInteger(numPartitions) || numPartitions <= 0) throw new RangeError(`bad partition count ${numPartitions}`);
  const h = javaStringHashCode(groupId);
  const abs = h === -2147483648 ? 0 : Math.abs(h);
  return abs % numPartitions;
}
