import type { InputDecl, Item, ModelDecl, Statement } from "../syntax/ast.ts";
import type { Span } from "../syntax/source.ts";
import type { Activation, HeadInfo, InputInfo, ModelInfo, SectionInfo } from "../model/model.ts";
import { readArgs } from "./args.ts";
import { CODES } from "../diagnostics/codes.ts";
import { DimEnv } from "./dims.ts";
import { lintModel } from "./lint.ts";
import { HEAD, HEAD_KINDS, MODEL_STATEMENTS, TOKENIZER, TOKENIZER_KINDS, TRAIN } from "./schemas.ts";
import { buildSection, misplaced, type SectionInput } from "./section.ts";
import type { Sink } from "./sink.ts";
import { num, readKind } from "./sublayers.ts";
import { checkModelSize } from "./model-size.ts";

export interface CheckedModel {
  info: ModelInfo | null;
  env: DimEnv;
  /** Family parameters this model needs but never sets. */
  missing: Array<{ name: string; span: Span; sink: Sink }>;
}

type Located<T> = { item: T; sink: Sink };

/**
 * Check one model, given its inheritance chain (root first, the model last). The body
 * comes from the nearest model in the chain that has statements; dims and inputs merge
 * down the chain with children overriding parents.
 */
export function checkModel(chain: ModelDecl[], sinkOf: (file: string) => Sink, opts: { isEntry: boolean }): CheckedModel {
  const model = chain[chain.length - 1];
  const msink = sinkOf(model.file);
  const env = new DimEnv();
  const inputs = new Map<string, Located<InputDecl>>();
  let body: Array<Located<Statement | Item>> = [];
  let bodySink = msink;
  let bodyOwner: ModelDecl | undefined;
  for (const decl of chain) {
    const sink = sinkOf(decl.file);
    const seenDims = new Map<string, Span>();
    const seenInputs = new Map<string, Span>();
    const own: Array<Located<Item>> = [];
    for (const item of decl.items) {
      if (item.kind === "dims") {
        for (const d of item.dims) {
          const prev = seenDims.get(d.name.name);
          if (prev) {
            sink.report("SF0102", d.name.span, `dim \`${d.name.name}\` is defined twice`, { label: "second definition", secondary: [sink.label(prev, "first definition")] });
            continue;
          }
          seenDims.set(d.name.name, d.span);
          env.define(d, sink);
        }
      } else if (item.kind === "input") {
        const prev = seenInputs.get(item.name.name);
        if (prev) {
          sink.report("SF0115", item.name.span, `input \`${item.name.name}\` is declared twice`, { label: "second declaration", secondary: [sink.label(prev, "first declaration")] });
          continue;
        }
        seenInputs.set(item.name.name, item.span);
        inputs.set(item.name.name, { item, sink });
      } else own.push({ item, sink });
    }
    if (own.length > 0) {
      body = own;
      bodySink = sink;
      bodyOwner = decl;
    }
  }

  const inputInfos = readInputs(inputs, env);
  const sectionInputs = new Map([...inputInfos.values()].map((i) => [i.info.name, { dtype: i.info.dtype, shape: i.info.shape, span: i.info.span, sink: i.sink }]));

  // Split the body: model-level statements, and either sections or one main section.
  const sectionsByRole = new Map<string, Located<Statement>>();
  const mainItems: Array<Located<Item>> = [];
  let head: Located<Statement> | undefined;
  let tokenizer: Located<Statement> | undefined;
  let train: Located<Statement> | undefined;
  const allowed = new Set<string>();
  const once = (slot: Located<Statement> | undefined, st: Statement, sink: Sink): boolean => {
    if (!slot) return true;
    sink.report("SF0119", st.span, `a model has one \`${st.keyword.name}\``, { label: "second one", secondary: [slot.sink.label(slot.item.span, "first one here")] });
    return false;
  };
  for (const { item, sink } of body as Array<Located<Item>>) {
    if (item.kind === "statement") {
      const kw = item.keyword.name;
      if (kw === "encoder" || kw === "decoder") {
        if (once(sectionsByRole.get(kw), item, sink)) sectionsByRole.set(kw, { item, sink });
        continue;
      }
      if (kw === "head") {
        if (once(head, item, sink)) head = { item, sink };
        continue;
      }
      if (kw === "tokenizer") {
        if (once(tokenizer, item, sink)) tokenizer = { item, sink };
        continue;
      }
      if (kw === "lint") {
        readAllow(item, sink, allowed);
        continue;
      }
      if (kw === "train") {
        if (once(train, item, sink)) train = { item, sink };
        continue;
      }
    }
    mainItems.push({ item, sink });
  }

  const sections: Array<SectionInfo | null> = [];
  const base = { inputs: sectionInputs, runtimeMax: runtimeBounds(env) };
  if (sectionsByRole.size > 0) {
    for (const { item, sink } of mainItems) {
      if (item.kind === "statement") misplaced(item, sink, "an encoder–decoder model's body", [...MODEL_STATEMENTS]);
      else sink.report("SF0116", item.span, "in an encoder–decoder model, stacks go inside `encoder { }` or `decoder { }`", { label: "move into a section" });
    }
    const enc = sectionsByRole.get("encoder");
    const dec = sectionsByRole.get("decoder");
    let encWidth: number | null | undefined;
    let encTokens: { name: string; shape: ReadonlyArray<number | string | null> } | undefined;
    const earlierEmbeds = new Map<string, { role: SectionInfo["role"]; vocab: number; dim: number }>();
    if (enc) {
      const r = buildSection({ ...base, role: "encoder", items: blockItems(enc), encoderWidth: undefined, encoderTokens: undefined, earlierEmbeds }, env, { span: enc.item.keyword.span, sink: enc.sink });
      sections.push(r.info);
      encWidth = r.width;
      if (r.info) encTokens = { name: r.info.input, shape: sectionInputs.get(r.info.input)!.shape };
      for (const st of r.info?.steps ?? []) if (st.op === "embed") earlierEmbeds.set(st.input, { role: "encoder", vocab: st.vocab, dim: st.dim });
    } else dec!.sink.report("SF0117", dec!.item.keyword.span, "a `decoder` section needs an `encoder` section", { label: "no encoder" });
    if (dec) {
      const r = buildSection({ ...base, role: "decoder", items: blockItems(dec), encoderWidth: encWidth, encoderTokens: encTokens, earlierEmbeds }, env, { span: dec.item.keyword.span, sink: dec.sink });
      sections.push(r.info);
    } else enc!.sink.report("SF0117", enc!.item.keyword.span, "an `encoder` section needs a `decoder` section", { label: "no decoder", hint: "for an encoder-only model (BERT), put the layers directly in the model body" });
  } else {
    sections.push(buildSection({ ...base, role: "main", items: mainItems, encoderWidth: undefined, encoderTokens: undefined, earlierEmbeds: new Map() }, env, { span: model.name.span, sink: msink }).info);
  }

  const out = sections[sections.length - 1];
  const headInfo = head ? readHead(head, out, env) : null;
  if (!head) msink.report("SF0117", model.name.span, `model \`${model.name.name}\` has no \`head\``, { label: "no output layer", hint: "add `head tied` (share the embedding) or `head linear`" });

  const extra = readExtras(tokenizer, train, env);
  const tokenizerOk = !tokenizer || !headInfo || checkTokenizerVocab(tokenizer, extra.tokenizer, headInfo, head!);
  const missing = [...env.missing].map((d) => ({ name: d.name.name, span: d.span, sink: env.defs().find((e) => e.def === d)!.sink }));
  const complete = sections.every((s) => s !== null) && headInfo !== null && missing.length === 0 && sections.length > 0 && tokenizerOk;
  const info: ModelInfo | null = complete
    ? {
        name: model.name.name,
        file: model.file,
        span: model.span,
        dims: env.snapshot(),
        runtime: new Map([...env.runtime].map(([k, v]) => [k, v.max !== undefined ? { max: v.max } : {}])),
        inputs: [...inputInfos.values()].map((i) => i.info as InputInfo),
        sections: sections as SectionInfo[],
        head: headInfo!,
        ...extra,
      }
    : null;
  // Sizes past any target are an error, not a model: every later stage would fail on them.
  if (info && !checkModelSize(info, msink, model.name.span)) return { info: null, env, missing };
  // A body shared by a family is linted in the context of the model being compiled, or of
  // the model that wrote it: not once per sibling, with a different message each time.
  if (info && (opts.isEntry || bodyOwner === model)) lintModel(info, bodySink, allowed);
  return { info, env, missing };
}

