// A seeded generator of random, well-formed specs at tiny dims, for test/spec-property.test.ts.
// Every spec it writes is meant to check clean (warnings allowed): it draws over every
// statement and argument of the language (src/check/schemas.ts) — the three model shapes
// (decoder-only, encoder-only, encoder–decoder), attention kinds (full, causal, sliding window,
// block-sparse with and without global blocks, strided, linear with elu1 / relu; score scale
// and softcap), cross-attention with and without memory_dim, heads / kv_heads (MHA, GQA, MQA) / head_dim (explicit, odd, 1),
// every position kind with RoPE's base, fraction and scaling (llama3, linear), layer / rms norms with eps and bias, pre /
// post placement, every MLP activation with and without bias, padding inputs (self, cross,
// causal), token-type inputs, tied / linear heads with bias / transform / eps / softcap / vocab,
// tokenizers, dropout statements and arguments, train, lint, families (`extends`), one or two
// stacks, dims written as names, literals and expressions, run-time dims under other names
// than batch / seq, with and without bounds — and tags each spec with the features it used,
// so the test can require that a run covers them all.

import { mulberry32, type Rng } from "../../src/runtime/sample.ts";

export interface RandomSpec {
  seed: number;
  /** The spec text; its entry model is the last one in it. */
  text: string;
  /** Feature tags (see FEATURES) this spec exercises. */
  features: Set<string>;
  /** Files the spec imports, by path relative to the spec's directory (checkSource's `read`). */
  files: Record<string, string>;
}

/** Every feature tag the generator can emit: a covering run has each at least once. */
export const FEATURES = [
  "model:decoder", "model:encoder", "model:encdec",
  "attn:causal", "attn:bidirectional", "attn:full", "attn:window", "attn:window=1", "attn:block", "attn:block-global", "attn:strided",
  "attn:linear-elu1", "attn:linear-relu", "attn:linear-default", "attn:kind=softmax", "attn:bias", "attn:out_bias", "attn:dropout", "attn:scale", "attn:softcap",
  "heads:mha", "heads:gqa", "heads:mqa", "head_dim:explicit", "head_dim:odd", "head_dim:1",
  "cross", "cross:memory", "cross:memory_dim", "cross:width-differs", "cross:linear", "cross:window", "cross:sparse", "cross:padding",
  "pos:learned", "pos:learned-dim", "pos:sinusoidal", "pos:rope", "pos:rope-base", "pos:rope-fraction", "pos:rope-llama3", "pos:rope-linear", "pos:alibi", "pos:none", "pos:absent",
  "norm:layer", "norm:rms", "norm:layer-nobias", "norm:eps", "norm:embedding", "norm:final", "norm:missing",
  "stack:pre", "stack:post", "stack:pre-explicit", "stack:two", "stack:layers=2", "stack:x", "stack:mlp-first", "stack:attention-only", "stack:two-attention",
  "mlp:relu", "mlp:gelu", "mlp:gelu_tanh", "mlp:silu", "mlp:swiglu", "mlp:geglu", "mlp:bias", "mlp:nobias", "mlp:dropout",
  "padding:self", "padding:causal", "padding:unused",
  "types", "embed:scale", "embed:named-args", "embed:tie",
  "head:tied", "head:linear", "head:bias", "head:transform", "head:eps", "head:softcap", "head:vocab",
  "tokenizer:byte", "tokenizer:bpe", "tokenizer:sentencepiece",
  "dropout:statement", "dropout:stack", "train", "lint", "extends", "import",
  "static:batch",
  "names:batch", "names:seq", "bound:none", "bound:batch", "bound:literal", "bound:less", "dims:expr", "dims:literal",
  "comments",
] as const;

class Gen {
  readonly features = new Set<string>();
  constructor(private readonly rng: Rng) {}
  u(): number {
    return this.rng();
  }
  chance(p: number): boolean {
    return this.rng() < p;
  }
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.rng() * (hi - lo + 1));
  }
  pick<T>(xs: readonly T[]): T {
    return xs[Math.floor(this.rng() * xs.length)];
  }
  tag(...fs: string[]): void {
    for (const f of fs) this.features.add(f);
  }
}

