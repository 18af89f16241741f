/**
 * Checker semantics on valid specs: the ModelInfo it builds (dims, defaults, derived
 * sizes, norm pairing, sections, inheritance, entry selection), plus regressions for
 * diagnostics that used to be wrong in ways the golden files would not pin down alone.
 */
import { describe, expect, it } from "vitest";
import { checkFile, checkSource, UsageError, type CheckResult } from "../src/check/check.ts";
import type { AttentionInfo, MlpInfo, ModelInfo, SectionInfo, StackInfo, Sublayer } from "../src/model/model.ts";

/** Checks `text` as main.sf; `files` are what imports may read. */
function check(text: string, files: Record<string, string> = {}, model?: string): CheckResult {
  return checkSource(text, "main.sf", { read: (p) => files[p], ...(model !== undefined ? { model } : {}) });
}
const codes = (r: CheckResult) => r.diagnostics.map((d) => d.code);
const errors = (r: CheckResult) => r.diagnostics.filter((d) => d.severity === "error").map((d) => `${d.code} ${d.message}`);

/** Checks a spec that must have no diagnostic at all, and returns its entry model. */
function ok(text: string, files: Record<string, string> = {}, model?: string): ModelInfo {
  const r = check(text, files, model);
  expect(r.diagnostics.map((d) => `${d.code} ${d.message}`)).toEqual([]);
  expect(r.entry).toBeDefined();
  return r.entry!;
}

interface Parts {
  dims?: string;
  inputs?: string;
  position?: string;
  stackArgs?: string;
  layer?: string;
  tail?: string;
}
const PRE_LAYER = "    norm layer\n    attention self(heads = heads, mask = causal)\n    norm layer\n    mlp(hidden = 4 * d, act = gelu)";
/** A small decoder-only model; each part can be replaced. */
const spec = (p: Parts = {}) => `model m {
  dims { ${p.dims ?? "vocab = 1000, d = 256, heads = 4, layers = 2, context = 512"} }
  ${p.inputs ?? "input tokens: int[batch, seq] where seq <= context"}
  embed tokens(vocab, d)
  position ${p.position ?? "learned(context)"}
  stack layers × block${p.stackArgs ?? ""} {
${p.layer ?? PRE_LAYER}
  }
  ${p.tail ?? "norm layer\n  head tied"}
}
`;

const out = (m: ModelInfo): SectionInfo => m.sections[m.sections.length - 1];
const stacks = (s: SectionInfo): StackInfo[] => s.steps.flatMap((st) => (st.op === "stack" ? [st.stack] : []));
const sublayers = (m: ModelInfo, section = out(m)): Sublayer[] => stacks(section).flatMap((s) => s.sublayers);
const attention = (m: ModelInfo, i = 0, section = out(m)): AttentionInfo =>
  sublayers(m, section).filter((s): s is AttentionInfo => s.kind === "attention")[i];
const mlp = (m: ModelInfo, i = 0): MlpInfo => sublayers(m).filter((s): s is MlpInfo => s.kind === "mlp")[i];

describe("a real spec", () => {
  const r = checkFile("specs/gpt2-small.sf");
  const m = r.entry!;

  it("checks cleanly", () => {
    expect(r.diagnostics).toEqual([]);
    expect(m.name).toBe("gpt2_small");
    expect([...r.models.keys()]).toEqual(["gpt2_small"]);
  });

  it("evaluates dims and run-time bounds", () => {
    expect(Object.fromEntries(m.dims)).toEqual({ vocab: 50257, d: 768, heads: 12, layers: 12, context: 1024 });
    expect(Object.fromEntries(m.runtime)).toEqual({ batch: {}, seq: { max: 1024 } });
    expect(m.inputs).toMatchObject([{ name: "tokens", dtype: "int", shape: ["batch", "seq"] }]);
  });

  it("builds the section, the stack and the head", () => {
    expect(m.sections).toHaveLength(1);
    expect(out(m)).toMatchObject({ role: "main", input: "tokens", width: 768, seqDim: "seq", maxSeq: 1024, position: { kind: "learned", length: 1024 } });
    expect(out(m).steps.map((s) => s.op)).toEqual(["embed", "position", "stack", "norm"]);
    expect(stacks(out(m))[0]).toMatchObject({ name: "decoder", count: 12, placement: "pre" });
    expect(m.head).toMatchObject({ kind: "tied", vocab: 50257, bias: false });
    expect(m.tokenizer).toEqual({ kind: "bpe", name: "gpt2" });
  });

  it("derives attention sizes and defaults", () => {
    expect(attention(m)).toMatchObject({
      source: "self",
      heads: 12,
      kvHeads: 12,
      headDim: 64,
      causal: true,
      qkvBias: true,
      outBias: true,
      sourceDim: 768,
      ropeDim: 0,
      alibi: false,
      dropout: 0,
      norm: { kind: "layer", eps: 1e-5, bias: true },
    });
    expect(attention(m).window).toBeUndefined();
    expect(attention(m).sparse).toBeUndefined();
    expect(attention(m).linear).toBeUndefined();
    expect(mlp(m)).toMatchObject({ hidden: 3072, act: "gelu_tanh", bias: true, norm: { kind: "layer" } });
  });
});