/**
 * `tokenizer byte` reads ids 0-255 and, with a vocab of 257, 256 for end of text: any other
 * vocab checks and builds, then fails when the module makes its tokenizer.
 */
function checkTokenizerVocab(st: Located<Statement>, tok: ModelInfo["tokenizer"], head: HeadInfo, at: Located<Statement>): boolean {
  if (tok?.kind !== "byte" || head.vocab === 256 || head.vocab === 257) return true;
  st.sink.report("SF0121", st.item.sub?.span ?? st.item.span, `\`tokenizer byte\` needs a vocab of 256 or 257, but the model's is ${head.vocab}`, {
    label: "bytes are ids 0-255, and 256 is end of text",
    secondary: [at.sink.label(at.item.span, `the head's vocab is ${head.vocab}`)],
    hint: "set vocab = 257 (bytes + end of text) or 256, or name another tokenizer",
  });
  return false;
}

function readAllow(st: Statement, sink: Sink, into: Set<string>): void {
  const bad = (span: Span) => sink.report("SF0112", span, "`lint` takes `allow = [CODE, ...]` with warning codes", { label: "expected warning codes", hint: "e.g. `lint(allow = [SF2001])`" });
  for (const a of st.args) {
    if (a.name?.name !== "allow" || a.value.kind !== "list") {
      bad(a.span);
      continue;
    }
    for (const e of a.value.items) {
      if (e.kind === "name" && /^SF2\d{3}$/.test(e.name) && e.name in CODES) into.add(e.name);
      else bad(e.span);
    }
  }
}