const divisors = (n: number): number[] => Array.from({ length: n }, (_, i) => i + 1).filter((k) => n % k === 0);

/** Dims: declared in the model's `dims { }` block, written by name or as a literal. */
class Dims {
  readonly decl = new Map<string, string>();
  constructor(private readonly g: Gen) {}
  /** Declares `name = value` (once) and returns how a statement writes it: mostly the name. */
  ref(name: string, value: number, literalChance = 0.2): string {
    if (!this.decl.has(name)) this.decl.set(name, String(value));
    if (this.decl.get(name) !== String(value)) return String(value);
    if (this.g.chance(literalChance)) {
      this.g.tag("dims:literal");
      return String(value);
    }
    return name;
  }
}

interface Section {
  role: "main" | "encoder" | "decoder";
  width: number;
  tokens: string;
  seqDim: string;
  vocab: number;
  context: number;
  bounded: boolean;
  mask?: string;
  types?: { name: string; vocab: number };
  position: "learned" | "sinusoidal" | "rope" | "alibi" | "none" | "absent";
  ropeFraction: number;
  causal: boolean;
}

interface Plan {
  shape: "decoder" | "encoder" | "encdec";
  /** The batch axis as inputs write it: a run-time dim's name, or a fixed size. */
  batch: string;
  batchBound?: number;
  sections: Section[];
}

const NORM_EPS = ["1e-5", "1e-6", "1e-12", "0.001"];

