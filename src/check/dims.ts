import type { DimDef, Expr } from "../syntax/ast.ts";
import type { Label } from "../diagnostics/diagnostic.ts";
import type { Sink } from "./sink.ts";
import { didYouMean } from "./suggest.ts";

/** What an expression is evaluated as: a size (whole, exact) or any real number. */
export type Mode = "int" | "real";

interface DimEntry {
  def: DimDef;
  sink: Sink;
  state: "todo" | "busy" | "done";
  value: number | null;
}

export interface RuntimeDim {
  name: string;
  sink: Sink;
  span: import("../syntax/source.ts").Span;
  max?: number;
}

const FUNCTIONS: Record<string, { arity: number; fn: (...xs: number[]) => number }> = {
  sqrt: { arity: 1, fn: Math.sqrt },
  min: { arity: 2, fn: Math.min },
  max: { arity: 2, fn: Math.max },
};

/**
 * The dims a model sees: its own and its bases' (a child's definition replaces the
 * parent's), plus run-time dims introduced by input shapes. Evaluation is lazy and
 * memoised; `null` means "unknown", either because an error was already reported or
 * because a family parameter has no value yet.
 */
export class DimEnv {
  private readonly entries = new Map<string, DimEntry>();
  readonly runtime = new Map<string, RuntimeDim>();
  readonly used = new Set<DimDef>();
  /** Family parameters that were needed but have no value (reported by the caller). */
  readonly missing = new Set<DimDef>();
  /** Names whose definitions are being evaluated, outermost first: the path of a cycle. */
  private readonly evaluating: string[] = [];

  define(def: DimDef, sink: Sink): void {
    this.entries.set(def.name.name, { def, sink, state: "todo", value: null });
  }

  has(name: string): boolean {
    return this.entries.has(name);
  }

  names(): string[] {
    return [...this.entries.keys(), ...this.runtime.keys()];
  }

  defs(): Array<{ def: DimDef; sink: Sink }> {
    return [...this.entries.values()].map((e) => ({ def: e.def, sink: e.sink }));
  }

  /** Value of a named dim, evaluating its definition on first use. */
  value(name: string): number | null {
    const e = this.entries.get(name);
    if (!e) return null;
    this.used.add(e.def);
    if (e.state === "done") return e.value;
    if (e.state === "busy") {
      const cycle = [...this.evaluating.slice(this.evaluating.indexOf(name)), name];
      e.sink.report("SF0106", e.def.name.span, `dim \`${name}\` is defined in terms of itself`, {
        label: "this definition depends on its own value",
        ...(cycle.length > 2 ? { notes: [`cycle: ${cycle.join(" → ")}`] } : {}),
      });
      e.state = "done";
      return null;
    }
    if (!e.def.value) {
      this.missing.add(e.def);
      e.state = "done";
      return null;
    }
    e.state = "busy";
    this.evaluating.push(name);
    const v = this.eval(e.def.value, e.sink, "int");
    this.evaluating.pop();
    if (e.state === "busy") {
      e.value = v === null ? null : this.checkSize(v, e.def.value, e.sink, `dim \`${name}\``);
      e.state = "done";
    }
    return e.value;
  }

  /**
   * Every dim's value (NaN when unknown), for the checked model. Evaluating them here is
   * not a use: a dim nothing refers to must still be reported as unused (SF2003).
   */
  snapshot(): Map<string, number> {
    const before = new Set(this.used);
    const out = new Map([...this.entries.keys()].map((name) => [name, this.value(name) ?? NaN]));
    this.used.clear();
    for (const d of before) this.used.add(d);
    return out;
  }

  /** A label at the definition of a named dim, for "defined here" notes. */
  definitionLabel(name: string): Label | undefined {
    const e = this.entries.get(name);
    if (!e) return undefined;
    const v = e.state === "done" && e.value !== null ? ` = ${e.value}` : "";
    return e.sink.label(e.def.span, `\`${name}\`${v} defined here`);
  }

