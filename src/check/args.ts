import type { Arg, Expr } from "../syntax/ast.ts";
import type { Span } from "../syntax/source.ts";
import { describeValue, fmt, type DimEnv } from "./dims.ts";
import type { Sink } from "./sink.ts";
import { didYouMean, quoteList } from "./suggest.ts";

export type ArgType =
  | { t: "size" }
  /** A whole number that may be 0 (a count of blocks). */
  | { t: "count" }
  | { t: "real"; min?: number; max?: number; minExclusive?: boolean; maxExclusive?: boolean }
  | { t: "bool" }
  | { t: "choice"; of: readonly string[] }
  | { t: "name" }
  | { t: "call"; of: Record<string, readonly ArgSpec[]> };

export interface ArgSpec {
  name: string;
  type: ArgType;
  required?: boolean;
  /** Accepted without a name at this position. */
  positional?: number;
}

export type ArgValue = number | boolean | string | { call: string; args: ArgValues };

export interface ArgValues {
  /** Values that were written and valid; a name maps to undefined when invalid or absent. */
  get(name: string): ArgValue | undefined;
  expr(name: string): Expr | undefined;
  span(name: string): Span | undefined;
  has(name: string): boolean;
}

class Values implements ArgValues {
  readonly values = new Map<string, ArgValue>();
  readonly exprs = new Map<string, Expr>();
  readonly spans = new Map<string, Span>();
  get(name: string) {
    return this.values.get(name);
  }
  expr(name: string) {
    return this.exprs.get(name);
  }
  span(name: string) {
    return this.spans.get(name);
  }
  has(name: string) {
    return this.exprs.has(name);
  }
}

/**
 * Match written arguments against a statement's schema: unknown, duplicate, missing
 * and ill-typed arguments are reported here, once, so statement code deals only with
 * valid values.
 */
export function readArgs(args: readonly Arg[], schema: readonly ArgSpec[], what: string, at: Span, sink: Sink, env: DimEnv): ArgValues {
  const out = new Values();
  const byName = new Map(schema.map((s) => [s.name, s]));
  const positional = schema.filter((s) => s.positional !== undefined).sort((a, b) => a.positional! - b.positional!);
  let nextPos = 0;
  for (const a of args) {
    let spec: ArgSpec | undefined;
    if (a.name) {
      spec = byName.get(a.name.name);
      if (!spec) {
        const hint = didYouMean(a.name.name, byName.keys());
        sink.report("SF0109", a.name.span, `${what} has no argument \`${a.name.name}\``, {
          label: "unknown argument",
          ...(hint ? { hint } : {}),
          notes: [schema.length ? `${what} takes: ${quoteList(schema.map((s) => s.name))}` : `${what} takes no arguments`],
        });
        continue;
      }
    } else {
      spec = positional[nextPos++];
      if (!spec) {
        sink.report("SF0109", a.span, `too many positional arguments for ${what}`, {
          label: "unexpected argument",
          hint: positional.length ? `${what} takes ${positional.length} positional argument(s): ${quoteList(positional.map((p) => p.name))}` : "name the argument, e.g. `heads = 12`",
        });
        continue;
      }
    }
    if (out.exprs.has(spec.name)) {
      sink.report("SF0111", a.span, `argument \`${spec.name}\` is given twice`, {
        label: "second value",
        secondary: [sink.label(out.spans.get(spec.name)!, "first value")],
      });
      continue;
    }
    out.exprs.set(spec.name, a.value);
    out.spans.set(spec.name, a.span);
    const v = readValue(a.value, spec, what, sink, env);
    if (v !== undefined) out.values.set(spec.name, v);
  }
  for (const s of schema) {
    if (s.required && !out.exprs.has(s.name)) {
      sink.report("SF0110", at, `${what} needs \`${s.name}\``, { label: `missing \`${s.name} = ...\`` });
    }
  }
  return out;
}

/** A range's end as people write it: 1e18, not 1000000000000000000. */
const bound = (x: number): string => (Math.abs(x) >= 1e15 ? x.toExponential().replace("e+", "e") : String(x));

