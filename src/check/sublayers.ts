import type { Statement } from "../syntax/ast.ts";
import type { Span } from "../syntax/source.ts";
import type { AttentionInfo, FeatureMap, MlpActivation, MlpInfo, NormInfo, PositionInfo, RopeScaling, SparsePattern } from "../model/model.ts";
import { readArgs, type ArgValue, type ArgValues } from "./args.ts";
import { fmt, type DimEnv } from "./dims.ts";
import { ATTENTION, ATTENTION_KINDS, MLP, NORM, NORM_KINDS } from "./schemas.ts";
import type { Sink } from "./sink.ts";
import { didYouMean, quoteList } from "./suggest.ts";

/** An input declaration as sections and sublayers see it. */
export interface InputRef {
  dtype: string;
  shape: ReadonlyArray<number | string | null>;
  span: Span;
  sink: Sink;
}

/** What a sublayer needs to know about the section around it. */
export interface SectionContext {
  role: "main" | "encoder" | "decoder";
  width: number | null;
  /** Expression text naming the width (`d`), for messages. */
  widthText: string;
  /** Where the width is defined: a dim of a base model may be in another file than the body. */
  widthAt: { span: Span; file: string } | undefined;
  position: PositionInfo | null;
  maxSeq: number | undefined;
  maxSeqLabel: { span: Span; sink: Sink } | undefined;
  encoderWidth: number | null | undefined;
  inputs: ReadonlyMap<string, InputRef>;
  /** The token input this section embeds, and the encoder's, for checking padding masks against. */
  tokens: { name: string; shape: ReadonlyArray<number | string | null> } | undefined;
  encoderTokens: { name: string; shape: ReadonlyArray<number | string | null> } | undefined;
}

export const num = (v: ArgValue | undefined): number | null => (typeof v === "number" ? v : null);
const bool = (v: ArgValue | undefined, dflt: boolean): boolean => (typeof v === "boolean" ? v : dflt);

/** Checks the statement's kind word (`norm layer`, `attention self`) against the choices. */
export function readKind<K extends string>(st: Statement, kinds: readonly K[], what: string, sink: Sink): K | null {
  if (!st.sub) {
    sink.report("SF0110", st.keyword.span, `${what} needs a kind: one of ${quoteList(kinds)}`, {
      label: "kind missing",
      hint: `e.g. \`${st.keyword.name} ${kinds[0]}\``,
    });
    return null;
  }
  if ((kinds as readonly string[]).includes(st.sub.name)) return st.sub.name as K;
  const hint = didYouMean(st.sub.name, kinds);
  sink.report("SF0113", st.sub.span, `unknown ${what} kind \`${st.sub.name}\``, {
    label: "not a known kind",
    ...(hint ? { hint } : {}),
    notes: [`${what} kinds: ${quoteList(kinds)}`],
  });
  return null;
}

export function readNorm(st: Statement, sink: Sink, env: DimEnv): NormInfo | null {
  const kind = readKind(st, NORM_KINDS, "norm", sink);
  const a = readArgs(st.args, NORM, "`norm`", st.span, sink, env);
  const eps = num(a.get("eps")) ?? 1e-5;
  // Non-positive and non-finite eps are range errors (SF0217, in the schema); large is legal but odd.
  if (a.get("eps") !== undefined && eps > 0.1) {
    sink.warn("SF2006", a.span("eps")!, `eps = ${fmt(eps)} is unusually large`, {
      label: "suspicious eps",
      hint: "typical values are 1e-5 or 1e-6",
    });
  }
  if (kind === "rms" && a.get("bias") === true) {
    sink.report("SF0213", a.span("bias")!, "RMSNorm has no bias", { label: "only `norm layer` takes `bias`" });
  }
  if (kind === null) return null;
  const offset = num(a.get("offset")) ?? 0;
  return { kind, eps, bias: kind === "layer" ? bool(a.get("bias"), true) : false, ...(offset !== 0 ? { offset } : {}), span: st.span };
}

