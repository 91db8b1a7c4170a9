/**
 * `ssl.principal.mapping.rules`: maps a client certificate's subject (RFC 2253 form, most specific first, e.g.
 * `CN=alice,OU=eng,O=Acme,C=US`) to a principal name. Rules are tried in order: `RULE:pattern/replacement/[LU]`
 * applies when the pattern matches the whole subject (replacement with $1 references, then lower or upper case);
 * `DEFAULT` gives the subject unchanged. No matching rule: the subject unchanged, as in Kafka.
 */

/** One parsed rule. */
type Rule = { kind: "default" } | { kind: "rule"; pattern: RegExp; replacement: string; caseChange: "L" | "U" | null };

/** Parsed mapping rules. */
export class PrincipalMapping {
  private constructor(private readonly rules: readonly Rule[]) {}

  /** Parses the config value; throws on a malformed rule. */
  static parse(text: string): PrincipalMapping {
    const rules: Rule[] = [];
    let i = 0;
    const s = text.trim();
    const until = (): string => {
      let out = "";
      while (i < s.length && s[i] !== "/") {
        if (s[i] === "\\" && s[i + 1] === "/") {
          out += "/";
          i += 2;
        } else out += s[i++];
      }
      if (s[i] !== "/") throw new Error(`ssl.principal.mapping.rules: unterminated RULE in '${text}'`);
      i++;
      return out;
    };
    while (i < s.length) {
      while (i < s.length && /[\s,]/.test(s[i])) i++;
      if (i >= s.length) break;
      if (s.startsWith("DEFAULT", i)) {
        rules.push({ kind: "default" });
        i += 7;
      } else if (s.startsWith("RULE:", i)) {
        i += 5;
        const pattern = until();
        const replacement = until();
        let caseChange: "L" | "U" | null = null;
        if (s[i] === "L" || s[i] === "U") caseChange = s[i++] as "L" | "U";
        rules.push({ kind: "rule", pattern: new RegExp(`^(?:${pattern})$`), replacement, caseChange });
      } else {
        throw new Error(`ssl.principal.mapping.rules: expected DEFAULT or RULE: at '${s.slice(i)}'`);
      }
      while (i < s.length && /\s/.test(s[i])) i++;
      if (i < s.length && s[i] !== ",") throw new Error(`ssl.principal.mapping.rules: expected ',' at '${s.slice(i)}'`);
    }
    return new PrincipalMapping(rules);
  }

  /** The principal name for a certificate subject. */
  map(subject: string): string {
    for (const r of this.rules) {
      if (r.kind === "default") return subject;
      if (!r.pattern.test(subject)) continue;
      const out = subject.replace(r.pattern, r.replacement);
      return r.caseChange === "L" ? out.toLowerCase() : r.caseChange === "U" ? out.toUpperCase() : out;
    }
    return subject;
  }
}