function readValue(e: Expr, spec: ArgSpec, what: string, sink: Sink, env: DimEnv): ArgValue | undefined {
  const t = spec.type;
  switch (t.t) {
    case "size": {
      const v = env.eval(e, sink, "int");
      return v === null ? undefined : (env.checkSize(v, e, sink, `\`${spec.name}\``) ?? undefined);
    }
    case "count": {
      const v = env.eval(e, sink, "int");
      if (v === null) return undefined;
      if (v < 0) {
        sink.report("SF0217", e.span, `\`${spec.name}\` is ${fmt(v)}, but it must be 0 or more`, { label: "a count cannot be negative" });
        return undefined;
      }
      return v;
    }
    case "real": {
      const v = env.eval(e, sink, "real");
      if (v === null) return undefined;
      // Every backend computes in f32: a value f32 cannot hold would reach them as Infinity
      // (WGSL's `Infinity.0f` does not even compile) or, below a positive minimum, as 0.
      const f = Math.fround(v);
      const underflow = f === 0 && v !== 0 && t.min === 0 && t.minExclusive;
      if (!Number.isFinite(f) || underflow) {
        sink.report("SF0217", e.span, `\`${spec.name}\` is ${fmt(v)}, which is ${underflow ? "0" : v > 0 ? "infinite" : "-infinite"} in f32`, {
          label: underflow ? "too small for f32" : "too large for f32",
          notes: ["the backends compute in f32: its largest value is about 3.4e38, its smallest positive about 1.4e-45"],
        });
        return undefined;
      }
      const low = t.min !== undefined && (t.minExclusive ? v <= t.min : v < t.min);
      const high = t.max !== undefined && (t.maxExclusive ? v >= t.max : v > t.max);
      if (low || high) {
        const lo = t.min === undefined ? "" : `${t.minExclusive ? "(" : "["}${bound(t.min)}`;
        const hi = t.max === undefined ? "∞)" : `${bound(t.max)}${t.maxExclusive ? ")" : "]"}`;
        sink.report("SF0217", e.span, `\`${spec.name}\` is ${fmt(v)}, outside ${lo || "(-∞"}, ${hi}`, { label: "out of range" });
        return undefined;
      }
      return v;
    }
    case "bool":
      if (e.kind === "bool") return e.value;
      sink.report("SF0112", e.span, `\`${spec.name}\` must be \`true\` or \`false\`, found ${describeValue(e)}`, { label: "expected a boolean" });
      return undefined;
    case "choice":
      if (e.kind === "name") {
        if (t.of.includes(e.name)) return e.name;
        const hint = didYouMean(e.name, t.of);
        sink.report("SF0113", e.span, `unknown ${spec.name} \`${e.name}\``, {
          label: `not one of the ${spec.name} choices`,
          ...(hint ? { hint } : {}),
          notes: [`${spec.name} is one of: ${quoteList(t.of)}`],
        });
        return undefined;
      }
      sink.report("SF0112", e.span, `\`${spec.name}\` must be one of ${quoteList(t.of)}, found ${describeValue(e)}`, { label: "expected a choice" });
      return undefined;
    case "name":
      if (e.kind === "name") return e.name;
      sink.report("SF0112", e.span, `\`${spec.name}\` must name an input, found ${describeValue(e)}`, { label: "expected a name" });
      return undefined;
    case "call": {
      const callee = e.kind === "call" ? e.callee : e.kind === "name" ? e.name : undefined;
      const sub = callee !== undefined ? t.of[callee] : undefined;
      if (callee === undefined || sub === undefined) {
        const hint = callee !== undefined ? didYouMean(callee, Object.keys(t.of)) : undefined;
        sink.report("SF0113", e.span, `\`${spec.name}\` must be one of ${quoteList(Object.keys(t.of).map((k) => `${k}(...)`))}, found ${describeValue(e)}`, {
          label: "unknown pattern",
          ...(hint ? { hint } : {}),
        });
        return undefined;
      }
      const args = e.kind === "call" ? e.args : [];
      return { call: callee, args: readArgs(args, sub, `\`${callee}\``, e.span, sink, env) };
    }
  }
}
