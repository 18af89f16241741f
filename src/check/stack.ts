// Checking a `stack`: its count and arguments, its layer kinds and pattern, and the pairing of
// each sublayer with its norms under the stack's placement.

import type { Item, StackDecl, Statement } from "../syntax/ast.ts";
import type { Span } from "../syntax/source.ts";
import type { LayerKind, NormInfo, StackInfo, Sublayer } from "../model/model.ts";
import { readArgs } from "./args.ts";
import type { DimEnv } from "./dims.ts";
import { DROPOUT, LAYER_STATEMENTS, STACK } from "./schemas.ts";
import type { Sink } from "./sink.ts";
import { readAttention, readMlp, readNorm, type SectionContext } from "./sublayers.ts";
import { readSsm } from "./ssm.ts";
import { didYouMean, quoteList } from "./suggest.ts";
import { isKnownStatement, misplaced } from "./statements.ts";

type Placement = StackInfo["placement"];

/**
 * The weight-name prefix of a stack: its written name, or for a layer-pattern stack (which has
 * none) the section's: `decoder` (a decoder-only model's body or a decoder section) or `encoder`.
 */
export function stackName(st: StackDecl, role: SectionContext["role"]): { name: string; span: Span } {
  if (st.name) return { name: st.name.name, span: st.name.span };
  return { name: role === "encoder" ? "encoder" : "decoder", span: st.patternSpan ?? st.span };
}

export function buildStack(st: StackDecl, name: string, sink: Sink, env: DimEnv, ctx: SectionContext): StackInfo | null {
  const count = env.eval(st.count, sink, "int");
  if (count !== null) env.checkSize(count, st.count, sink, "the layer count");
  const a = readArgs(st.args, STACK, "`stack`", st.span, sink, env);
  const placement = (a.get("norm") as Placement | undefined) ?? "pre";
  const residual = (a.get("residual") as StackInfo["residual"] | undefined) ?? "sequential";
  let ok = count !== null && count >= 1;
  if (residual === "parallel" && placement !== "pre") {
    sink.report("SF0124", a.span("residual")!, `a parallel residual takes pre-norms only, but this stack is \`norm = ${placement}\``, {
      label: "every sublayer reads the layer's input through its own pre-norm",
      secondary: [sink.label(a.span("norm")!, `\`norm = ${placement}\` here`)],
      hint: "drop `norm = ...` (pre-norm is the default) or the parallel residual",
    });
    ok = false;
  }
  const layout = st.pattern ? readPatternLayers(st, count, placement, sink, env, ctx) : readNamedLayer(st, placement, sink, env, ctx);
  if (!ok || count === null || !layout) return null;
  return { name, count, placement, residual, kinds: layout.kinds, pattern: layout.pattern, sublayers: layout.kinds.flatMap((k) => k.sublayers), span: st.span };
}

interface Layout {
  kinds: LayerKind[];
  pattern: StackInfo["pattern"];
}

/** `stack N × name { sublayers }`: one kind, every layer of it. */
function readNamedLayer(st: StackDecl, placement: Placement, sink: Sink, env: DimEnv, ctx: SectionContext): Layout | null {
  const name = st.name!;
  let ok = true;
  const body: Item[] = [];
  for (const item of st.body) {
    if (item.kind === "statement" && item.keyword.name === "layer") {
      sink.report("SF0123", item.keyword.span, "a `layer` kind needs a layer pattern on its stack", {
        label: `stack \`${name.name}\` has one kind of layer, its body`,
        hint: `write \`stack … × (${item.sub?.name ?? "NAME"}, …) { layer ${item.sub?.name ?? "NAME"} { … } … }\`, or put the sublayers directly in the stack`,
      });
      ok = false;
    } else body.push(item);
  }
  // A body of only `layer` blocks (reported above) has no sublayers of its own to complain about.
  if (!ok && body.length === 0) return null;
  const sublayers = readSublayers(body, { span: name.span, what: `stack \`${name.name}\`` }, placement, sink, env, ctx);
  if (!sublayers || !ok) return null;
  return { kinds: [{ name: name.name, sublayers }], pattern: [{ kind: 0, count: 1 }] };
}

