/**
 * Issue 14, the checker's half: specs `check` used to accept and a later stage then failed,
 * hints that enumerated up to n, cascades, labels drawn in the wrong file, and one broken
 * model taking its healthy neighbours down. Every case bounds work (counts), never time.
 */
import { describe, expect, it } from "vitest";
import { checkSource, type CheckResult } from "../src/check/check.ts";
import { MAX_LAYERS, MAX_WEIGHT_BYTES, parameterCount } from "../src/check/model-size.ts";
import { divisorList } from "../src/check/sublayers.ts";
import { explain } from "../src/diagnostics/codes.ts";
import { toJson } from "../src/diagnostics/render-json.ts";
import { toSarif } from "../src/diagnostics/render-sarif.ts";
import { renderText } from "../src/diagnostics/render-text.ts";
import { inferenceGraph } from "../src/ir/lower.ts";
import { paramCount, weightLayout } from "../src/model/weights-layout.ts";

const check = (text: string, files: Record<string, string> = {}, model?: string): CheckResult =>
  checkSource(text, "main.sf", { read: (p) => files[p], ...(model !== undefined ? { model } : {}) });
const errors = (r: CheckResult) => r.diagnostics.filter((d) => d.severity === "error").map((d) => d.code);

const LAYER = "    norm layer\n    attention self(heads = heads, mask = causal)\n    norm layer\n    mlp(hidden = 4 * d, act = gelu)";
/** A small decoder-only model; each part can be replaced. */
function spec(p: { name?: string; dims?: string; inputs?: string; pre?: string; layer?: string; tail?: string } = {}): string {
  return `model ${p.name ?? "m"} {
  dims { ${p.dims ?? "vocab = 257, d = 32, heads = 4, layers = 2, context = 64"} }
  ${p.inputs ?? "input tokens: int[batch, seq] where seq <= context"}
  ${p.pre ?? "embed tokens(vocab, d)\n  position learned(context)"}
  stack layers × block {
${p.layer ?? LAYER}
  }
  ${p.tail ?? "norm layer\n  head tied"}
}
`;
}

describe("hints stay cheap for huge dims", () => {
  it("lists small divisors of 2^53 - 1 without trying all of them", () => {
    // 2^53 - 1 = 6361 × 69431 × 20394401: trial division stops at 100,000, so the list ends there.
    expect(divisorList(2 ** 53 - 1)).toBe("1, 6361, 69431, ...");
    expect(divisorList(768)).toBe("1, 2, 3, 4, 6, 8, 12, 16, 24, 32, 48, 64, ...");
    expect(divisorList(12)).toBe("1, 2, 3, 4, 6, 12");
    expect(divisorList(97)).toBe("1, 97");
  });

  it("checks d = 2^53 - 1 with heads = 2, and huge heads with a bad kv_heads", () => {
    const r = check(spec({ dims: "vocab = 257, d = 9007199254740991, heads = 2, layers = 2, context = 64" }));
    const d = r.diagnostics.find((x) => x.code === "SF0201")!;
    expect(d.hint).toContain("divisors of 9007199254740991 (1, 6361, 69431, ...)");
    expect(d.primary.message).toBe("head_dim would be 9007199254740991 / 2 = 4503599627370495.5");
    const kv = check(spec({ layer: "    attention self(heads = 9007199254740990, head_dim = 2, kv_heads = 4)\n    mlp(hidden = 4, act = gelu)" }));
    expect(kv.diagnostics.find((x) => x.code === "SF0203")?.hint).toBe("kv_heads must divide heads: 1, 2, 3, 5, 6, 10, 15, 30, 53, 106, 157, 159, ...");
  });
});