describe("dims", () => {
  it("evaluates arithmetic and functions in any order of definition", () => {
    const m = ok(
      spec({
        dims: "ff = max(4 * d, 1024), vocab = 1000, d = hd * heads, hd = 64, heads = 4, layers = sqrt(4), context = (512 + 0) % 1000",
        layer: PRE_LAYER.replace("4 * d", "ff"),
      }),
    );
    expect(m.dims.get("d")).toBe(256);
    expect(m.dims.get("ff")).toBe(1024);
    expect(m.dims.get("layers")).toBe(2);
    expect(m.dims.get("context")).toBe(512);
  });

  it("takes `<` as a bound one less", () => {
    const m = ok(spec({ inputs: "input tokens: int[batch, seq] where seq < context + 1" }));
    expect(m.runtime.get("seq")).toEqual({ max: 512 });
    expect(out(m).maxSeq).toBe(512);
  });

  it("warns about a dim nothing uses, and only about that one", () => {
    const r = check(spec({ dims: "vocab = 1000, d = 256, heads = 4, layers = 2, context = 512, spare = 7" }));
    expect(r.diagnostics.map((d) => [d.code, d.message])).toEqual([["SF2003", "dim `spare` is never used"]]);
    expect(r.entry?.dims.get("spare")).toBe(7);
  });
});

describe("attention", () => {
  const layer = (args: string) => `    norm layer\n    attention self(${args})\n    norm layer\n    mlp(hidden = 4 * d, act = gelu)`;
  // No `heads` dim: each test writes its own head count.
  const withLayer = (args: string, p: Parts = {}) => ok(spec({ dims: "vocab = 1000, d = 256, layers = 2, context = 512", layer: layer(args), ...p }));

  it("defaults kv_heads to heads and head_dim to d / heads", () => {
    const a = attention(withLayer("heads = 4"));
    expect([a.heads, a.kvHeads, a.headDim, a.causal, a.qkvBias, a.outBias]).toEqual([4, 4, 64, false, false, false]);
  });

  it("takes heads positionally", () => {
    expect(attention(withLayer("8")).headDim).toBe(32);
  });

  it("groups query heads over fewer key/value heads", () => {
    const a = attention(withLayer("heads = 8, kv_heads = 2, mask = causal"));
    expect([a.heads, a.kvHeads, a.headDim]).toEqual([8, 2, 32]);
    expect(attention(withLayer("heads = 8, kv_heads = 1")).kvHeads).toBe(1);
  });

  it("takes an explicit head_dim that need not divide d", () => {
    const a = attention(withLayer("heads = 6, head_dim = 48"));
    expect([a.heads, a.headDim]).toEqual([6, 48]);
  });

  it("gives out_bias the value of bias unless set", () => {
    const a = attention(withLayer("heads = 4, bias = true"));
    expect([a.qkvBias, a.outBias]).toEqual([true, true]);
    const b = attention(withLayer("heads = 4, bias = true, out_bias = false"));
    expect([b.qkvBias, b.outBias]).toEqual([true, false]);
  });

  it("rotates a fraction of each head with RoPE", () => {
    const full = attention(withLayer("heads = 4", { position: "rope" }));
    expect([full.ropeDim, full.ropeBase]).toEqual([64, 10000]);
    const half = withLayer("heads = 4", { position: "rope(base = 500000, fraction = 0.5)" });
    expect(out(half).position).toEqual({ kind: "rope", base: 500000, fraction: 0.5 });
    expect([attention(half).ropeDim, attention(half).ropeBase]).toEqual([32, 500000]);
  });

  it("marks ALiBi on self-attention", () => {
    expect(attention(withLayer("heads = 4, mask = causal", { position: "alibi" })).alibi).toBe(true);
  });

  it("keeps a sliding window", () => {
    const a = attention(withLayer("heads = 4, mask = causal, window = 128"));
    expect(a.window).toBe(128);
  });

  it("reads block-sparse and strided patterns, with defaults", () => {
    expect(attention(withLayer("heads = 4, sparse = block(size = 64)")).sparse).toEqual({ kind: "block", block: 64, local: 1, global: 0 });
    expect(attention(withLayer("heads = 4, sparse = block(32, local = 3, global = 2)")).sparse).toEqual({ kind: "block", block: 32, local: 3, global: 2 });
    expect(attention(withLayer("heads = 4, sparse = strided(stride = 128)")).sparse).toEqual({ kind: "strided", stride: 128 });
    expect(attention(withLayer("heads = 4, sparse = strided(16)")).sparse).toEqual({ kind: "strided", stride: 16 });
  });

  it("reads linear attention and its feature map", () => {
    expect(attention(withLayer("heads = 4, kind = linear")).linear).toEqual({ featureMap: "elu1" });
    expect(attention(withLayer("heads = 4, kind = linear, feature_map = relu, mask = causal")).linear).toEqual({ featureMap: "relu" });
    expect(attention(withLayer("heads = 4, kind = softmax")).linear).toBeUndefined();
  });

  it("keeps a padding mask input and dropout", () => {
    const m = withLayer("heads = 4, padding = mask, dropout = 0.1", {
      inputs: "input tokens: int[batch, seq] where seq <= context\n  input mask: bool[batch, seq]",
    });
    expect([attention(m).padding, attention(m).dropout]).toEqual(["mask", 0.1]);
  });

  it("does not warn about quadratic memory below the threshold, and does above it", () => {
    expect(codes(check(spec()))).toEqual([]);
    const big = check(spec({ dims: "vocab = 1000, d = 256, heads = 4, layers = 2, context = 4096" }));
    expect(codes(big)).toEqual(["SF2001"]);
    // A window or a sparsity pattern keeps it linear.
    expect(codes(check(spec({ dims: "vocab = 1000, d = 256, heads = 4, layers = 2, context = 4096", layer: layer("heads = heads, window = 512") })))).toEqual([]);
  });
});

