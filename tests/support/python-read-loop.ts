/**
 * Python text shared by the confluent-kafka-python legs of the cluster tests: reads an assigned consumer `c` to the
 * end of its partition, checking that each value is `prefix` + its position (b"p0", b"p1", ...), into `read`.
 */

/** The loop (top-level Python, at column 0); afterwards `read` holds the count and `c` is closed. */
export function pythonReadInOrder(prefix: string): string {
  return `read = 0
while True:
    m = c.poll(30)
    if m is None:
        break
    if m.error():
        if m.error().code() == -191:
            break
        raise Exception(m.error())
    if m.value() != b"${prefix}%d" % read:
        raise Exception("out of order at %d: %r" % (read, m.value()))
    read += 1
c.close()`;
}