/** `stack N × (a, b × n) { layer a { ... } layer b { ... } }`. */
function readPatternLayers(st: StackDecl, count: number | null, placement: Placement, sink: Sink, env: DimEnv, ctx: SectionContext): Layout | null {
  let ok = true;
  const kinds: LayerKind[] = [];
  const declared = new Map<string, { index: number; span: Span }>();
  for (const item of st.body) {
    if (item.kind !== "statement") {
      sink.report("SF0116", item.span, item.kind === "stack" ? "stacks cannot nest" : `\`${item.kind}\` cannot appear inside a stack`, { label: "not allowed in a layer" });
      ok = false;
      continue;
    }
    const kw = item.keyword.name;
    if (kw !== "layer") {
      if ((LAYER_STATEMENTS as readonly string[]).includes(kw)) {
        sink.report("SF0123", item.keyword.span, "in a stack with a layer pattern, sublayers go inside `layer` blocks", {
          label: "outside every layer kind",
          hint: "move it into the `layer NAME { ... }` of each kind that has it",
        });
      } else misplaced(item, sink, "a stack with a layer pattern", ["layer"]);
      ok = false;
      continue;
    }
    if (!item.sub) {
      sink.report("SF0110", item.keyword.span, "`layer` needs the name of its kind", { label: "which kind?", hint: "e.g. `layer local { ... }`, named in the stack's pattern" });
      ok = false;
      continue;
    }
    const kind = item.sub.name;
    if (item.args.length > 0 || item.argsSpan) {
      sink.report("SF0109", item.argsSpan ?? item.span, "`layer` takes no arguments", { label: "unexpected arguments", hint: "stack arguments (`norm = ...`) go after the pattern: `stack N × (a, b)(norm = sandwich)`" });
      ok = false;
    }
    const first = declared.get(kind);
    if (first) {
      sink.report("SF0119", item.sub.span, `layer kind \`${kind}\` is declared twice`, { label: "second declaration", secondary: [sink.label(first.span, "first one here")] });
      ok = false;
      continue;
    }
    declared.set(kind, { index: kinds.length, span: item.sub.span });
    const sublayers = readSublayers(item.body ?? [], { span: item.sub.span, what: `layer \`${kind}\`` }, placement, sink, env, ctx);
    if (!sublayers) ok = false;
    kinds.push({ name: kind, sublayers: sublayers ?? [] });
  }
  const pattern: StackInfo["pattern"] = [];
  let runsOk = true;
  for (const run of st.pattern!) {
    const k = declared.get(run.kind.name);
    if (!k) {
      const hint = didYouMean(run.kind.name, declared.keys());
      sink.report("SF0122", run.kind.span, `no layer kind named \`${run.kind.name}\` in this stack`, {
        label: "not declared",
        ...(hint ? { hint } : { hint: `declare it in the stack: \`layer ${run.kind.name} { ... }\`` }),
        ...(declared.size > 0 ? { notes: [`this stack declares ${quoteList([...declared.keys()])}`] } : {}),
      });
      runsOk = false;
      continue;
    }
    let repeat = 1;
    if (run.repeat) {
      const r = env.eval(run.repeat, sink, "int");
      if (r === null || !env.checkSize(r, run.repeat, sink, "a layer run")) {
        runsOk = false;
        continue;
      }
      repeat = r;
    }
    pattern.push({ kind: k.index, count: repeat });
  }
  if (!runsOk) return null;
  const length = pattern.reduce((s, r) => s + r.count, 0);
  if (count !== null && length > count) {
    sink.report("SF0123", st.patternSpan!, `the layer pattern is ${length} layers long, but the stack has ${count}`, {
      label: `layers ${count} to ${length - 1} of the pattern never run`,
      hint: "layer i takes the pattern's entry i mod its length: shorten the pattern or raise the count",
    });
    return null;
  }
  // A kind declared but absent from the pattern is most likely a misspelt pattern entry.
  const used = new Set(pattern.map((r) => r.kind));
  for (const [kind, { index, span }] of declared) {
    if (used.has(index)) continue;
    sink.report("SF0123", span, `layer kind \`${kind}\` is never used`, {
      label: "not in the stack's pattern",
      secondary: [sink.label(st.patternSpan!, "the pattern")],
      hint: `name it in the pattern, or delete this \`layer ${kind}\``,
    });
    ok = false;
  }
  if (!ok) return null;
  return { kinds, pattern };
}

/**
 * The sublayers of one layer kind, each with its norms: before it (pre), after its residual
 * add (post), or both around it (sandwich: `norm ; sublayer ; norm`).
 */
