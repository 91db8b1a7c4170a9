/**
 * Topic regular expressions of KIP-848 subscriptions (`subscribed_topic_regex`), with the semantics of RE2/J, which
 * Kafka's coordinator compiles them with: what RE2 rejects (backreferences, lookaround, atomic groups, possessive
 * quantifiers, repeat counts over 1000, `\Z`, `\C`, ...) is rejected here, and an accepted pattern is translated to
 * an equivalent JavaScript RegExp that must match the whole topic name (RE2/J `matches()`).
 *
 * Supported RE2 syntax: literals, `.`, classes with ranges, negation, Perl classes (`\d\s\w` and negations) and
 * POSIX classes (`[[:alpha:]]`), `\pL`/`\p{Greek}` Unicode classes, anchors `^ $ \A \z \b \B`, groups (capturing,
 * `(?:`, named `(?P<n>` and `(?<n>`), flag groups `(?i)` `(?s)` `(?m)` and `(?i:...)` at the start of the pattern,
 * quantifiers `* + ? {n} {n,} {n,m}` with lazy `?`, escapes `\n \t \r \f \v \a \x41 \x{263a} \Q...\E` and octal.
 */

/** RE2's largest repeat count in `{n,m}`. */
export const RE2_MAX_REPEAT = 1000;
/** Longest topic regex accepted (a bound on the work of compiling one). */
export const MAX_TOPIC_REGEX_LENGTH = 64 * 1024;

/** A rejected regular expression, with RE2/J's kind of message. */
export class InvalidTopicRegexError extends Error {}

const POSIX_CLASSES: Record<string, string> = {
  alnum: "0-9A-Za-z",
  alpha: "A-Za-z",
  ascii: "\\x00-\\x7f",
  blank: "\\t ",
  cntrl: "\\x00-\\x1f\\x7f",
  digit: "0-9",
  graph: "!-~",
  lower: "a-z",
  print: " -~",
  punct: "!-\\/:-@\\[-`{-~",
  space: "\\t\\n\\v\\f\\r ",
  upper: "A-Z",
  word: "0-9A-Za-z_",
  xdigit: "0-9A-Fa-f",
};

/** Characters that may be escaped with a backslash inside a JS `u` regex. */
const JS_SYNTAX = new Set("^$\\.*+?()[]{}|/".split(""));

function hexEscape(cp: number): string {
  return `\\u{${cp.toString(16)}}`;
}

function fail(msg: string): never {
  throw new InvalidTopicRegexError(msg);
}

/** Compiles an RE2/J topic regex into a whole-name JS RegExp; throws {@link InvalidTopicRegexError}. */
export function compileTopicRegex(source: string): RegExp {
  if (source.length > MAX_TOPIC_REGEX_LENGTH) fail(`regex longer than ${MAX_TOPIC_REGEX_LENGTH} characters`);
  let flags = "u";
  let i = 0;
  // Leading flag groups (?flags) apply to the whole pattern.
  for (;;) {
    const m = /^\(\?([imsU]+)\)/.exec(source.slice(i));
    if (m === null) break;
    for (const f of m[1]) {
      if (f === "U") fail("ungreedy flag (?U) is not supported");
      if (!flags.includes(f)) flags += f;
    }
    i += m[0].length;
  }
  const out: string[] = [];
  let depth = 0;
  let lastAtom = false; // whether a quantifier may follow
  const cps = [...source.slice(i)];
  let k = 0;
  const peek = (o = 0) => cps[k + o];
  while (k < cps.length) {
    const c = cps[k];
    if (c === "\\") {
      const { text, atom } = escape(cps, k, false);
      out.push(text.js);
      k = text.end;
      lastAtom = atom;
      continue;
    }
    if (c === "[") {
      const r = charClass(cps, k);
      out.push(r.js);
      k = r.end;
      lastAtom = true;
      continue;
    }
    if (c === "(") {
      if (peek(1) === "?") {
        const rest = cps.slice(k + 2, k + 6).join("");
        if (rest.startsWith("=") || rest.startsWith("!") || rest.startsWith("<=") || rest.startsWith("<!")) fail(`invalid or unsupported Perl syntax: lookaround '(?${rest[0] === "<" ? rest.slice(0, 2) : rest[0]}'`);
        if (rest.startsWith(">")) fail("invalid or unsupported Perl syntax: atomic group '(?>'");
        if (rest.startsWith(":")) {
          out.push("(?:");
          k += 3;
        } else if (rest.startsWith("P<") || rest.startsWith("<")) {
          const start = k + 2 + (rest.startsWith("P") ? 2 : 1);
          let e = start;
          while (e < cps.length && cps[e] !== ">") e++;
          const name = cps.slice(start, e).join("");
          if (e >= cps.length || !/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) fail(`invalid named capture: '${name}'`);
          out.push(`(?<${name}>`);
          k = e + 1;
        } else {
          const m = /^([imsU-]+)(:|\))/.exec(cps.slice(k + 2, k + 12).join(""));
          if (m === null) fail(`invalid or unsupported Perl syntax: '(?${rest}'`);
          fail(`flags inside the pattern are not supported: '(?${m[1]}${m[2]}'`);
        }
      } else {
        out.push("(");
        k++;
      }
      depth++;
      lastAtom = false;
      continue;
    }
    if (c === ")") {
      if (depth === 0) fail("unexpected ')'");
      depth--;
      out.push(")");
      k++;
      lastAtom = true;
      continue;
    }
    if (c === "*" || c === "+" || c === "?" || c === "{") {
      let q = c;
      let e = k + 1;
      if (c === "{") {
        const m = /^\{(\d+)(,(\d*))?\}/.exec(cps.slice(k, k + 24).join(""));
        if (m === null) {
          // RE2 treats a '{' that does not start a repeat as a literal.
          out.push("\\{");
          k++;
          lastAtom = true;
          continue;
        }
        const lo = Number(m[1]);
        const hi = m[3] === undefined ? lo : m[3] === "" ? -1 : Number(m[3]);
        if (lo > RE2_MAX_REPEAT || hi > RE2_MAX_REPEAT || (hi >= 0 && hi < lo)) fail(`invalid repeat count: '${m[0]}'`);
        q = m[0];
        e = k + [...m[0]].length;
      }
      if (!lastAtom) fail(`missing argument to repetition operator: '${q}'`);
      if (cps[e] === "?") {
        q += "?";
        e++;
      }
      if (cps[e] === "*" || cps[e] === "+" || cps[e] === "?" || (cps[e] === "{" && /^\{\d/.test(cps.slice(e, e + 3).join("")))) {
        fail(`bad repetition operator: '${q}${cps[e]}'`);
      }
      out.push(q);
      k = e;
      lastAtom = false;
      continue;
    }
    if (c === "|" || c === "^" || c === "$") {
      out.push(c);
      k++;
      lastAtom = false;
      continue;
    }
    if (c === ".") {
      out.push(".");
      k++;
      lastAtom = true;
      continue;
    }
    const cp = c.codePointAt(0)!;
    out.push(JS_SYNTAX.has(c) ? `\\${c}` : cp < 0x20 || cp === 0x7f ? hexEscape(cp) : c);
    k++;
    lastAtom = true;
  }
  if (depth !== 0) fail("missing ')'");
  try {
    return new RegExp(`^(?:${out.join("")})$`, flags);
  } catch (e) {
    return fail((e as Error).message);
  }
}