describe("norms and layers", () => {
  it("pairs each pre-norm with the sublayer after it", () => {
    const m = ok(spec({ layer: "    norm layer(eps = 1e-6)\n    attention self(heads = heads)\n    norm rms\n    mlp(hidden = 512, act = silu)" }));
    expect(stacks(out(m))[0].placement).toBe("pre");
    expect(attention(m).norm).toMatchObject({ kind: "layer", eps: 1e-6, bias: true });
    expect(mlp(m).norm).toMatchObject({ kind: "rms", eps: 1e-5, bias: false });
  });

  it("pairs each post-norm with the sublayer before it", () => {
    const m = ok(
      spec({
        stackArgs: "(norm = post)",
        layer: "    attention self(heads = heads)\n    norm layer(eps = 1e-6)\n    mlp(hidden = 512, act = relu)\n    norm rms(eps = 1e-7)",
        tail: "head tied",
      }),
    );
    expect(stacks(out(m))[0].placement).toBe("post");
    expect(attention(m).norm).toMatchObject({ kind: "layer", eps: 1e-6 });
    expect(mlp(m).norm).toMatchObject({ kind: "rms", eps: 1e-7 });
  });

  it("leaves a sublayer without a norm when none is written", () => {
    const m = check(spec({ layer: "    attention self(heads = 4)\n    mlp(hidden = 512, act = relu)", tail: "head tied" })).entry!;
    expect(attention(m).norm).toBeUndefined();
    expect(mlp(m).norm).toBeUndefined();
  });

  it("reads gated activations, bias and dropout of the mlp", () => {
    const m = ok(spec({ layer: "    norm rms\n    attention self(heads = heads)\n    norm rms\n    mlp(688, act = swiglu, bias = false, dropout = 0.2)" }));
    expect(mlp(m)).toMatchObject({ hidden: 688, act: "swiglu", bias: false, dropout: 0.2 });
  });

  it("counts layers from an expression and keeps several stacks in order", () => {
    const text = spec({ dims: "vocab = 1000, d = 256, heads = 4, layers = 6, context = 512" }).replace(
      "  norm layer\n  head tied",
      "  stack layers / 3 × extra {\n    norm layer\n    mlp(hidden = d, act = relu)\n  }\n  norm layer\n  head tied",
    );
    const m = ok(text);
    expect(stacks(out(m)).map((s) => [s.name, s.count])).toEqual([
      ["block", 6],
      ["extra", 2],
    ]);
  });
});