describe("sizes past any target", () => {
  it("rejects more than 4096 layers, whatever their width", () => {
    const r = check(spec({ dims: "vocab = 257, d = 8, heads = 2, layers = 100000000, context = 64" }));
    expect(errors(r)).toEqual(["SF0218"]);
    expect(r.diagnostics[0].message).toBe(`model \`m\` has 100,000,000 layers, more than the 4,096 a model may have`);
    expect(r.entry).toBeUndefined();
    expect(errors(check(spec({ dims: `vocab = 257, d = 8, heads = 2, layers = ${MAX_LAYERS + 1}, context = 64` })))).toEqual(["SF0218"]);
    expect(errors(check(spec({ dims: `vocab = 257, d = 8, heads = 2, layers = ${MAX_LAYERS}, context = 64` })))).toEqual([]);
  });

  it("rejects more than 16 TiB of f32 weights, with the byte count", () => {
    const r = check(spec({ dims: "vocab = 257, d = 2097152, heads = 16, layers = 64, context = 64" }));
    expect(errors(r)).toEqual(["SF0218"]);
    const d = r.diagnostics[0];
    expect(d.message).toBe("model `m` has 3.378e+15 parameters: 1.351e+16 bytes (12 PiB) of f32 weights, more than the 16 TiB a model may have");
    expect(d.notes[0]).toBe("the largest part is stack `block`: 64 layers × 52,776,577,007,616 parameters");
    // 7B-class models are far inside the limit.
    expect(errors(check(spec({ dims: "vocab = 32000, d = 4096, heads = 32, layers = 32, context = 64" })))).toEqual([]);
  });

  it("counts parameters in O(distinct layers), equal to the weight layout's count", () => {
    const m = check(spec({ dims: `vocab = 257, d = 8, heads = 2, layers = ${MAX_LAYERS}, context = 64` })).entry!;
    expect(parameterCount(m)).toBe(paramCount(m));
    expect(parameterCount(m) * 4).toBeLessThan(MAX_WEIGHT_BYTES);
  });
});