export function randomSpec(seed: number): RandomSpec {
  const g = new Gen(mulberry32(seed * 2654435761 + 17));
  const dims = new Dims(g);
  const shape = g.pick(["decoder", "decoder", "decoder", "encoder", "encoder", "encdec", "encdec"] as const);
  g.tag(`model:${shape}`);
  let batch = g.pick(["batch", "batch", "batch", "batch", "b", "n"]);
  if (g.chance(0.05)) {
    batch = "2";
    g.tag("static:batch");
  } else if (batch !== "batch") g.tag("names:batch");
  const plan: Plan = { shape, batch, sections: [] };
  if (batch !== "2" && g.chance(0.1)) {
    plan.batchBound = g.int(2, 4);
    g.tag("bound:batch");
  }

  const tokenizer = g.u();
  const byteTok = tokenizer < 0.12;
  const outVocab = byteTok ? g.pick([256, 257]) : g.int(11, 97);

  const mkSection = (role: Section["role"], vocab: number, seqNames: string[], tokNames: string[]): Section => {
    const seqDim = g.pick(seqNames);
    const context = g.pick([8, 9, 12, 13, 16, 20]);
    const causal = role === "decoder" || (role === "main" && shape === "decoder");
    const pos = g.pick(["learned", "learned", "sinusoidal", "rope", "rope", "alibi", "none", "absent"] as const);
    // An unbounded sequence: only where no learned table needs a bound.
    const bounded = pos === "learned" || !g.chance(0.12);
    // A fixed sequence length is an error (SF0214: sequence axes are run-time dims, bounded by
    // `where`); its draw stays so that every seed keeps the rest of its spec.
    if (role === "main" && shape === "encoder") g.chance(0.1);
    const fixed = false;
    return {
      role,
      width: 0,
      tokens: g.pick(tokNames),
      seqDim: fixed ? "" : seqDim,
      vocab,
      context,
      bounded,
      position: pos,
      ropeFraction: 1,
      causal,
    };
  };

  if (shape === "encdec") {
    const enc = mkSection("encoder", g.chance(0.3) ? outVocab : g.int(11, 97), ["src_seq", "s"], ["src_tokens", "src"]);
    const dec = mkSection("decoder", outVocab, ["seq", "t", "len"], ["tokens", "tgt", "ids"]);
    plan.sections.push(enc, dec);
  } else {
    plan.sections.push(mkSection("main", outVocab, ["seq", "seq", "t", "len"], ["tokens", "tokens", "ids", "x"]));
  }
  for (const s of plan.sections) if (s.seqDim !== "seq" && s.seqDim !== "src_seq" && s.seqDim !== "") g.tag("names:seq");

  // Widths: heads × head dim, with the RoPE fraction's constraint on the head dim.
  const headPlans = new Map<Section, { heads: number; hd: number }>();
  for (const s of plan.sections) {
    if (s.position === "rope") s.ropeFraction = g.pick([1, 1, 0.5, 0.25, 0.75]);
    const hdOk = (hd: number) => s.position !== "rope" || (Number.isInteger(hd * s.ropeFraction) && (hd * s.ropeFraction) % 2 === 0);
    let heads = 1;
    let hd = 1;
    for (let tries = 0; tries < 100; tries++) {
      heads = g.pick([1, 2, 2, 3, 4, 4, 5, 6]);
      hd = g.pick([1, 2, 3, 4, 5, 6, 8, 8, 10, 12, 16]);
      if (hdOk(hd) && heads * hd <= 48 && heads * hd >= 4) break;
    }
    if (!hdOk(hd)) {
      s.ropeFraction = 1;
      hd = 8;
    }
    headPlans.set(s, { heads, hd });
    s.width = heads * hd;
  }
  if (shape === "encdec") {
    const [enc, dec] = plan.sections;
    // Mostly one width, as nn.Transformer; sometimes the decoder is narrower or wider.
    if (!g.chance(0.25) || enc.width === dec.width) {
      dec.width = enc.width;
      const e = headPlans.get(enc)!;
      if (dec.position !== "rope" || (Number.isInteger(e.hd * dec.ropeFraction) && (e.hd * dec.ropeFraction) % 2 === 0)) headPlans.set(dec, { ...e });
      else {
        dec.position = "sinusoidal";
        headPlans.set(dec, { ...e });
      }
    } else g.tag("cross:width-differs");
  }

  // Inputs: tokens, padding masks, token types.
  const inputs: string[] = [];
  for (const s of plan.sections) {
    const wantsMask = s.causal ? g.chance(0.3) : g.chance(0.7);
    if (wantsMask) s.mask = s.role === "encoder" ? g.pick(["src_mask", "src_pad"]) : g.pick(["mask", "pad", "keep"]);
    if (s.role !== "decoder" && g.chance(0.2)) s.types = { name: s.role === "encoder" ? "src_types" : g.pick(["types", "tt"]), vocab: g.int(2, 4) };
  }
  for (const s of plan.sections) {
    const ctx = dims.ref(s.role === "encoder" ? "src_context" : "context", s.context, 0);
    let bound = "";
    if (s.seqDim === "") {
      // Fixed length: the seq axis is the dim itself (or its value).
      s.seqDim = g.chance(0.7) ? ctx : String(s.context);
      g.tag("static:seq");
    } else if (s.bounded) {
      const form = g.u();
      if (form < 0.6) bound = `${s.seqDim} <= ${ctx}`;
      else if (form < 0.75) {
        bound = `${s.seqDim} < ${ctx} + 1`;
        g.tag("bound:less", "dims:expr");
      } else if (form < 0.9) {
        bound = `${s.seqDim} <= ${s.context}`;
        g.tag("bound:literal");
      } else {
        bound = `${s.seqDim} <= min(${ctx}, 64)`;
        g.tag("dims:expr");
      }
    } else g.tag("bound:none");
    if (plan.batchBound !== undefined && s === plan.sections[0]) bound = bound ? `${bound}, ${batch} <= ${plan.batchBound}` : `${batch} <= ${plan.batchBound}`;
    inputs.push(`input ${s.tokens}: int[${batch}, ${s.seqDim}]${bound ? ` where ${bound}` : ""}`);
    if (s.mask) inputs.push(`input ${s.mask}: bool[${batch}, ${s.seqDim}]`);
    if (s.types) {
      inputs.push(`input ${s.types.name}: int[${batch}, ${s.seqDim}]`);
      g.tag("types");
    }
  }

  // Model-level statements.
  const modelLines: string[] = [];
  if (byteTok) {
    modelLines.push("tokenizer byte");
    g.tag("tokenizer:byte");
  } else if (tokenizer < 0.16) {
    modelLines.push("tokenizer bpe(gpt2)");
    g.tag("tokenizer:bpe");
  } else if (tokenizer < 0.19) {
    modelLines.push("tokenizer sentencepiece(llama)");
    g.tag("tokenizer:sentencepiece");
  }
  if (g.chance(0.15)) {
    const args = g.pick(["dropout = 0.1", "label_smoothing = 0.1", "dropout = 0.1, label_smoothing = 0.05"]);
    modelLines.push(`train(${args})`);
    g.tag("train");
  }
  if (g.chance(0.12)) {
    modelLines.push(`lint(allow = [${g.pick(["SF2002", "SF2005", "SF2002, SF2003", "SF2001"])}])`);
    g.tag("lint");
  }

  const bodies = plan.sections.map((s) => sectionBody(g, dims, plan, s, headPlans.get(s)!));

  // The head.
  const out = plan.sections[plan.sections.length - 1];
  const headArgs: string[] = [];
  const tied = g.chance(0.55);
  g.tag(tied ? "head:tied" : "head:linear");
  if (!tied && !byteTok && g.chance(0.15)) {
    headArgs.push(g.chance(0.5) ? `vocab = ${out.vocab + g.int(1, 9)}` : `${out.vocab + g.int(1, 9)}`);
    g.tag("head:vocab");
  } else if (!tied && g.chance(0.1)) {
    headArgs.push(`vocab = ${dims.ref("vocab", out.vocab)}`);
    g.tag("head:vocab");
  }
  if (g.chance(0.3)) {
    headArgs.push(`bias = ${g.chance(0.8)}`);
    g.tag("head:bias");
  }
  if (g.chance(0.2)) {
    headArgs.push(`transform = ${g.pick(["relu", "gelu", "gelu_tanh", "silu"])}`);
    g.tag("head:transform");
    if (g.chance(0.5)) {
      headArgs.push(`eps = ${g.pick(NORM_EPS)}`);
      g.tag("head:eps");
    }
  }
  if (g.chance(0.15)) {
    headArgs.push(`softcap = ${g.pick(["0.5", "2", "30.0"])}`);
    g.tag("head:softcap");
  }
  const head = `head ${tied ? "tied" : "linear"}${headArgs.length ? `(${headArgs.join(", ")})` : ""}`;

  // Assemble, possibly as a family: the parent declares some dims without values.
  let family = g.chance(0.15);
  const params = family ? [...dims.decl.keys()].filter((k) => ["d", "heads", "layers", "hidden", "enc_d"].includes(k)) : [];
  if (params.length === 0) family = false;
  const dimsText = (withValues: boolean, only?: string[]) =>
    [...dims.decl]
      .filter(([k]) => !only || only.includes(k))
      .map(([k, v]) => (withValues || !params.includes(k) ? `${k} = ${v}` : k))
      .join(", ");
  const name = `gen_${seed}`;
  const lines: string[] = [];
  const files: Record<string, string> = {};
  const comment = g.chance(0.3);
  if (comment) {
    g.tag("comments");
    lines.push(`# generated spec, seed ${seed}`);
  }
  lines.push(`model ${family ? `${name}_family` : name} {`);
  lines.push(`  dims { ${dimsText(!family)} }`);
  for (const i of inputs) lines.push(`  ${i}`);
  for (const l of modelLines) lines.push(`  ${l}`);
  if (shape === "encdec") {
    lines.push("  encoder {");
    for (const l of bodies[0]) lines.push(`    ${l}`);
    lines.push("  }");
    lines.push(comment ? "  decoder { // the half that feeds the head" : "  decoder {");
    for (const l of bodies[1]) lines.push(`    ${l}`);
    lines.push("  }");
  } else for (const l of bodies[0]) lines.push(`  ${l}`);
  lines.push(`  ${head}${comment ? " /* logits */" : ""}`);
  lines.push("}");
  if (!family) return { seed, text: `${lines.join("\n")}\n`, features: g.features, files };
  g.tag("extends");
  const child = `model ${name} extends ${name}_family { dims { ${dimsText(true, params)} } }`;
  if (!g.chance(0.5)) return { seed, text: `${[...lines, child].join("\n")}\n`, features: g.features, files };
  // The family in a file of its own, imported.
  g.tag("import");
  const lib = `lib/${name}_family.sf`;
  files[lib] = `${lines.join("\n")}\n`;
  return { seed, text: `import "${lib}"\n${child}\n`, features: g.features, files };
}