function readSublayers(items: readonly Item[], owner: { span: Span; what: string }, placement: Placement, sink: Sink, env: DimEnv, ctx: SectionContext): Sublayer[] | null {
  let ok = true;
  const sublayers: Sublayer[] = [];
  // A norm waiting for the sublayer after it (pre-norm, and the pre half of a sandwich).
  let pending: { norm: NormInfo | null; st: Statement } | undefined;
  // Post and sandwich: the latest sublayer (null when it failed or was not a sublayer: already
  // reported, so a norm after it is not an error of its own), and the norm right after it.
  let lastSub: { sub: Sublayer | null; st: Statement } | undefined;
  let prevNorm: Statement | undefined;
  // An unknown statement (`mamba(...)`) was most likely meant as a sublayer: with it reported,
  // "the stack has no sublayers" would be a second, misleading error about the same line.
  let unknownStatement = false;
  const missingPost = () => {
    if (placement === "sandwich" && lastSub?.sub && !prevNorm) {
      normError(sink, lastSub.st, undefined, `in a sandwich stack each sublayer is \`norm ; ${lastSub.st.keyword.name} ; norm\`: this one has no norm after it`, "no post-norm");
      ok = false;
    }
  };
  for (const item of items) {
    if (item.kind !== "statement") {
      sink.report("SF0116", item.span, item.kind === "stack" ? "stacks cannot nest" : `\`${item.kind}\` cannot appear inside a stack`, { label: "not allowed in a layer" });
      ok = false;
      continue;
    }
    const kw = item.keyword.name;
    if (kw === "norm") {
      const n = readNorm(item, sink, env);
      if (!n) ok = false;
      // Pre-norm, or a sandwich's norm that is not the post-norm of the sublayer just read.
      const pre = placement === "pre" || (placement === "sandwich" && (lastSub === undefined || prevNorm !== undefined));
      if (pre) {
        if (pending) {
          normError(sink, pending.st, { st: item, label: "followed by another norm" }, "two norms in a row: the first has no sublayer");
          ok = false;
        }
        pending = { norm: n, st: item };
      } else if (lastSub === undefined) {
        normError(sink, item, undefined, "a post-norm `norm` must follow a sublayer");
        ok = false;
      } else if (prevNorm) {
        normError(sink, item, { st: prevNorm, label: "the sublayer's norm" }, "this sublayer already has a norm");
        ok = false;
      } else if (lastSub.sub && n) {
        if (placement === "post") lastSub.sub.norm = n;
        else lastSub.sub.postNorm = n;
      }
      if (!pre) prevNorm = item;
      continue;
    }
    if (kw === "dropout") {
      readArgs(item.args, DROPOUT, "`dropout`", item.span, sink, env);
      continue;
    }
    if (isSublayer(kw)) {
      missingPost();
      const sub = kw === "attention" ? readAttention(item, ctx, sink, env) : kw === "ssm" ? readSsm(item, ctx, sink, env) : readMlp(item, ctx, sink, env);
      if (placement === "sandwich" && !pending) {
        // The norm right after the previous sublayer was taken as that one's post-norm.
        const taken = prevNorm && lastSub ? { st: prevNorm, label: `the \`${lastSub.st.keyword.name}\`'s post-norm` } : undefined;
        normError(sink, item, taken, `in a sandwich stack each sublayer is \`norm ; ${kw} ; norm\`: this one has no norm before it`, "no pre-norm");
        ok = false;
      }
      if (sub) {
        if (pending?.norm) sub.norm = pending.norm;
        sublayers.push(sub);
      } else ok = false;
      pending = undefined;
      lastSub = { sub, st: item };
      prevNorm = undefined;
      continue;
    }
    misplaced(item, sink, "a layer", LAYER_STATEMENTS);
    unknownStatement ||= !isKnownStatement(kw);
    ok = false;
    // Probably meant as a sublayer (`attnetion`): it takes the norm's pairing with it.
    pending = undefined;
    lastSub = { sub: null, st: item };
    prevNorm = undefined;
  }
  missingPost();
  const hasSublayers = items.some((i) => i.kind === "statement" && isSublayer(i.keyword.name));
  if (pending && hasSublayers) {
    normError(sink, pending.st, undefined, "this pre-norm `norm` has no sublayer after it");
    ok = false;
  }
  if (!hasSublayers && !unknownStatement) {
    sink.report("SF0117", owner.span, `${owner.what} has no sublayers`, { label: "empty layer", hint: "add `attention self(...)` and `mlp(...)`" });
    ok = false;
  }
  return ok ? sublayers : null;
}

const isSublayer = (kw: string): boolean => kw === "attention" || kw === "mlp" || kw === "ssm";

function normError(sink: Sink, st: Statement, other: { st: Statement; label: string } | undefined, message: string, label = "unpaired norm"): void {
  sink.report("SF0215", st.span, message, {
    label,
    ...(other ? { secondary: [sink.label(other.st.span, other.label)] } : {}),
    notes: [
      "in a pre-norm stack (the default) each norm precedes its sublayer; with `stack N × name(norm = post)` each norm follows it; with `norm = sandwich` each sublayer has one before and one after",
    ],
  });
}
