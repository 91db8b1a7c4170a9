/** A line-based source builder with two-space indentation, used by the code generator's emitters. */

/** Maximum nesting the builder accepts; deeper means an emitter bug. */
const MAX_DEPTH = 32;

/** Accumulates indented lines of generated TypeScript. */
export class CodeBuilder {
  private readonly lines: string[] = [];
  private depth = 0;

  /** Appends one line at the current indentation (an empty string gives an empty line). */
  line(text = ""): void {
    this.lines.push(text === "" ? "" : "  ".repeat(this.depth) + text);
  }

  /** Appends a line ending a block opener (e.g. `if (x) {`) and indents what follows. */
  open(text: string): void {
    this.line(text);
    this.depth++;
    if (this.depth > MAX_DEPTH) throw new Error("CodeBuilder: nesting too deep");
  }

  /** Dedents and appends a closing line (default `}`). */
  close(text = "}"): void {
    if (this.depth === 0) throw new Error("CodeBuilder: close without open");
    this.depth--;
    this.line(text);
  }

  /** Dedents, appends a line such as `} else {`, and indents again. */
  reopen(text: string): void {
    if (this.depth === 0) throw new Error("CodeBuilder: reopen without open");
    this.depth--;
    this.line(text);
    this.depth++;
  }

  /** Appends a `/** ... *\/` doc comment (one line). */
  doc(text: string): void {
    this.line(`/** ${docText(text)} */`);
  }

  /** The text built so far; asserts every block was closed. */
  toString(): string {
    if (this.depth !== 0) throw new Error(`CodeBuilder: ${this.depth} unclosed blocks`);
    return this.lines.join("\n") + "\n";
  }
}

/** Makes arbitrary text safe inside a one-line doc comment. */
export function docText(text: string): string {
  return text.replace(/\s+/g, " ").trim().replace(/\*\//g, "*\\/");
}