/** A section's statements: embeds, position, embedding norm, dropout, stacks, final norm. */
function sectionBody(g: Gen, dims: Dims, plan: Plan, s: Section, hp: { heads: number; hd: number }): string[] {
  const out: string[] = [];
  const enc = s.role === "encoder";
  const p = enc ? "enc_" : "";
  const dRef = () => dims.ref(`${p}d`, s.width);
  const vocabName = enc ? "src_vocab" : "vocab";
  // Embed of the tokens.
  const embArgs: string[] = [];
  const named = g.chance(0.15);
  if (named) g.tag("embed:named-args");
  embArgs.push(named ? `vocab = ${dims.ref(vocabName, s.vocab)}` : dims.ref(vocabName, s.vocab));
  embArgs.push(named ? `dim = ${dRef()}` : dRef());
  if (g.chance(0.2)) {
    embArgs.push(g.chance(0.6) ? `scale = sqrt(${dRef()})` : `scale = ${g.pick(["2", "0.5", "1.5"])}`);
    g.tag("embed:scale");
  }
  const encSec = plan.sections[0];
  if (s.role === "decoder" && encSec.vocab === s.vocab && encSec.width === s.width && g.chance(0.5)) {
    embArgs.push(`tie = ${encSec.tokens}`);
    g.tag("embed:tie");
  }
  out.push(`embed ${s.tokens}(${embArgs.join(", ")})`);
  if (s.types) out.push(`embed ${s.types.name}(${dims.ref(enc ? "src_segments" : "segments", s.types.vocab)}, ${dRef()})`);

  // Position, then the embedding norm and dropout in either order.
  const pre: string[] = [];
  switch (s.position) {
    case "learned": {
      const len = g.chance(0.7) ? dims.ref(enc ? "src_context" : "context", s.context, 0) : String(s.context + g.int(1, 8));
      if (g.chance(0.2)) {
        pre.push(`position learned(${len}, ${dRef()})`);
        g.tag("pos:learned-dim");
      } else pre.push(`position learned(${len})`);
      break;
    }
    case "rope": {
      const args: string[] = [];
      if (g.chance(0.5)) {
        args.push(`base = ${g.pick(["10000", "500", "1e4", "2.5"])}`);
        g.tag("pos:rope-base");
      }
      if (s.ropeFraction !== 1 || g.chance(0.2)) {
        args.push(`fraction = ${s.ropeFraction}`);
        g.tag("pos:rope-fraction");
      }
      if (g.chance(0.25)) {
        const llama3 = g.chance(0.5);
        args.push(llama3 ? `scaling = llama3(factor = ${g.pick(["8", "32"])}, low_freq_factor = 1, high_freq_factor = ${g.pick(["2", "4"])}, original_context = ${g.int(4, 64)})` : `scaling = linear(${g.pick(["factor = 4", "0.5"])})`);
        g.tag(llama3 ? "pos:rope-llama3" : "pos:rope-linear");
      }
      pre.push(`position rope${args.length ? `(${args.join(", ")})` : ""}`);
      break;
    }
    case "absent":
      break;
    default:
      pre.push(`position ${s.position}`);
  }
  g.tag(`pos:${s.position}`);
  if (g.chance(0.3)) {
    pre.push(normText(g));
    g.tag("norm:embedding");
  }
  if (g.chance(0.12)) {
    pre.push(`dropout(${g.pick(["0.1", "0", "p = 0.2"])})`);
    g.tag("dropout:statement");
  }
  if (g.chance(0.3)) pre.reverse();
  out.push(...pre);

  // One stack, sometimes two with a norm between them.
  const nStacks = g.chance(0.15) ? 2 : 1;
  if (nStacks === 2) g.tag("stack:two");
  const names = g.chance(0.5) ? ["layers", "block"] : ["block", "extra"];
  let placementLast: "pre" | "post" = "pre";
  for (let k = 0; k < nStacks; k++) {
    const post = g.chance(0.3);
    placementLast = post ? "post" : "pre";
    g.tag(post ? "stack:post" : "stack:pre");
    const count = g.chance(0.35) ? 2 : 1;
    if (count === 2) g.tag("stack:layers=2");
    const countText = k === 0 ? dims.ref(enc ? "enc_layers" : "layers", count) : String(count);
    const times = g.chance(0.25) ? "x" : "×";
    if (times === "x") g.tag("stack:x");
    let args = "";
    if (post) args = "(norm = post)";
    else if (g.chance(0.15)) {
      args = "(norm = pre)";
      g.tag("stack:pre-explicit");
    }
    const stackName = `${enc ? "enc_" : ""}${names[k]}`;
    out.push(`stack ${countText} ${times} ${stackName}${args} {`);
    for (const l of stackBody(g, dims, plan, s, hp, post)) out.push(`  ${l}`);
    out.push("}");
    if (k === 0 && nStacks === 2 && g.chance(0.5)) out.push(normText(g));
  }
  // A final norm: usual after a pre-norm stack, sometimes after a post-norm one.
  if (g.chance(placementLast === "pre" ? 0.8 : 0.3)) {
    out.push(normText(g));
    g.tag("norm:final");
  }
  return out;
}