function blockItems(s: Located<Statement>): Array<Located<Item>> {
  return (s.item.body ?? []).map((item) => ({ item, sink: s.sink }));
}

function runtimeBounds(env: DimEnv): SectionInput["runtimeMax"] {
  return new Map([...env.runtime].map(([k, v]) => [k, { ...(v.max !== undefined ? { max: v.max } : {}), span: v.span, sink: v.sink }]));
}

const DTYPES = ["int", "bool", "f32"] as const;

function readInputs(inputs: Map<string, Located<InputDecl>>, env: DimEnv) {
  const out = new Map<string, { info: { name: string; dtype: InputInfo["dtype"]; shape: Array<number | string | null>; span: Span }; sink: Sink }>();
  // First pass registers run-time dims so constraints and later inputs can see them.
  for (const { item, sink } of inputs.values()) {
    for (const ax of item.shape) {
      if (ax.kind === "name" && !env.has(ax.name) && !env.runtime.has(ax.name)) env.runtime.set(ax.name, { name: ax.name, sink, span: ax.span });
    }
  }
  for (const { item, sink } of inputs.values()) {
    const dtype = item.dtype.name as InputInfo["dtype"];
    if (!(DTYPES as readonly string[]).includes(dtype)) {
      sink.report("SF0113", item.dtype.span, `unknown input type \`${item.dtype.name}\``, { label: "not a type", notes: ["input types: `int`, `bool`, `f32`"] });
    }
    if (dtype === "f32") {
      sink.report("SF0214", item.dtype.span, `\`${item.name.name}\`: f32 inputs are not supported`, {
        label: "no backend takes f32 inputs",
        hint: "an input is token ids (`int`) or a padding mask (`bool`)",
      });
    }
    const shape = item.shape.map((ax) => (ax.kind === "name" && env.runtime.has(ax.name) ? ax.name : env.eval(ax, sink, "int")));
    // Every backend sizes a sequence at run time: a fixed length is a bound on a run-time dim.
    const seqAxis = item.shape[1];
    if (item.shape.length === 2 && seqAxis && typeof shape[1] === "number") {
      sink.report("SF0214", seqAxis.span, `the sequence axis of \`${item.name.name}\` is fixed at ${shape[1]}; it must be a run-time dim`, {
        label: "a fixed length",
        hint: `write \`${item.name.name}: ${item.dtype.name}[${sink.excerpt(item.shape[0].span)}, seq] where seq <= ${shape[1]}\``,
      });
    }
    for (const c of item.constraints) {
      const name = c.left.kind === "name" ? c.left.name : undefined;
      const rt = name !== undefined ? env.runtime.get(name) : undefined;
      if (!rt || !item.shape.some((ax) => ax.kind === "name" && ax.name === name)) {
        sink.report("SF0205", c.left.span, "a bound must constrain one of this input's run-time dims", {
          label: name !== undefined && env.has(name) ? `\`${name}\` is a fixed dim` : "not a run-time dim of this input",
          hint: "write e.g. `where seq <= context`",
        });
        continue;
      }
      const v = env.eval(c.right, sink, "int");
      if (v === null) continue;
      if (c.op === ">=" || c.op === ">") {
        sink.report("SF0205", c.span, "only upper bounds are supported", { label: "a lower bound", hint: `write \`${name} <= ...\`` });
        continue;
      }
      const max = c.op === "<" ? v - 1 : v;
      if (max < 1) {
        sink.report("SF0205", c.span, `\`${name}\` is bounded by ${max}, but it must be allowed to be at least 1`, {
          label: max === v ? `at most ${max}` : `less than ${v}`,
          hint: `write e.g. \`where ${name} <= context\` with a positive bound`,
        });
        continue;
      }
      rt.max = rt.max === undefined ? max : Math.min(rt.max, max);
      rt.span = c.span;
      rt.sink = sink;
    }
    out.set(item.name.name, { info: { name: item.name.name, dtype, shape, span: item.span }, sink });
  }
  return out;
}

