// Hand-built ModelInfo objects, so layout and inspect tests depend on neither the parser nor
// the checker. Each builder mirrors a published architecture closely enough that its
// parameter count must match the published figure to the last digit.
import type {
  AttentionInfo,
  HeadInfo,
  MlpActivation,
  MlpInfo,
  ModelInfo,
  NormInfo,
  PositionInfo,
  SectionInfo,
  StackInfo,
  Step,
  Sublayer,
} from "../../src/model/model.ts";

const span = { start: 0, end: 0 };

export function norm(kind: "layer" | "rms", eps = 1e-5): NormInfo {
  return { kind, eps, bias: kind === "layer", span };
}

export function attention(
  o: { width: number; heads: number; headDim?: number } & Partial<Omit<AttentionInfo, "kind" | "span">>,
): AttentionInfo {
  const headDim = o.headDim ?? o.width / o.heads;
  const { width: _width, ...rest } = o;
  return {
    kind: "attention",
    source: "self",
    kvHeads: o.heads,
    causal: true,
    qkvBias: false,
    outBias: false,
    sourceDim: o.width,
    ropeDim: 0,
    ropeBase: 10000,
    alibi: false,
    dropout: 0,
    ...rest,
    headDim,
    span,
  };
}

export function mlp(hidden: number, act: MlpActivation, o: { bias?: boolean; norm?: NormInfo } = {}): MlpInfo {
  return { kind: "mlp", hidden, act, bias: o.bias ?? false, dropout: 0, norm: o.norm, span };
}

export function stack(name: string, count: number, sublayers: Sublayer[], placement: "pre" | "post" = "pre"): Step {
  const s: StackInfo = { name, count, placement, residual: "sequential", kinds: [{ name, sublayers }], pattern: [{ kind: 0, count: 1 }], sublayers, span };
  return { op: "stack", stack: s, span };
}

export const embed = (input: string, vocab: number, dim: number, scale = 1): Step => ({ op: "embed", input, vocab, dim, scale, span });
export const position = (p: PositionInfo): Step => ({ op: "position", position: p, span });
export const normStep = (n: NormInfo): Step => ({ op: "norm", norm: n, span });
export const dropout = (p: number): Step => ({ op: "dropout", p, span });

export function section(role: SectionInfo["role"], input: string, width: number, steps: Step[]): SectionInfo {
  const pos = steps.find((s) => s.op === "position");
  return {
    role,
    input,
    width,
    seqDim: role === "encoder" ? "src_seq" : "seq",
    position: pos && pos.op === "position" ? pos.position : { kind: "none" },
    steps,
  };
}

export function model(name: string, sections: SectionInfo[], head: Omit<HeadInfo, "span">): ModelInfo {
  return {
    name,
    file: `${name}.sf`,
    span,
    dims: new Map(sections.map((s, i) => [`d_model${i || ""}`, s.width])),
    runtime: new Map([["batch", {}], ["seq", { max: 1024 }]]),
    inputs: sections.map((s) => ({ name: s.input, dtype: "int", shape: ["batch", s.seqDim], span })),
    sections,
    head: { ...head, span },
    train: {},
  };
}

export interface DecoderSpec {
  name: string;
  vocab: number;
  width: number;
  layers: number;
  heads: number;
  kvHeads?: number;
  hidden: number;
  act: MlpActivation;
  bias: boolean;
  norm: "layer" | "rms";
  position: PositionInfo;
  head: "tied" | "linear";
  window?: number;
}

/** A pre-norm decoder-only model with a final norm: the GPT-2 / LLaMA family. */
export function decoderOnly(o: DecoderSpec): ModelInfo {
  const headDim = o.width / o.heads;
  const ropeDim = o.position.kind === "rope" ? headDim * o.position.fraction : 0;
  const attn = attention({
    width: o.width,
    heads: o.heads,
    kvHeads: o.kvHeads ?? o.heads,
    qkvBias: o.bias,
    outBias: o.bias,
    ropeDim,
    window: o.window,
    norm: norm(o.norm),
  });
  const steps: Step[] = [
    embed("tokens", o.vocab, o.width),
    position(o.position),
    stack("decoder", o.layers, [attn, mlp(o.hidden, o.act, { bias: o.bias, norm: norm(o.norm) })]),
    normStep(norm(o.norm)),
  ];
  return model(o.name, [section("main", "tokens", o.width, steps)], { kind: o.head, vocab: o.vocab, bias: false });
}

export function gpt2(name: string, width: number, layers: number, heads: number): ModelInfo {
  return decoderOnly({
    name, vocab: 50257, width, layers, heads, hidden: 4 * width, act: "gelu_tanh", bias: true,
    norm: "layer", position: { kind: "learned", length: 1024 }, head: "tied",
  });
}

export function llama(o: { name: string; width: number; layers: number; heads: number; kvHeads?: number; hidden: number; window?: number }): ModelInfo {
  return decoderOnly({
    ...o, vocab: 32000, act: "swiglu", bias: false, norm: "rms",
    position: { kind: "rope", base: 10000, fraction: 1 }, head: "linear",
  });
}

/** BertForMaskedLM: post-norm encoder, token + segment embeddings, tied head with transform. */
export function bertForMaskedLM(): ModelInfo {
  const w = 768;
  const ln = () => norm("layer", 1e-12);
  const steps: Step[] = [
    embed("tokens", 30522, w),
    embed("segments", 2, w),
    position({ kind: "learned", length: 512 }),
    normStep(ln()),
    dropout(0.1),
    stack("encoder", 12, [
      attention({ width: w, heads: 12, causal: false, qkvBias: true, outBias: true, norm: ln(), padding: "mask" }),
      mlp(3072, "gelu", { bias: true, norm: ln() }),
    ], "post"),
  ];
  return model("bert-base", [section("main", "tokens", w, steps)], {
    kind: "tied", vocab: 30522, bias: true, transform: { act: "gelu", eps: 1e-12 },
  });
}

/** A T5/BART-like encoder-decoder; encoder and decoder widths may differ to expose sourceDim. */
export function encoderDecoder(o: { vocab: number; encWidth: number; decWidth: number; heads: number; layers: number; hidden: number }): ModelInfo {
  const enc = section("encoder", "src", o.encWidth, [
    embed("src", o.vocab, o.encWidth),
    position({ kind: "sinusoidal" }),
    stack("layers", o.layers, [
      attention({ width: o.encWidth, heads: o.heads, causal: false, norm: norm("layer") }),
      mlp(o.hidden, "relu", { norm: norm("layer") }),
    ]),
    normStep(norm("layer")),
  ]);
  const dec = section("decoder", "tgt", o.decWidth, [
    embed("tgt", o.vocab, o.decWidth),
    position({ kind: "sinusoidal" }),
    stack("layers", o.layers, [
      attention({ width: o.decWidth, heads: o.heads, norm: norm("layer") }),
      attention({ width: o.decWidth, heads: o.heads, source: "cross", causal: false, sourceDim: o.encWidth, norm: norm("layer") }),
      mlp(o.hidden, "relu", { norm: norm("layer") }),
    ]),
    normStep(norm("layer")),
  ]);
  return model("seq2seq", [enc, dec], { kind: "linear", vocab: o.vocab, bias: false });
}

/** Small enough to read a whole summary table by eye. */
export function tinyGpt(): ModelInfo {
  return decoderOnly({
    name: "tiny", vocab: 10, width: 8, layers: 2, heads: 2, hidden: 32, act: "gelu", bias: true,
    norm: "layer", position: { kind: "learned", length: 16 }, head: "tied",
  });
}