describe("heads and extras", () => {
  it("gives a linear head the embedding's vocab unless set", () => {
    expect(ok(spec({ tail: "norm layer\n  head linear" })).head).toMatchObject({ kind: "linear", vocab: 1000, bias: false });
    expect(ok(spec({ tail: "norm layer\n  head linear(2000, bias = true)" })).head).toMatchObject({ kind: "linear", vocab: 2000, bias: true });
  });

  it("reads a BERT-style prediction transform", () => {
    expect(ok(spec({ tail: "norm layer\n  head tied(transform = gelu, eps = 1e-12)" })).head.transform).toEqual({ act: "gelu", eps: 1e-12 });
  });

  it("reads tokenizer and training settings", () => {
    const m = ok(spec({ dims: "vocab = 257, d = 256, heads = 4, layers = 2, context = 512", tail: "norm layer\n  head tied\n  tokenizer byte\n  train(dropout = 0.1, label_smoothing = 0.05)" }));
    expect(m.tokenizer).toEqual({ kind: "byte" });
    expect(m.train).toEqual({ dropout: 0.1, labelSmoothing: 0.05 });
  });
});

describe("encoder–decoder models", () => {
  const seq2seq = (crossArgs: string, dEnc = "d") => `model s2s {
  dims { vocab = 8000, d = 256, ${dEnc === "d" ? "" : "d_enc = 512, "}heads = 8, layers = 2, context = 128 }
  input src: int[batch, src_len] where src_len <= 2 * context
  input tgt: int[batch, seq] where seq <= context
  encoder {
    embed src(vocab, ${dEnc})
    position sinusoidal
    stack layers × enc(norm = post) {
      attention self(heads = heads)
      norm layer
      mlp(hidden = 4 * ${dEnc}, act = relu)
      norm layer
    }
  }
  decoder {
    embed tgt(vocab, d)
    position learned(context)
    stack layers × dec(norm = post) {
      attention self(heads = heads, mask = causal)
      norm layer
      attention cross(${crossArgs})
      norm layer
      mlp(hidden = 4 * d, act = relu)
      norm layer
    }
  }
  head linear
}`;

  it("builds both sections; cross-attention reads the encoder's width", () => {
    const m = ok(seq2seq("heads = heads"));
    expect(m.sections.map((s) => [s.role, s.input, s.width, s.seqDim, s.maxSeq])).toEqual([
      ["encoder", "src", 256, "src_len", 256],
      ["decoder", "tgt", 256, "seq", 128],
    ]);
    const cross = attention(m, 1);
    expect([cross.source, cross.sourceDim, cross.causal, cross.ropeDim, cross.norm?.kind]).toEqual(["cross", 256, false, 0, "layer"]);
    expect(attention(m, 0, m.sections[0]).sourceDim).toBe(256);
    expect(m.head).toMatchObject({ kind: "linear", vocab: 8000 });
  });

  it("projects a wider encoder's memory with memory_dim", () => {
    const m = ok(seq2seq("heads = heads, memory = encoder, memory_dim = d_enc", "d_enc"));
    expect([m.sections[0].width, m.sections[1].width]).toEqual([512, 256]);
    const cross = attention(m, 1);
    expect([cross.sourceDim, cross.headDim]).toEqual([512, 32]);
    expect(attention(m).sourceDim).toBe(256);
  });

  it("reports the width mismatch without memory_dim", () => {
    const r = check(seq2seq("heads = heads", "d_enc"));
    expect(errors(r)).toEqual(["SF0208 cross-attention expects memory of width 256, but the encoder produces width 512"]);
    expect(r.entry).toBeUndefined();
  });
});

