/**
 * Plain-text tables for CLI output: left-aligned columns separated by two spaces, header in capitals, like
 * `kafka-consumer-groups` and `rpk` print them. Nothing is truncated.
 */

/** Formats rows (the first row is the header) as aligned text, one line per row, ending with a newline. */
export function formatTable(rows: readonly (readonly string[])[]): string {
  if (rows.length === 0) return "";
  const widths: number[] = [];
  for (const row of rows) {
    for (let i = 0; i < row.length; i++) widths[i] = Math.max(widths[i] ?? 0, row[i].length);
  }
  let out = "";
  for (const row of rows) {
    let line = "";
    for (let i = 0; i < row.length; i++) {
      line += i === row.length - 1 ? row[i] : row[i].padEnd(widths[i] + 2);
    }
    out += line.trimEnd() + "\n";
  }
  return out;
}