describe("specs that used to check and then fail later", () => {
  it.each([
    ["position before embed", { pre: "position learned(context)\n  embed tokens(vocab, d)" }, "SF0120"],
    ["norm before embed", { pre: "norm layer\n  embed tokens(vocab, d)\n  position learned(context)" }, "SF0120"],
    ["dropout before embed", { pre: "dropout(0.1)\n  embed tokens(vocab, d)\n  position learned(context)" }, "SF0120"],
    ["padding naming an int input", { inputs: "input tokens: int[batch, seq] where seq <= context\n  input mask: int[batch, seq]", layer: "    attention self(heads = heads, padding = mask)\n    mlp(hidden = 4 * d, act = gelu)" }, "SF0214"],
    ["padding naming a 1-D input", { inputs: "input tokens: int[batch, seq] where seq <= context\n  input mask: bool[seq]", layer: "    attention self(heads = heads, padding = mask)\n    mlp(hidden = 4 * d, act = gelu)" }, "SF0214"],
    ["padding over another sequence", { inputs: "input tokens: int[batch, seq] where seq <= context\n  input mask: bool[batch, other]", layer: "    attention self(heads = heads, padding = mask)\n    mlp(hidden = 4 * d, act = gelu)" }, "SF0214"],
    ["a non-integer global block count", { layer: "    attention self(heads = heads, sparse = block(size = 8, global = 0.5))\n    mlp(hidden = 4 * d, act = gelu)" }, "SF0211"],
    ["a negative global block count", { layer: "    attention self(heads = heads, sparse = block(size = 8, global = -1))\n    mlp(hidden = 4 * d, act = gelu)" }, "SF0217"],
    ["eps = 1e300 (infinite in f32)", { tail: "norm layer(eps = 1e300)\n  head tied" }, "SF0217"],
    ["eps = 1e-50 (zero in f32)", { tail: "norm rms(eps = 1e-50)\n  head tied" }, "SF0217"],
    ["eps = -1", { tail: "norm layer(eps = -1)\n  head tied" }, "SF0217"],
    ["eps = 0", { tail: "norm layer(eps = 0)\n  head tied" }, "SF0217"],
    ["a head transform's eps past f32", { tail: "norm layer\n  head tied(transform = gelu, eps = 1e39)" }, "SF0217"],
    ["a RoPE base past f32", { pre: "embed tokens(vocab, d)\n  position rope(base = 1e39)" }, "SF0217"],
    ["where seq <= -5", { inputs: "input tokens: int[batch, seq] where seq <= -5", pre: "embed tokens(vocab, d)" }, "SF0205"],
    ["where seq < 1", { inputs: "input tokens: int[batch, seq] where seq < 1", pre: "embed tokens(vocab, d)" }, "SF0205"],
    ["the same input embedded twice", { pre: "embed tokens(vocab, d)\n  embed tokens(vocab, d)\n  position learned(context)" }, "SF0119"],
    ["tokenizer byte with vocab 300", { dims: "vocab = 300, d = 32, heads = 4, layers = 2, context = 64", tail: "norm layer\n  head tied\n  tokenizer byte" }, "SF0121"],
    ["tokenizer byte with vocab 255", { dims: "vocab = 255, d = 32, heads = 4, layers = 2, context = 64", tail: "norm layer\n  head tied\n  tokenizer byte" }, "SF0121"],
  ] as const)("rejects %s", (_name, parts, code) => {
    const r = check(spec(parts));
    expect(errors(r)).toEqual([code]);
    expect(r.entry).toBeUndefined();
    expect(r.models.size).toBe(0);
  });

  it("rejects two stacks of one name in a section (their weights would share names)", () => {
    const r = check(spec({ tail: "stack 1 × block {\n    attention self(heads = heads)\n    mlp(hidden = d, act = relu)\n  }\n  norm layer\n  head tied" }));
    expect(errors(r)).toEqual(["SF0119"]);
  });

  it("still accepts what those checks border on, and it lowers", () => {
    const fine = [
      spec({ tail: "norm layer(eps = 1e-12)\n  head tied\n  tokenizer byte" }),
      spec({ dims: "vocab = 256, d = 32, heads = 4, layers = 2, context = 64", tail: "norm rms(eps = 1e-6)\n  head tied\n  tokenizer byte" }),
      spec({ inputs: "input tokens: int[batch, seq] where seq <= context\n  input mask: bool[batch, seq]", layer: "    attention self(heads = heads, padding = mask)\n    mlp(hidden = 4 * d, act = gelu)" }),
      spec({ layer: "    attention self(heads = heads, sparse = block(size = 8, local = 1, global = 0))\n    mlp(hidden = 4 * d, act = gelu)" }),
      spec({ inputs: "input tokens: int[batch, seq] where seq <= 1", pre: "embed tokens(vocab, d)" }),
      spec({ inputs: "input tokens: int[batch, seq] where seq <= context\n  input segments: int[batch, seq]", pre: "embed tokens(vocab, d)\n  embed segments(2, d)\n  position learned(context)" }),
    ];
    for (const text of fine) {
      const r = check(text);
      expect(r.diagnostics.filter((d) => d.severity === "error"), text).toEqual([]);
      expect(() => inferenceGraph(r.entry!)).not.toThrow();
      const names = weightLayout(r.entry!).map((t) => t.name);
      expect(new Set(names).size).toBe(names.length);
    }
  });

  it("checks a cross-attention padding mask against the encoder's tokens", () => {
    const s2s = (crossMask: string) => `model s {
  dims { vocab = 100, d = 32, heads = 4, layers = 1, context = 16 }
  input src: int[batch, src_len] where src_len <= context
  input src_mask: bool[batch, src_len]
  input tgt: int[batch, seq] where seq <= context
  input tgt_mask: bool[batch, seq]
  encoder {
    embed src(vocab, d)
    position sinusoidal
    stack layers × enc(norm = post) { attention self(heads = heads, padding = src_mask); norm layer; mlp(hidden = d, act = relu); norm layer }
  }
  decoder {
    embed tgt(vocab, d)
    position sinusoidal
    stack layers × dec(norm = post) { attention self(heads = heads, mask = causal); norm layer; attention cross(heads = heads, padding = ${crossMask}); norm layer; mlp(hidden = d, act = relu); norm layer }
  }
  head linear
}`;
    const fine = check(s2s("src_mask"));
    expect(errors(fine)).toEqual([]);
    expect(() => inferenceGraph(fine.entry!)).not.toThrow();
    // The decoder's mask has the decoder's length, not the encoder's keys'.
    const r = check(s2s("tgt_mask"));
    expect(errors(r)).toEqual(["SF0214"]);
    expect(r.diagnostics[0].message).toBe("padding mask `tgt_mask` is bool[batch, seq], but it must be bool[batch, src_len], the shape of `src`");
  });

  it("rejects the encoder's input embedded again by the decoder", () => {
    const r = check(`model s {
  dims { vocab = 100, d = 32, heads = 4, layers = 1, context = 16 }
  input tokens: int[batch, seq] where seq <= context
  encoder {
    embed tokens(vocab, d)
    stack layers × enc { attention self(heads = heads); mlp(hidden = d, act = relu) }
  }
  decoder {
    embed tokens(vocab, d)
    stack layers × dec { attention self(heads = heads, mask = causal); attention cross(heads = heads); mlp(hidden = d, act = relu) }
  }
  head linear
}`);
    expect(r.diagnostics.map((d) => `${d.code} ${d.message}`)).toEqual(["SF0119 input `tokens` is embedded by the encoder too"]);
  });

  it("registers every new code with an explanation", () => {
    for (const code of ["SF0120", "SF0121", "SF0218"]) expect(explain(code)?.explanation.length).toBeGreaterThan(80);
    expect(explain("SF0217")!.explanation).toMatch(/f32/);
    expect(explain("SF0009")!.explanation).toMatch(/1 MiB/);
  });
});