export function readMlp(st: Statement, ctx: SectionContext, sink: Sink, env: DimEnv): MlpInfo | null {
  if (st.sub) sink.report("SF0113", st.sub.span, "`mlp` takes no kind", { label: "unexpected word", hint: "write `mlp(hidden = ..., act = ...)`" });
  const a = readArgs(st.args, MLP, "`mlp`", st.span, sink, env);
  const hidden = num(a.get("hidden"));
  const act = a.get("act") as MlpActivation | undefined;
  if (hidden === null || act === undefined || ctx.width === null) return null;
  return { kind: "mlp", hidden, act, bias: bool(a.get("bias"), true), dropout: num(a.get("dropout")) ?? 0, span: st.span };
}

export function readAttention(st: Statement, ctx: SectionContext, sink: Sink, env: DimEnv): AttentionInfo | null {
  const source = readKind(st, ATTENTION_KINDS, "attention", sink);
  const a = readArgs(st.args, ATTENTION, "`attention`", st.span, sink, env);
  let ok = source !== null && ctx.width !== null;
  const heads = num(a.get("heads"));
  const kvHeads = a.has("kv_heads") ? num(a.get("kv_heads")) : heads;
  if (heads !== null && kvHeads !== null && heads % kvHeads !== 0) {
    const kvExpr = a.expr("kv_heads")!;
    sink.report("SF0203", kvExpr.span, `heads (${heads}) is not divisible by kv_heads (${kvHeads})`, {
      label: `${heads} query heads cannot share ${kvHeads} key/value heads evenly`,
      secondary: [sink.label(a.span("heads")!, `heads = ${heads}`)],
      hint: `kv_heads must divide heads: ${divisorList(heads)}`,
    });
    ok = false;
  }
  if (heads !== null && kvHeads !== null && kvHeads > heads) ok = false;

  let headDim = a.has("head_dim") ? num(a.get("head_dim")) : null;
  if (!a.has("head_dim") && heads !== null && ctx.width !== null) {
    if (ctx.width % heads !== 0) {
      const secondary = [];
      if (ctx.widthAt) secondary.push(sink.label(ctx.widthAt.span, `the model width ${ctx.widthText} = ${ctx.width}`, ctx.widthAt.file));
      const hExpr = a.expr("heads")!;
      const hLabel = hExpr.kind === "name" ? env.definitionLabel(hExpr.name) : undefined;
      if (hLabel) secondary.push(hLabel);
      sink.report("SF0201", a.span("heads")!, `${ctx.widthText} (${ctx.width}) is not divisible by heads (${heads})`, {
        label: `head_dim would be ${ctx.width} / ${heads} = ${fmt(ctx.width / heads)}`,
        secondary,
        hint: `choose heads among the divisors of ${ctx.width} (${divisorList(ctx.width)}), or set head_dim explicitly`,
      });
      ok = false;
    } else headDim = ctx.width / heads;
  }

  const causal = a.get("mask") === "causal";
  const linear = a.get("kind") === "linear";
  const window = num(a.get("window")) ?? undefined;
  const sparseV = a.get("sparse");
  let sparse: SparsePattern | undefined;
  if (sparseV && typeof sparseV === "object") sparse = readSparse(sparseV.call, sparseV.args);
  if (a.has("sparse") && sparseV === undefined) ok = false;

  const scale = num(a.get("scale")) ?? undefined;
  const softcap = num(a.get("softcap")) ?? undefined;
  const conflicts: Array<[string, boolean, string]> = [
    ["window", linear && a.has("window"), "no score matrix to restrict"],
    ["sparse", linear && a.has("sparse"), "no score matrix to restrict"],
    ["scale", linear && a.has("scale"), "no scores to scale: φ(q) · φ(k) is not a softmax logit"],
    ["softcap", linear && a.has("softcap"), "no scores to cap: φ(q) · φ(k) is not a softmax logit"],
  ];
  for (const [name, bad, why] of conflicts) {
    if (bad) {
      sink.report("SF0213", a.span(name)!, `linear attention takes no \`${name}\``, {
        label: why,
        secondary: [sink.label(a.span("kind")!, "linear attention chosen here")],
      });
      ok = false;
    }
  }
  if (a.has("window") && a.has("sparse")) {
    sink.report("SF0213", a.span("sparse")!, "a window and a sparsity pattern cannot both apply", {
      label: "second restriction",
      secondary: [sink.label(a.span("window")!, "window given here")],
    });
    ok = false;
  }
  if (a.has("feature_map") && !linear) {
    sink.report("SF0213", a.span("feature_map")!, "`feature_map` applies only to linear attention", {
      label: "no effect on softmax attention",
      hint: "add `kind = linear`",
    });
    ok = false;
  }
  // ALiBi biases self-attention only; a linear cross-attention next to it is fine.
  if (linear && (ctx.position?.kind === "alibi" || ctx.position?.kind === "hard_alibi") && source === "self") {
    sink.report("SF0213", a.span("kind")!, `linear attention cannot use ${ctx.position.kind === "alibi" ? "ALiBi" : "Hard-ALiBi"} positions`, { label: "ALiBi biases a score matrix linear attention never forms" });
    ok = false;
  }
  const headWindows = hardAlibiWindows(ctx.position, source === "self" && !linear ? heads : null, causal, a, sink);
  if (headWindows === null) ok = false;

  if (window !== undefined && ctx.maxSeq !== undefined && window > ctx.maxSeq) {
    sink.report("SF0207", a.expr("window")!.span, `window (${window}) is larger than context (${ctx.maxSeq})`, {
      label: "no query ever reaches the window's edge",
      ...(ctx.maxSeqLabel ? { secondary: [ctx.maxSeqLabel.sink.label(ctx.maxSeqLabel.span, `sequences are at most ${ctx.maxSeq} long`)] } : {}),
      hint: "make the window smaller than the context, or drop it for ordinary attention",
    });
    ok = false;
  }
  if (sparse && ctx.maxSeq !== undefined) {
    const blk = sparse.kind === "block" ? sparse.block : sparse.stride;
    if (ctx.maxSeq % blk !== 0) {
      sink.report("SF0212", a.span("sparse")!, `block size ${blk} does not divide context (${ctx.maxSeq})`, {
        label: `${ctx.maxSeq} / ${blk} = ${fmt(ctx.maxSeq / blk)} blocks`,
        ...(ctx.maxSeqLabel ? { secondary: [ctx.maxSeqLabel.sink.label(ctx.maxSeqLabel.span, "context bound")] } : {}),
      });
      ok = false;
    }
  }

  let padding: string | undefined;
  const pad = a.get("padding");
  if (typeof pad === "string") {
    const input = ctx.inputs.get(pad);
    if (!input) {
      const hint = didYouMean(pad, ctx.inputs.keys());
      sink.report("SF0114", a.expr("padding")!.span, `no input named \`${pad}\``, {
        label: "unknown input",
        ...(hint ? { hint } : { hint: `declare it: \`input ${pad}: bool[batch, seq]\`` }),
      });
      ok = false;
    } else if (checkPadding(pad, input, source === "cross" ? ctx.encoderTokens : ctx.tokens, a.expr("padding")!.span, sink)) padding = pad;
    else ok = false;
  }

  let sourceDim = ctx.width;
  if (source === "cross") {
    if (causal) {
      sink.report("SF0213", a.span("mask")!, "cross-attention cannot be causal", { label: "the encoder's output has no order relative to the decoder's" });
      ok = false;
    }
    if (ctx.encoderWidth === undefined) {
      sink.report("SF0216", st.sub!.span, "cross-attention needs an encoder", {
        label: ctx.role === "encoder" ? "an encoder cannot attend to itself this way" : "no encoder in this model",
        hint: "declare `encoder { ... }` and `decoder { ... }` sections",
      });
      ok = false;
    } else {
      const mem = a.has("memory_dim") ? num(a.get("memory_dim")) : ctx.width;
      if (mem !== null && ctx.encoderWidth !== null && mem !== ctx.encoderWidth) {
        sink.report("SF0208", a.span("memory_dim") ?? st.span, `cross-attention expects memory of width ${mem}, but the encoder produces width ${ctx.encoderWidth}`, {
          label: a.has("memory_dim") ? `memory_dim = ${mem}` : `memory width defaults to the decoder width ${ctx.widthText} = ${mem}`,
          hint: `set \`memory_dim = ${ctx.encoderWidth}\` to project the encoder output`,
        });
        ok = false;
      }
      sourceDim = ctx.encoderWidth;
    }
  } else if (a.has("memory") || a.has("memory_dim")) {
    sink.report("SF0213", (a.span("memory") ?? a.span("memory_dim"))!, "`memory` applies only to `attention cross`", { label: "self-attention reads its own input" });
    ok = false;
  }

  // RoPE rotates channel pairs: the rotated part of each head must be whole and even.
  let ropeDim = 0;
  let ropeBase = 10000;
  if (ctx.position?.kind === "rope" && headDim !== null && source === "self") {
    const rot = headDim * ctx.position.fraction;
    ropeBase = ctx.position.base;
    if (!Number.isInteger(rot) || rot % 2 !== 0) {
      sink.report(Number.isInteger(rot) ? "SF0206" : "SF0211", a.span("head_dim") ?? a.span("heads")!, `RoPE needs an even number of rotated channels per head, but head_dim (${headDim}) × fraction (${fmt(ctx.position.fraction)}) = ${fmt(rot)}`, {
        label: `head_dim = ${headDim}`,
        hint: "use an even head_dim, or a rotary fraction that gives an even count",
      });
      ok = false;
    } else ropeDim = rot;
  }

  if (!ok || heads === null || kvHeads === null || headDim === null || sourceDim === null || ctx.width === null || source === null) return null;
  const bias = bool(a.get("bias"), false);
  return {
    kind: "attention",
    source,
    heads,
    kvHeads,
    headDim,
    causal,
    ...(window !== undefined ? { window } : {}),
    ...(linear ? { linear: { featureMap: (a.get("feature_map") as FeatureMap | undefined) ?? "elu1" } } : {}),
    ...(sparse ? { sparse } : {}),
    qkvBias: bias,
    outBias: bool(a.get("out_bias"), bias),
    ...(padding ? { padding } : {}),
    sourceDim,
    ropeDim,
    ropeBase,
    ...(ropeDim > 0 && ctx.position?.kind === "rope" && ctx.position.scaling ? { ropeScaling: ctx.position.scaling } : {}),
    ...(scale !== undefined ? { scale } : {}),
    ...(softcap !== undefined ? { softcap } : {}),
    alibi: source === "self" && (ctx.position?.kind === "alibi" || (ctx.position?.kind === "hard_alibi" && ctx.position.rest === "alibi")),
    ...(headWindows ? { headWindows } : {}),
    dropout: num(a.get("dropout")) ?? 0,
    ...readQkNorm(a, st.span),
    span: st.span,
  };
}