function normText(g: Gen): string {
  const kind = g.chance(0.5) ? "layer" : "rms";
  g.tag(`norm:${kind}`);
  const args: string[] = [];
  if (g.chance(0.7)) {
    args.push(`eps = ${g.pick(NORM_EPS)}`);
    g.tag("norm:eps");
  }
  if (kind === "layer" && g.chance(0.2)) {
    args.push(`bias = ${g.chance(0.7) ? "false" : "true"}`);
    g.tag("norm:layer-nobias");
  }
  return `norm ${kind}${args.length ? `(${args.join(", ")})` : ""}`;
}

type Sub = { kind: "self" | "cross" | "mlp"; text: string };

function stackBody(g: Gen, dims: Dims, plan: Plan, s: Section, hp: { heads: number; hd: number }, post: boolean): string[] {
  const subs: Sub[] = [];
  const self = (): Sub => ({ kind: "self", text: attentionText(g, dims, plan, s, hp, "self") });
  const mlp = (): Sub => ({ kind: "mlp", text: mlpText(g, dims, s) });
  const r = g.u();
  if (s.role === "decoder") {
    subs.push(self(), { kind: "cross", text: attentionText(g, dims, plan, s, hp, "cross") }, mlp());
    g.tag("cross");
  } else if (r < 0.08) {
    subs.push(self());
    g.tag("stack:attention-only");
  } else if (r < 0.16) {
    subs.push(mlp(), self());
    g.tag("stack:mlp-first");
  } else if (r < 0.24) {
    subs.push(self(), self(), mlp());
    g.tag("stack:two-attention");
  } else subs.push(self(), mlp());
  const out: string[] = [];
  if (g.chance(0.1)) {
    out.push(`dropout(${g.pick(["0.1", "0.0"])})`);
    g.tag("dropout:stack");
  }
  for (const sub of subs) {
    const withNorm = g.chance(0.88);
    if (!withNorm) g.tag("norm:missing");
    if (withNorm && !post) out.push(normText(g));
    out.push(sub.text);
    if (withNorm && post) out.push(normText(g));
  }
  return out;
}