/** Whether `source` is a valid RE2/J regex; the error message when it is not. */
export function topicRegexProblem(source: string): string | null {
  try {
    compileTopicRegex(source);
    return null;
  } catch (e) {
    if (e instanceof InvalidTopicRegexError) return e.message;
    throw e;
  }
}

/** Translates one escape at `cps[k]` (a backslash); inside a class, Perl and Unicode classes stay classes. */
function escape(cps: string[], k: number, inClass: boolean): { text: { js: string; end: number }; atom: boolean } {
  const c = cps[k + 1];
  if (c === undefined) fail("trailing backslash at end of expression");
  const lit = (cp: number, end: number) => ({ text: { js: hexEscape(cp), end }, atom: true });
  switch (c) {
    case "d": case "D": case "s": case "S": case "w": case "W":
      return { text: { js: `\\${c}`, end: k + 2 }, atom: true };
    case "b": case "B":
      if (inClass) fail(`invalid escape sequence: '\\${c}'`);
      return { text: { js: `\\${c}`, end: k + 2 }, atom: false };
    case "A":
      if (inClass) fail("invalid escape sequence: '\\A'");
      return { text: { js: "^", end: k + 2 }, atom: false };
    case "z":
      if (inClass) fail("invalid escape sequence: '\\z'");
      return { text: { js: "$", end: k + 2 }, atom: false };
    case "n": return lit(10, k + 2);
    case "t": return lit(9, k + 2);
    case "r": return lit(13, k + 2);
    case "f": return lit(12, k + 2);
    case "v": return lit(11, k + 2);
    case "a": return lit(7, k + 2);
    case "x": {
      if (cps[k + 2] === "{") {
        let e = k + 3;
        while (e < cps.length && cps[e] !== "}") e++;
        const hex = cps.slice(k + 3, e).join("");
        if (e >= cps.length || !/^[0-9A-Fa-f]{1,8}$/.test(hex) || parseInt(hex, 16) > 0x10ffff) fail(`invalid escape sequence: '\\x{${hex}'`);
        return lit(parseInt(hex, 16), e + 1);
      }
      const hex = cps.slice(k + 2, k + 4).join("");
      if (!/^[0-9A-Fa-f]{2}$/.test(hex)) fail(`invalid escape sequence: '\\x${hex}'`);
      return lit(parseInt(hex, 16), k + 4);
    }
    case "p": case "P": {
      let name: string;
      let end: number;
      if (cps[k + 2] === "{") {
        let e = k + 3;
        while (e < cps.length && cps[e] !== "}") e++;
        if (e >= cps.length) fail("invalid character class range: missing '}'");
        name = cps.slice(k + 3, e).join("");
        end = e + 1;
      } else {
        name = cps[k + 2] ?? "";
        end = k + 3;
      }
      let negate = c === "P";
      if (name.startsWith("^")) {
        negate = !negate;
        name = name.slice(1);
      }
      if (!/^[A-Za-z_]+$/.test(name)) fail(`invalid character class range: '\\${c}{${name}}'`);
      const prop = name === "Any" ? null : /^[A-Z][a-z]?$/.test(name) ? name : `Script=${name}`;
      const js = prop === null ? (negate ? "[^\\s\\S]" : "[\\s\\S]") : `\\${negate ? "P" : "p"}{${prop}}`;
      try {
        new RegExp(js, "u");
      } catch {
        fail(`invalid character class range: '\\${c}{${name}}'`);
      }
      return { text: { js, end }, atom: true };
    }
    case "Q": {
      if (inClass) fail("invalid escape sequence: '\\Q'");
      let e = k + 2;
      const parts: string[] = [];
      while (e < cps.length && !(cps[e] === "\\" && cps[e + 1] === "E")) {
        parts.push(literalJs(cps[e]));
        e++;
      }
      const end = e < cps.length ? e + 2 : e;
      return { text: { js: parts.length === 0 ? "(?:)" : `(?:${parts.join("")})`, end }, atom: parts.length > 0 };
    }
    case "E":
      // A stray \E outside \Q is ignored by RE2.
      return { text: { js: "", end: k + 2 }, atom: false };
    default:
      break;
  }
  if (c >= "0" && c <= "7") {
    const next = cps[k + 2];
    if (c !== "0" && !(next !== undefined && next >= "0" && next <= "9")) fail(`invalid escape sequence: '\\${c}' (backreferences are not supported)`);
    let e = k + 2;
    let digits = c;
    while (e < cps.length && digits.length < 3 && cps[e] >= "0" && cps[e] <= "7") digits += cps[e++];
    return lit(parseInt(digits, 8), e);
  }
  if (c === "8" || c === "9") fail(`invalid escape sequence: '\\${c}' (backreferences are not supported)`);
  const cp = c.codePointAt(0)!;
  // RE2 allows escaping any punctuation; letters and digits without a meaning are errors.
  if (cp < 0x80 && !/[A-Za-z0-9]/.test(c)) return lit(cp, k + 2);
  return fail(`invalid escape sequence: '\\${c}'`);
}