/**
 * Hard-ALiBi's per-head windows for a softmax self-attention with `heads` query heads: head
 * h < local_heads sees its last h + 1 keys, the others 0 (no limit). Undefined when the
 * position is not Hard-ALiBi (or the attention is not softmax self-attention); null when wrong
 * (reported: more local heads than heads, or a bidirectional attention, whose "last h + 1
 * tokens" would see the future).
 */
function hardAlibiWindows(position: PositionInfo | null, heads: number | null, causal: boolean, a: ArgValues, sink: Sink): number[] | undefined | null {
  if (position?.kind !== "hard_alibi" || heads === null) return undefined;
  const at = a.span("heads")!;
  if (position.localHeads > heads) {
    sink.report("SF0243", at, `Hard-ALiBi masks ${position.localHeads} heads, but this attention has ${heads}`, {
      label: `${heads} heads`,
      hint: `set \`position hard_alibi(local_heads = ${heads})\` or fewer, or give the attention more heads`,
    });
    return null;
  }
  if (!causal) {
    sink.report("SF0243", a.span("mask") ?? at, "Hard-ALiBi needs causal attention: its heads see the last h + 1 tokens", {
      label: "bidirectional attention",
      hint: "add `mask = causal`, or use `position alibi` for an encoder",
    });
    return null;
  }
  return Array.from({ length: heads }, (_, h) => (h < position.localHeads ? h + 1 : 0));
}