  /** Evaluate; report problems; return null when the value is unknown. */
  eval(e: Expr, sink: Sink, mode: Mode): number | null {
    switch (e.kind) {
      case "num": {
        if (!Number.isFinite(e.value)) {
          sink.report("SF0005", e.span, `number \`${e.text}\` is out of range`, { label: "too large for a 64-bit float" });
          return null;
        }
        if (mode === "int" && !Number.isInteger(e.value)) {
          sink.report("SF0211", e.span, `\`${e.text}\` is not a whole number`, { label: "a size must be a whole number" });
          return null;
        }
        if (mode === "int" && !Number.isSafeInteger(e.value)) {
          sink.report("SF0204", e.span, `\`${e.text}\` is larger than 2^53`, { label: "too large to be exact" });
          return null;
        }
        return e.value;
      }
      case "name": {
        if (this.entries.has(e.name)) return this.value(e.name);
        if (this.runtime.has(e.name)) {
          sink.report("SF0112", e.span, `\`${e.name}\` is a run-time dim, but a fixed size is needed here`, {
            label: "known only when the model runs",
            hint: "use a dim from `dims { ... }`",
          });
          return null;
        }
        const hint = didYouMean(e.name, this.names());
        sink.report("SF0101", e.span, `unknown dim \`${e.name}\``, {
          label: "not defined",
          ...(hint ? { hint } : { hint: `define it in \`dims { ${e.name} = ... }\`` }),
        });
        return null;
      }
      case "neg": {
        const v = this.eval(e.operand, sink, mode);
        return v === null ? null : -v;
      }
      case "binary":
        return this.binary(e, sink, mode);
      case "call": {
        const f = FUNCTIONS[e.callee];
        if (!f) {
          const hint = didYouMean(e.callee, Object.keys(FUNCTIONS));
          sink.report("SF0101", e.calleeSpan, `unknown function \`${e.callee}\``, { ...(hint ? { hint } : {}), notes: ["functions: sqrt, min, max"] });
          return null;
        }
        if (e.args.length !== f.arity) {
          sink.report("SF0112", e.span, `\`${e.callee}\` takes ${f.arity} argument${f.arity > 1 ? "s" : ""}, got ${e.args.length}`);
          return null;
        }
        const xs = e.args.map((a) => this.eval(a.value, sink, "real"));
        if (xs.some((x) => x === null)) return null;
        const r = f.fn(...(xs as number[]));
        if (!Number.isFinite(r)) {
          sink.report("SF0217", e.span, `\`${sink.excerpt(e.span)}\` is not a real number`, { label: `${e.callee} of ${xs.map((x) => fmt(x as number)).join(", ")} is undefined` });
          return null;
        }
        if (mode === "int" && !Number.isInteger(r)) {
          sink.report("SF0211", e.span, `\`${sink.excerpt(e.span)}\` is ${fmt(r)}, not a whole number`, { label: "a size must be a whole number" });
          return null;
        }
        return r;
      }
      default:
        sink.report("SF0112", e.span, `expected a number, found ${describeValue(e)}`, { label: "not a number" });
        return null;
    }
  }

  private binary(e: Extract<Expr, { kind: "binary" }>, sink: Sink, mode: Mode): number | null {
    // `1 + 1 + ... + 1` is a left-deep tree as deep as it is long: walk its left spine in a
    // loop so that only brackets (whose depth the lexer bounds) cost stack.
    const spine: Array<Extract<Expr, { kind: "binary" }>> = [];
    let leftmost: Expr = e;
    while (leftmost.kind === "binary") {
      spine.push(leftmost);
      leftmost = leftmost.left;
    }
    let acc = this.eval(leftmost, sink, mode);
    for (let i = spine.length - 1; i >= 0; i--) {
      const r = this.eval(spine[i].right, sink, mode);
      acc = acc === null || r === null ? null : this.apply(spine[i], acc, r, sink, mode);
    }
    return acc;
  }

  private apply(e: Extract<Expr, { kind: "binary" }>, l: number, r: number, sink: Sink, mode: Mode): number | null {
    switch (e.op) {
      case "+":
        return this.checkRange(l + r, e, sink);
      case "-":
        return this.checkRange(l - r, e, sink);
      case "*":
        return this.checkRange(l * r, e, sink);
      case "/":
      case "%": {
        if (r === 0) {
          sink.report("SF0201", e.right.span, `division by zero in \`${sink.excerpt(e.span)}\``, {
            label: `${this.operand(e.right, r, sink)} is zero`,
          });
          return null;
        }
        if (e.op === "%") return l % r;
        if (mode === "int" && l % r !== 0) {
          const secondary = [e.left, e.right]
            .map((x) => (x.kind === "name" ? this.definitionLabel(x.name) : undefined))
            .filter((x): x is Label => x !== undefined);
          sink.report("SF0201", e.span, `${this.operand(e.left, l, sink)} is not divisible by ${this.operand(e.right, r, sink)}`, {
            label: `${fmt(l)} / ${fmt(r)} = ${fmt(l / r)}, not a whole number`,
            secondary,
          });
          return null;
        }
        return l / r;
      }
    }
  }

  private checkRange(v: number, e: Expr, sink: Sink): number | null {
    if (Math.abs(v) > Number.MAX_SAFE_INTEGER) {
      sink.report("SF0204", e.span, `\`${sink.excerpt(e.span)}\` evaluates to ${v.toExponential(3)}, larger than 2^53`, {
        label: "too large to be exact",
      });
      return null;
    }
    return v;
  }

  /** A size must be at least 1. */
  checkSize(v: number, e: Expr, sink: Sink, what: string): number | null {
    if (v < 1) {
      sink.report("SF0202", e.span, `${what} is ${fmt(v)}, but sizes must be at least 1`, { label: `evaluates to ${fmt(v)}` });
      return null;
    }
    return v;
  }

  /** `d (768)` for a name, `` `2 * d` (1536) `` otherwise: how messages name operands. */
  operand(e: Expr, v: number, sink: Sink): string {
    return e.kind === "name" ? `${e.name} (${fmt(v)})` : e.kind === "num" ? fmt(v) : `\`${sink.excerpt(e.span)}\` (${fmt(v)})`;
  }
}

/** 6 significant digits for a fraction, but every digit of a large one: 2^53 / 2 is not "4.5036e15". */
export function fmt(v: number): string {
  return Number.isInteger(v) || Math.abs(v) >= 1e6 ? String(v) : String(Number(v.toPrecision(6)));
}

export function describeValue(e: Expr): string {
  switch (e.kind) {
    case "num":
      return `the number ${e.text}`;
    case "str":
      return `the string "${e.value}"`;
    case "bool":
      return `\`${e.value}\``;
    case "name":
      return `the name \`${e.name}\``;
    case "call":
      return `\`${e.callee}(...)\``;
    case "list":
      return "a list";
    default:
      return "an expression";
  }
}