function literalJs(c: string): string {
  const cp = c.codePointAt(0)!;
  if (/[A-Za-z0-9_]/.test(c) || cp >= 0x80) return c;
  return hexEscape(cp);
}

/** Translates a bracket class starting at `cps[k]` ('['). */
function charClass(cps: string[], k: number): { js: string; end: number } {
  let e = k + 1;
  let js = "[";
  if (cps[e] === "^") {
    js += "^";
    e++;
  }
  let first = true;
  let items = 0;
  for (;;) {
    if (e >= cps.length) fail("missing closing ]");
    const c = cps[e];
    if (c === "]" && !first) break;
    first = false;
    if (c === "[" && cps[e + 1] === ":") {
      const close = cps.indexOf("]", e);
      const text = close < 0 ? "" : cps.slice(e, close + 1).join("");
      const m = /^\[:(\^?)([a-z]+):\]$/.exec(text);
      if (m !== null) {
        const body = POSIX_CLASSES[m[2]];
        if (body === undefined) fail(`invalid character class range: '${text}'`);
        if (m[1] === "^") fail(`negated POSIX class '${text}' is not supported`);
        js += body;
        e = close + 1;
        items++;
        continue;
      }
    }
    let atomJs: string;
    let lo: number | null;
    if (c === "\\") {
      const r = escape(cps, e, true);
      atomJs = r.text.js;
      lo = atomJs.startsWith("\\u{") ? parseInt(atomJs.slice(3, -1), 16) : null;
      e = r.text.end;
    } else {
      lo = c.codePointAt(0)!;
      atomJs = literalJs(c);
      e++;
    }
    if (cps[e] === "-" && cps[e + 1] !== undefined && cps[e + 1] !== "]") {
      if (lo === null) fail("invalid character class range");
      let hiJs: string;
      let hi: number;
      if (cps[e + 1] === "\\") {
        const r = escape(cps, e + 1, true);
        if (!r.text.js.startsWith("\\u{")) fail("invalid character class range");
        hiJs = r.text.js;
        hi = parseInt(hiJs.slice(3, -1), 16);
        e = r.text.end;
      } else {
        hi = cps[e + 1].codePointAt(0)!;
        hiJs = literalJs(cps[e + 1]);
        e += 2;
      }
      if (hi < lo) fail(`invalid character class range: '${String.fromCodePoint(lo)}-${String.fromCodePoint(hi)}'`);
      js += `${atomJs}-${hiJs}`;
    } else js += atomJs;
    items++;
  }
  if (items === 0) fail("missing closing ]");
  return { js: js + "]", end: e + 1 };
}
