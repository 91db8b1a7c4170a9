/**
 * Escaping for log lines. Client-supplied ids (client id, group id, member id, transactional id, topic names in
 * errors...) reach log messages; escaping every control character at the sink means no id can start a forged log
 * line, move the cursor or recolour a terminal, whichever message it appears in. One event stays one line.
 */

/** Control characters, line separators and bidirectional overrides. */
const UNSAFE = /[\u0000-\u0008\u000a-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

/** `text` with every character that could break or forge a log line written as an escape (`\n`, `\x1b`, `\u2028`). */
export function escapeLogText(text: string): string {
  return text.replace(UNSAFE, (c) => {
    if (c === "\n") return "\\n";
    if (c === "\r") return "\\r";
    const code = c.charCodeAt(0);
    return code <= 0xff ? `\\x${code.toString(16).padStart(2, "0")}` : `\\u${code.toString(16).padStart(4, "0")}`;
  });
}