function mlpText(g: Gen, dims: Dims, s: Section): string {
  const enc = s.role === "encoder";
  const act = g.pick(["relu", "gelu", "gelu_tanh", "silu", "swiglu", "geglu"] as const);
  g.tag(`mlp:${act}`);
  const d = dims.ref(enc ? "enc_d" : "d", s.width);
  const f = g.u();
  let hidden: string;
  if (f < 0.3) {
    hidden = `4 * ${d}`;
    g.tag("dims:expr");
  } else if (f < 0.5) {
    hidden = `2 * ${d}`;
    g.tag("dims:expr");
  } else if (f < 0.75) hidden = dims.ref(enc ? "enc_hidden" : "hidden", g.int(3, 64));
  else if (f < 0.85) {
    hidden = `max(${d}, ${g.int(4, 40)})`;
    g.tag("dims:expr");
  } else hidden = String(g.int(1, 40));
  const args = [g.chance(0.7) ? `hidden = ${hidden}` : hidden, `act = ${act}`];
  if (g.chance(0.5)) {
    const b = g.chance(0.5);
    args.push(`bias = ${b}`);
    g.tag(b ? "mlp:bias" : "mlp:nobias");
  } else g.tag("mlp:bias");
  if (g.chance(0.1)) {
    args.push("dropout = 0.1");
    g.tag("mlp:dropout");
  }
  return `mlp(${args.join(", ")})`;
}