function readHead(h: Located<Statement>, out: SectionInfo | null, env: DimEnv): HeadInfo | null {
  const { item, sink } = h;
  if (item.body) sink.report("SF0116", item.span, "`head` takes no block", { label: "unexpected block" });
  const kind = readKind(item, HEAD_KINDS, "head", sink);
  const a = readArgs(item.args, HEAD, "`head`", item.span, sink, env);
  if (kind === null || out === null) return null;
  const embed = out.steps.find((s) => s.op === "embed");
  let vocab = num(a.get("vocab"));
  if (kind === "tied") {
    if (embed?.op !== "embed") return null;
    if (vocab !== null && vocab !== embed.vocab) {
      sink.report("SF0210", a.expr("vocab")!.span, `a tied head has the embedding's vocab (${embed.vocab}), not ${vocab}`, { label: `vocab ${vocab}` });
      return null;
    }
    vocab = embed.vocab;
  } else if (vocab === null) {
    vocab = embed?.op === "embed" ? embed.vocab : null;
    if (vocab === null) return null;
  }
  const transform = a.get("transform") as Activation | undefined;
  const softcap = num(a.get("softcap"));
  return {
    kind,
    vocab,
    bias: a.get("bias") === true,
    ...(transform ? { transform: { act: transform, eps: num(a.get("eps")) ?? 1e-12 } } : {}),
    ...(softcap !== null ? { softcap } : {}),
    span: item.span,
  };
}

function readExtras(tokenizer: Located<Statement> | undefined, train: Located<Statement> | undefined, env: DimEnv): Pick<ModelInfo, "tokenizer" | "train"> {
  const out: Pick<ModelInfo, "tokenizer" | "train"> = { train: {} };
  if (tokenizer) {
    const kind = readKind(tokenizer.item, TOKENIZER_KINDS, "tokenizer", tokenizer.sink);
    const a = readArgs(tokenizer.item.args, TOKENIZER, "`tokenizer`", tokenizer.item.span, tokenizer.sink, env);
    const name = a.get("name");
    if (kind) out.tokenizer = { kind, ...(typeof name === "string" ? { name } : {}) };
  }
  if (train) {
    if (train.item.sub) train.sink.report("SF0113", train.item.sub.span, "`train` takes no kind", { label: "unexpected word" });
    const a = readArgs(train.item.args, TRAIN, "`train`", train.item.span, train.sink, env);
    const d = num(a.get("dropout"));
    const ls = num(a.get("label_smoothing"));
    out.train = { ...(d !== null ? { dropout: d } : {}), ...(ls !== null ? { labelSmoothing: ls } : {}) };
  }
  return out;
}