/** `qk_norm = rms(eps = ...)`: RMSNorm of each head of q and of k (the schema allows only rms). */
function readQkNorm(a: ArgValues, span: Span): { qkNorm?: NormInfo } {
  const v = a.get("qk_norm");
  if (!v || typeof v !== "object") return {};
  return { qkNorm: { kind: "rms", eps: num(v.args.get("eps")) ?? 1e-6, bias: false, span: a.span("qk_norm") ?? span } };
}

/**
 * `scaling = linear(factor)` or `llama3(factor, low_freq_factor, high_freq_factor,
 * original_context)` of `position rope`: undefined when absent, null when wrong (reported).
 */
export function readRopeScaling(a: ArgValues, sink: Sink): RopeScaling | undefined | null {
  if (!a.has("scaling")) return undefined;
  const v = a.get("scaling");
  if (v === undefined || typeof v !== "object") return null;
  const factor = num(v.args.get("factor"));
  if (factor === null) return null;
  if (v.call === "linear") return { kind: "linear", factor };
  const low = num(v.args.get("low_freq_factor"));
  const high = num(v.args.get("high_freq_factor"));
  const originalContext = num(v.args.get("original_context"));
  if (low === null || high === null || originalContext === null) return null;
  // The blend divides by high − low; wavelengths between the bands need low < high.
  if (low >= high) {
    sink.report("SF0240", v.args.span("low_freq_factor")!, `low_freq_factor (${fmt(low)}) must be below high_freq_factor (${fmt(high)})`, {
      label: "the low-frequency band's factor",
      secondary: [sink.label(v.args.span("high_freq_factor")!, `high_freq_factor = ${fmt(high)}`)],
      hint: "Llama 3.1 uses low_freq_factor = 1, high_freq_factor = 4",
    });
    return null;
  }
  return { kind: "llama3", factor, lowFreqFactor: low, highFreqFactor: high, originalContext };
}