function attentionText(g: Gen, dims: Dims, plan: Plan, s: Section, hp: { heads: number; hd: number }, source: "self" | "cross"): string {
  const enc = s.role === "encoder";
  const p = enc ? "enc_" : "";
  const args: string[] = [];
  let heads = hp.heads;
  let hd = hp.hd;
  // An explicit head_dim, sometimes one that does not multiply back to the width.
  let explicitHd: number | undefined;
  if (g.chance(0.18)) {
    const fits = (h: number) => s.position !== "rope" || source === "cross" || (Number.isInteger(h * s.ropeFraction) && (h * s.ropeFraction) % 2 === 0);
    const choices = [1, 2, 3, 4, 5, 6, 7, 8, 12].filter(fits);
    if (choices.length) {
      explicitHd = g.pick(choices);
      heads = g.pick([1, 2, 3, 4]);
      hd = explicitHd;
    }
  }
  const headsText = heads === hp.heads ? dims.ref(`${p}heads`, heads) : String(heads);
  args.push(g.chance(0.15) ? headsText : `heads = ${headsText}`);
  const kvChoices = divisors(heads);
  const kv = g.chance(0.45) ? heads : g.pick(kvChoices);
  if (kv === heads) {
    g.tag("heads:mha");
    if (g.chance(0.2)) args.push(`kv_heads = ${headsText}`);
  } else {
    g.tag(kv === 1 ? "heads:mqa" : "heads:gqa");
    args.push(`kv_heads = ${kv === 1 || heads !== hp.heads ? kv : dims.ref(`${p}kv_heads`, kv)}`);
  }
  if (explicitHd !== undefined) {
    args.push(`head_dim = ${explicitHd}`);
    g.tag("head_dim:explicit");
  } else if (g.chance(0.05)) {
    args.push(`head_dim = ${dims.ref(`${p}d`, s.width)} / ${headsText}`);
    g.tag("head_dim:explicit", "dims:expr");
  }
  if (hd % 4 !== 0) g.tag("head_dim:odd");
  if (hd === 1) g.tag("head_dim:1");

  const causal = source === "self" && s.causal;
  if (source === "self") {
    g.tag(causal ? "attn:causal" : "attn:bidirectional");
    if (causal) args.push("mask = causal");
    else if (g.chance(0.5)) args.push("mask = none");
  }

  // The attention pattern. Linear attention cannot use ALiBi positions.
  const r = g.u();
  const alibi = s.position === "alibi" && source === "self";
  const restrict = source === "self" ? r : r < 0.85 ? 1 : (r - 0.85) / 0.15;
  const linearP = source === "self" ? 0.15 : 0.12;
  if (source === "cross" && r < linearP) {
    args.push(`kind = linear${g.chance(0.5) ? `, feature_map = ${g.pick(["elu1", "relu"])}` : ""}`);
    g.tag("cross:linear");
  } else if (source === "self" && restrict < linearP && !alibi) {
    const fm = g.pick(["elu1", "relu", "default"]);
    args.push(fm === "default" ? "kind = linear" : `kind = linear, feature_map = ${fm}`);
    g.tag(`attn:linear-${fm}`);
  } else if (restrict < 0.32) {
    const w = g.chance(0.1) ? 1 : g.int(2, s.context);
    const text = g.chance(0.3) ? dims.ref(`${p}window`, w) : String(w);
    args.push(`window = ${text}`);
    g.tag(source === "self" ? "attn:window" : "cross:window");
    if (w === 1 && source === "self") g.tag("attn:window=1");
  } else if (restrict < 0.46) {
    const sizes = divisors(s.context).filter((k) => k < s.context || g.chance(0.2));
    const size = g.pick(sizes.length ? sizes : [1]);
    const forms = [`block(${size})`, `block(size = ${size}, local = ${g.int(1, 3)})`, `block(${size}, local = ${g.int(1, 3)}, global = ${g.int(0, 2)})`, `block(${size}, global = ${g.int(1, 2)})`];
    const form = g.pick(forms);
    args.push(`sparse = ${form}`);
    g.tag(source === "self" ? "attn:block" : "cross:sparse");
    if (/global = [12]/.test(form)) g.tag("attn:block-global");
  } else if (restrict < 0.58) {
    const strides = divisors(s.context);
    args.push(`sparse = strided(${g.pick(strides)})`);
    g.tag(source === "self" ? "attn:strided" : "cross:sparse");
  } else {
    g.tag("attn:full");
    if (g.chance(0.15)) {
      args.push("kind = softmax");
      g.tag("attn:kind=softmax");
    }
  }

  // Score scale and soft-cap: softmax attention only.
  if (!args.some((a) => a.startsWith("kind = linear"))) {
    if (g.chance(0.15)) {
      args.push(`scale = ${g.pick(["0.125", "0.5", "1"])}`);
      g.tag("attn:scale");
    }
    if (g.chance(0.15)) {
      args.push(`softcap = ${g.pick(["1.5", "30", "50.0"])}`);
      g.tag("attn:softcap");
    }
  }
  if (g.chance(0.5)) {
    const b = g.chance(0.6);
    args.push(`bias = ${b}`);
    if (b) g.tag("attn:bias");
  }
  if (g.chance(0.2)) {
    args.push(`out_bias = ${g.chance(0.5)}`);
    g.tag("attn:out_bias");
  }
  const maskOf = source === "cross" ? plan.sections[0].mask : s.mask;
  if (maskOf && g.chance(0.85)) {
    args.push(`padding = ${maskOf}`);
    g.tag(source === "cross" ? "cross:padding" : causal ? "padding:causal" : "padding:self");
  } else if (maskOf && source === "self") g.tag("padding:unused");
  if (source === "cross") {
    const encWidth = plan.sections[0].width;
    if (g.chance(0.3)) {
      args.push("memory = encoder");
      g.tag("cross:memory");
    }
    if (encWidth !== s.width || g.chance(0.2)) {
      args.push(`memory_dim = ${dims.ref("enc_d", encWidth)}`);
      g.tag("cross:memory_dim");
    }
  }
  if (g.chance(0.1)) {
    args.push("dropout = 0.1");
    g.tag("attn:dropout");
  }
  // Arguments are order-free: shuffle all but a leading positional `heads`.
  const lead = args[0].startsWith("heads =") ? [] : [args.shift()!];
  for (let i = args.length - 1; i > 0; i--) {
    const j = Math.floor(g.u() * (i + 1));
    [args[i], args[j]] = [args[j], args[i]];
  }
  return `attention ${source}(${[...lead, ...args].join(", ")})`;
}