describe("no cascades", () => {
  it("reports an unknown statement in a stack once, without 'the stack has no sublayers'", () => {
    const r = check(spec({ layer: "    mamba(d_state = 16)" }));
    expect(errors(r)).toEqual(["SF0108"]);
  });

  it("still reports a stack that is really empty", () => {
    expect(errors(check(spec({ layer: "" })))).toEqual(["SF0117"]);
  });

  it("takes a misspelt embed for the embed: one error, not also 'a stack needs an embed'", () => {
    expect(errors(check(spec({ pre: "embedd tokens(vocab, d)\n  position learned(context)" })))).toEqual(["SF0108"]);
  });

  it("reports a missing embed once, not also at every norm and position", () => {
    expect(errors(check(spec({ pre: "position learned(context)" })))).toEqual(["SF0117"]);
  });
});

describe("labels in their own file through extends and import", () => {
  const base = `model base {
  dims { vocab = 257, d, heads = 4, layers = 2, context = 64 }
  input tokens: int[batch, seq] where seq <= context
  embed tokens(vocab, d)
  position learned(context)
  stack layers × block {
${LAYER}
  }
  norm layer
  head tied
}
`;
  const main = 'import "lib.sf"\n\nmodel wide extends base { dims { d = 770 } }\n';
  const r = check(main, { "lib.sf": base });
  const d = r.diagnostics.find((x) => x.code === "SF0201")!;
  const width = d.secondary.find((l) => l.message.startsWith("the model width"))!;

  it("puts the width's label in the file that sets it", () => {
    expect(d.primary.file).toBe("lib.sf");
    expect(width.file).toBe("main.sf");
    expect(main.slice(width.span.start, width.span.end)).toBe("d = 770");
  });

  it("in text, JSON and SARIF alike", () => {
    const text = renderText(r.diagnostics, r.sources, { color: false });
    expect(text).toContain("  ::: main.sf:3:34\n");
    expect(text).toContain(" 3 | model wide extends base { dims { d = 770 } }\n   |                                  ------- the model width d = 770");
    const json = toJson(r.diagnostics, r.sources).find((x) => x.code === "SF0201")!;
    expect(json.secondary.find((s) => s.message.startsWith("the model width"))).toMatchObject({ file: "main.sf", line: 3, column: 34, endColumn: 41 });
    const sarif = toSarif(r.diagnostics, r.sources, { toolVersion: "test" }) as { runs: Array<{ results: Array<{ ruleId: string; relatedLocations?: Array<{ physicalLocation: { artifactLocation: { uri: string }; region: { startLine: number } }; message?: { text: string } }> }> }> };
    const rel = sarif.runs[0].results.find((x) => x.ruleId === "SF0201")!.relatedLocations!.find((l) => l.message?.text.startsWith("the model width"))!;
    expect(rel.physicalLocation).toMatchObject({ artifactLocation: { uri: "main.sf" }, region: { startLine: 3 } });
  });
});

describe("one broken model does not block the others", () => {
  const file = spec({ name: "good" }) + spec({ name: "bad", dims: "vocab = 257, d = 30, heads = 4, layers = 2, context = 64" });

  it("keeps the healthy model compilable by name", () => {
    const r = check(file, {}, "good");
    expect(errors(r)).toEqual(["SF0201"]);
    expect(r.entry?.name).toBe("good");
    expect([...r.models.keys()]).toEqual(["good"]);
  });

  it("gives no entry when the entry itself is broken", () => {
    const r = check(file);
    expect(r.entry).toBeUndefined();
    expect(r.models.has("good")).toBe(true);
  });

  it("does not compile a model whose errors are only in arguments that fall back to defaults", () => {
    // `eps = -1` is rejected and the norm would silently use 1e-5: the model is not healthy.
    const r = check(spec({ tail: "norm layer(eps = -1)\n  head tied" }));
    expect(r.models.size).toBe(0);
  });

  it("compiles neither of two models of one name", () => {
    const r = check(spec({ name: "twice" }) + spec({ name: "twice" }));
    expect(errors(r)).toEqual(["SF0103"]);
    expect(r.entry).toBeUndefined();
  });
});