function readSparse(call: string, args: ArgValues): SparsePattern | undefined {
  if (call === "strided") {
    const stride = num(args.get("stride"));
    return stride === null ? undefined : { kind: "strided", stride };
  }
  const block = num(args.get("size"));
  if (block === null) return undefined;
  return { kind: "block", block, local: num(args.get("local")) ?? 1, global: num(args.get("global")) ?? 0 };
}

/**
 * A padding mask masks the keys: it must be bool and have the shape of the tokens the keys
 * come from (this section's for self-attention, the encoder's for cross-attention), or the
 * lowered graph would not verify. Reports and returns false when it does not fit.
 */
function checkPadding(
  name: string,
  input: InputRef,
  keys: SectionContext["tokens"],
  at: Span,
  sink: Sink,
): boolean {
  const shape = (s: ReadonlyArray<number | string | null>) => `[${s.map((x) => x ?? "?").join(", ")}]`;
  // No tokens known (the embed failed, or a cross-attention without an encoder): reported elsewhere.
  if (!keys) return true;
  const fits = input.dtype === "bool" && input.shape.length === 2 && input.shape.every((ax, i) => ax !== null && ax === keys.shape[i]);
  if (fits) return true;
  const declared = `${input.dtype}${shape(input.shape)}`;
  const wanted = `bool${shape(keys.shape)}`;
  sink.report("SF0214", at, `padding mask \`${name}\` is ${declared}, but it must be ${wanted}, the shape of \`${keys.name}\``, {
    label: `masks the keys of \`${keys.name}\``,
    secondary: [input.sink.label(input.span, `declared as ${declared}`)],
    hint: `declare it as \`input ${name}: ${wanted}\` (1 = a real token, 0 = padding)`,
  });
  return false;
}

/** Trial division goes no further than this: a hint must not cost √(2^53) steps. */
const TRIAL_LIMIT = 100_000;

/**
 * The smallest divisors of n, for hints: "1, 2, 3, 4, 6, ...". Trial division to √n finds
 * the small ones and, as n / each, the large ones; past TRIAL_LIMIT the list stops at the
 * small ones found, ending in "...".
 */
export function divisorList(n: number, count = 12): string {
  const small: number[] = [];
  const large: number[] = [];
  const root = Math.floor(Math.sqrt(n));
  const limit = Math.min(root, TRIAL_LIMIT);
  for (let i = 1; i <= limit; i++) {
    if (n % i !== 0) continue;
    small.push(i);
    if (i !== n / i) large.push(n / i);
  }
  const known = limit === root ? [...small, ...large.reverse()] : small;
  const more = known.length > count || limit < root;
  return `${known.slice(0, count).join(", ")}${more ? ", ..." : ""}`;
}