describe("inheritance and imports", () => {
  const family = `model family {
  dims { vocab = 1000, d, heads, layers = 2, context = 512 }
  input tokens: int[batch, seq] where seq <= context
  embed tokens(vocab, d)
  position learned(context)
  stack layers × block {
${PRE_LAYER}
  }
  norm layer
  head tied
}
`;

  it("accepts a family with unset dims when it is not the entry", () => {
    const r = check(`${family}model small extends family { dims { d = 128, heads = 2 } }\n`);
    expect(r.diagnostics).toEqual([]);
    expect(r.entry?.name).toBe("small");
    expect([...r.models.keys()]).toEqual(["small"]);
  });

  it("overrides dims and inherits the body", () => {
    const m = ok(`${family}model small extends family { dims { d = 128, heads = 2, layers = 4 } }\n`);
    expect(Object.fromEntries(m.dims)).toEqual({ vocab: 1000, d: 128, heads: 2, layers: 4, context: 512 });
    expect(stacks(out(m))[0].count).toBe(4);
    expect([attention(m).heads, attention(m).headDim, mlp(m).hidden]).toEqual([2, 64, 512]);
    expect(m.name).toBe("small");
  });

  it("inherits through several levels, the nearest definition winning", () => {
    const text = `${family}model mid extends family { dims { d = 128, heads = 2 } }\nmodel top extends mid { dims { heads = 4 } }\n`;
    const r = check(text);
    expect(r.diagnostics).toEqual([]);
    expect([...r.models.keys()].sort()).toEqual(["mid", "top"]);
    expect([r.entry!.name, attention(r.entry!).heads, attention(r.entry!).headDim]).toEqual(["top", 4, 32]);
  });

  it("replaces the body when the child writes one", () => {
    const child = `model rms extends family {
  dims { d = 64, heads = 1 }
  input tokens: int[batch, seq] where seq <= context
  embed tokens(vocab, d)
  stack layers × block { mlp(hidden = 128, act = silu); norm rms; attention self(heads = heads) }
  norm rms
  head linear
}
`;
    const m = ok(family + child);
    expect(sublayers(m).map((s) => [s.kind, s.norm?.kind])).toEqual([
      ["mlp", undefined],
      ["attention", "rms"],
    ]);
    expect(m.head.kind).toBe("linear");
  });

  it("selects the entry with the model option, and rejects an unknown one", () => {
    const text = `${family}model small extends family { dims { d = 128, heads = 2 } }\nmodel big extends family { dims { d = 512, heads = 8 } }\n`;
    expect(check(text).entry?.name).toBe("big");
    expect(check(text, {}, "small").entry?.name).toBe("small");
    expect(() => check(text, {}, "smal")).toThrow(UsageError);
    expect(() => check(text, {}, "smal")).toThrow("did you mean `small`?");
  });

  it("reports a family parameter only for the model being compiled", () => {
    const r = check(family, {}, "family");
    expect(r.diagnostics.map((d) => [d.code, d.message])).toEqual([
      ["SF0107", "dim `d` has no value in model `family`"],
      ["SF0107", "dim `heads` has no value in model `family`"],
    ]);
    expect(r.entry).toBeUndefined();
  });

  it("extends a model from an imported file, relative to the importer", () => {
    const files = { "lib/family.sf": family, "lib/more.sf": 'import "family.sf"\n' };
    const m = ok('import "lib/more.sf"\nmodel small extends family { dims { d = 64, heads = 2 } }\n', files);
    expect(m.dims.get("d")).toBe(64);
    expect(m.file).toBe("main.sf");
  });

  it("lists only the root file's models", () => {
    const r = check('import "lib/family.sf"\nmodel small extends family { dims { d = 64, heads = 2 } }\n', { "lib/family.sf": `${family}model other extends family { dims { d = 32, heads = 1 } }\n` });
    expect([...r.models.keys()]).toEqual(["small"]);
    expect(r.sources.has("lib/family.sf")).toBe(true);
  });
});

describe("regressions", () => {
  it("reports an extends cycle once, with the chain in order", () => {
    const r = check("model a extends c {}\nmodel b extends a {}\nmodel c extends b {}\nmodel d extends a {}\n");
    expect(r.diagnostics.map((d) => [d.code, d.message, d.notes])).toEqual([["SF0105", "model `a` extends itself", ["chain: a → c → b → a"]]]);
  });

  it("does not report a base as unknown when an import could not be read", () => {
    expect(codes(check('import "missing.sf"\nmodel m extends base {}\n'))).toEqual(["SF0009"]);
  });

  it("stops after syntax errors instead of checking recovery's guess", () => {
    const r = check(spec().replace("mlp(hidden = 4 * d, act = gelu)", "mlp(hidden = 4 * d act = gelu)"));
    expect(codes(r)).toEqual(["SF0004"]);
    expect(r.models.size).toBe(0);
  });

  it("reports a failed embed once, not as a missing one", () => {
    const r = check(spec({ inputs: "input tokens: f32[batch, seq] where seq <= context" }));
    expect(codes(r)).toEqual(["SF0214"]);
  });

  it("does not blame a post-norm on a sublayer that failed", () => {
    const layer = "    attention self(heads = heads)\n    norm layer\n    mlp(hidden = 512, act = relu)\n    norm layer";
    const dims = "vocab = 1000, d = 256, heads = 3, layers = 2, context = 512";
    expect(codes(check(spec({ dims, stackArgs: "(norm = post)", layer, tail: "head tied" })))).toEqual(["SF0201"]);
  });

  it("names the dims of a cycle", () => {
    const r = check(spec({ dims: "vocab = 1000, d = ff / 4, ff = 4 * d, heads = 4, layers = 2, context = 512" }));
    expect(r.diagnostics.find((d) => d.code === "SF0106")?.notes).toEqual(["cycle: d → ff → d"]);
  });
});
