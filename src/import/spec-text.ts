/**
 * Writing the spec text `specformer import` prints: indentation, trailing comments aligned per
 * block, numbers in the form a person would type them (1e-5, 500000), names that are valid
 * spec identifiers.
 */

/** A number as spec text that parses back to the same double: 1e-5, 0.25, 500000. */
export function num(x: number): string {
  if (Number.isInteger(x) && Math.abs(x) < 1e21) return String(x);
  if (Math.abs(x) < 1e-3) return x.toExponential().replace("e-0", "e-");
  return String(x);
}

/** A spec identifier from a directory or model name: lower case, `_` for anything else. */
export function identifier(raw: string, fallback: string): string {
  let s = raw
    .toLowerCase()
    .replace(/[^a-z0-9_]+/g, "_")
    .replace(/_+/g, "_")
    .replace(/^_+|_+$/g, "");
  if (s === "") s = fallback;
  if (/^[0-9]/.test(s)) s = `m_${s}`;
  // The language's statement keywords are fine as names in most places, but a model named like
  // one reads badly; keep them apart.
  if (RESERVED.has(s)) s = `${s}_model`;
  return s;
}

const RESERVED = new Set(["model", "dims", "input", "embed", "position", "norm", "attention", "mlp", "stack", "head", "tokenizer", "dropout", "train", "lint", "encoder", "decoder", "import", "extends", "where", "int", "bool"]);

/** Statements longer than this carry their comment on the line above. */
const MAX_CODE = 60;

interface Line {
  code: string;
  comment?: string;
}

/** Lines of spec text; a block's trailing comments start in one column. */
export class SpecWriter {
  private readonly out: string[] = [];
  private block: { indent: number; lines: Line[] } | undefined;
  private indent = 0;

  /** A whole-line comment at the current indent (wrapped at ~96 columns). */
  note(text: string): this {
    this.flush();
    const pad = "  ".repeat(this.indent);
    const width = Math.max(40, 96 - pad.length - 2);
    let line = "";
    for (const word of text.split(/\s+/).filter(Boolean)) {
      if (line && line.length + 1 + word.length > width) {
        this.out.push(`${pad}# ${line}`);
        line = word;
      } else line = line ? `${line} ${word}` : word;
    }
    this.out.push(line ? `${pad}# ${line}` : `${pad}#`);
    return this;
  }

  /** A statement, with an optional trailing comment. */
  line(code: string, comment?: string): this {
    if (!this.block || this.block.indent !== this.indent) {
      this.flush();
      this.block = { indent: this.indent, lines: [] };
    }
    this.block.lines.push(comment === undefined ? { code } : { code, comment });
    return this;
  }

  blank(): this {
    this.flush();
    this.out.push("");
    return this;
  }

  /** `code {`, then the body one level in. */
  open(code: string, comment?: string): this {
    this.line(`${code} {`, comment);
    this.flush();
    this.indent++;
    return this;
  }

  close(comment?: string): this {
    this.flush();
    this.indent--;
    this.line("}", comment);
    this.flush();
    return this;
  }

  text(): string {
    this.flush();
    return `${this.out.join("\n")}\n`;
  }

  private flush(): void {
    const b = this.block;
    if (!b) return;
    this.block = undefined;
    const pad = "  ".repeat(b.indent);
    // A statement too long for a trailing comment gets its comment on the line above.
    const long = (l: Line) => l.code.length > MAX_CODE;
    const col = Math.max(0, ...b.lines.filter((l) => l.comment !== undefined && !long(l)).map((l) => l.code.length));
    for (const l of b.lines) {
      if (l.comment === undefined) this.out.push(`${pad}${l.code}`);
      else if (long(l)) this.out.push(`${pad}# ${l.comment}`, `${pad}${l.code}`);
      else this.out.push(`${pad}${l.code.padEnd(col)}  # ${l.comment}`);
    }
  }
}
