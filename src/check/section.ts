import type { Item, StackDecl } from "../syntax/ast.ts";
import type { PositionInfo, SectionInfo, Step } from "../model/model.ts";
import { readArgs } from "./args.ts";
import type { DimEnv } from "./dims.ts";
import { DROPOUT, EMBED, MODEL_STATEMENTS, POSITION, POSITION_KINDS, SECTION_STATEMENTS } from "./schemas.ts";
import type { Sink } from "./sink.ts";
import { num, readRopeScaling, readKind, readNorm, type InputRef, type SectionContext } from "./sublayers.ts";
import { didYouMean } from "./suggest.ts";
import { buildStack, stackName } from "./stack.ts";
import { isKnownStatement, misplaced } from "./statements.ts";

export { misplaced };

export interface SectionInput {
  role: SectionInfo["role"];
  items: Array<{ item: Item; sink: Sink }>;
  encoderWidth: number | null | undefined;
  inputs: ReadonlyMap<string, InputRef>;
  /** The encoder's token input, which a cross-attention's padding mask must match. */
  encoderTokens: SectionContext["encoderTokens"];
  runtimeMax: ReadonlyMap<string, { max?: number; span?: import("../syntax/source.ts").Span; sink?: Sink }>;
  /** Embeddings of earlier sections, by input name, that `tie = input` may share. */
  earlierEmbeds: ReadonlyMap<string, { role: SectionInfo["role"]; vocab: number; dim: number }>;
}

/** Result: the section (null when something in it is unknown or wrong) and its width for later sections. */
export function buildSection(sec: SectionInput, env: DimEnv, at: { span: import("../syntax/source.ts").Span; sink: Sink }): { info: SectionInfo | null; width: number | null } {
  let ok = true;
  const steps: Step[] = [];
  let input: string | undefined;
  let seqDim = "seq";
  let maxSeq: number | undefined;
  let maxSeqLabel: SectionContext["maxSeqLabel"];
  let width: number | null = null;
  let widthText = "d";
  let widthAt: SectionContext["widthAt"];
  let position: PositionInfo = { kind: "none" };
  let positionSpan: { span: import("../syntax/source.ts").Span; sink: Sink } | undefined;
  const stacks: Array<{ stack: StackDecl; name: { name: string; span: import("../syntax/source.ts").Span }; sink: Sink }> = [];
  // An `embed` that failed (already reported) or a stack reported for having none: either
  // way, "no embed" and an unknown sequence bound would only repeat that error.
  let embedFailed = false;
  let stackWithoutEmbed = false;
  /** Inputs this section embeds, with where: each has one table, named after the input. */
  const embedded = new Map<string, import("../syntax/source.ts").Span>();

  const ctx = (): SectionContext => ({
    role: sec.role,
    width,
    widthText,
    widthAt,
    position,
    maxSeq,
    maxSeqLabel,
    encoderWidth: sec.encoderWidth,
    inputs: sec.inputs,
    tokens: input !== undefined ? { name: input, shape: sec.inputs.get(input)!.shape } : undefined,
    encoderTokens: sec.encoderTokens,
  });

  // Where the first embed is: a position or norm before it is misplaced (SF0120); in a
  // section with no embed at all, the missing embed is the one error to report.
  const firstEmbed = sec.items.findIndex(({ item }) => item.kind === "statement" && item.keyword.name === "embed");
  for (const [index, { item, sink }] of sec.items.entries()) {
    if (item.kind === "dims" || item.kind === "input") {
      sink.report("SF0116", item.span, `\`${item.kind}\` must be at the top of the model, not inside a section`, { label: "move this to the model body" });
      ok = false;
      continue;
    }
    if (item.kind === "stack") {
      if (width === null && input === undefined && !embedFailed) {
        sink.report("SF0117", item.span, "a stack needs an `embed` before it", { label: "nothing feeds this stack", hint: "start with `embed tokens(vocab, d)`" });
        ok = false;
        stackWithoutEmbed = true;
      }
      // A stack's name prefixes its weights (`block.0.attn.q.weight`): two stacks of one
      // name in a section would give two tensors each name.
      const name = stackName(item, sec.role);
      const same = stacks.find((s) => s.name.name === name.name);
      if (same) {
        sink.report("SF0119", name.span, `two stacks in one section are named \`${name.name}\``, {
          label: "second stack of this name",
          secondary: [same.sink.label(same.name.span, "first one here")],
          hint: item.name ? "name each stack differently: the name prefixes its weights" : `a stack with a layer pattern is named \`${name.name}\`: write the other one as \`stack N × NAME { ... }\``,
        });
        ok = false;
      }
      const st = buildStack(item, name.name, sink, env, ctx());
      if (st) steps.push({ op: "stack", stack: st, span: item.span });
      else ok = false;
      stacks.push({ stack: item, name, sink });
      continue;
    }
    const kw = item.keyword.name;
    // Positions, norms and dropout act on the embedded stream: before the first embed there
    // is none (the lowering would read a value never defined). A failed embed is reported already.
    if ((kw === "position" || kw === "norm" || kw === "dropout") && input === undefined) {
      if (!embedFailed && index < firstEmbed) {
        sink.report("SF0120", item.keyword.span, `\`${kw}\` comes before the \`embed\` it acts on`, {
          label: "nothing to act on yet",
          hint: "move it after the section's first `embed`",
        });
      }
      ok = false;
      continue;
    }
    switch (kw) {
      case "embed": {
        const a = readArgs(item.args, EMBED, "`embed`", item.span, sink, env);
        if (!item.sub) {
          sink.report("SF0110", item.keyword.span, "`embed` needs the input it embeds", { label: "which input?", hint: "e.g. `embed tokens(vocab, d)`" });
          ok = false;
          embedFailed ||= input === undefined;
          break;
        }
        const name = item.sub.name;
        const decl = sec.inputs.get(name);
        if (!decl) {
          const hint = didYouMean(name, sec.inputs.keys());
          sink.report("SF0114", item.sub.span, `no input named \`${name}\``, {
            label: "unknown input",
            ...(hint ? { hint } : { hint: `declare it: \`input ${name}: int[batch, seq]\`` }),
          });
          ok = false;
          embedFailed ||= input === undefined;
          break;
        }
        if (decl.dtype !== "int" || decl.shape.length !== 2) {
          // An f32 input is already reported where it is declared.
          if (decl.dtype !== "f32") sink.report("SF0214", item.sub.span, `\`${name}\` must be int[batch, seq] to be embedded`, {
            label: "embedded here",
            secondary: [decl.sink.label(decl.span, `declared as ${decl.dtype}[${decl.shape.map((s) => s ?? "?").join(", ")}]`)],
          });
          ok = false;
          embedFailed ||= input === undefined;
          break;
        }
        const first = embedded.get(name);
        if (first) {
          sink.report("SF0119", item.sub.span, `input \`${name}\` is embedded twice`, {
            label: "second embedding",
            secondary: [sink.label(first, "first embedded here")],
            hint: "embed each input once; sum a second input by embedding that one",
          });
          ok = false;
          break;
        }
        // The encoder's input read again by the decoder would be one input in two phases:
        // the encoder's is fixed while the decoder's grows as it generates.
        const earlier = sec.earlierEmbeds.get(name);
        if (earlier) {
          sink.report("SF0119", item.sub.span, `input \`${name}\` is embedded by the ${earlier.role} too`, {
            label: `the ${earlier.role} already reads it`,
            hint: `give the ${sec.role} its own input (e.g. \`input tgt: int[batch, seq]\`); \`tie = ${name}\` shares the ${earlier.role}'s table`,
          });
          ok = false;
          embedFailed ||= input === undefined;
          break;
        }
        embedded.set(name, item.sub.span);
        const vocab = num(a.get("vocab"));
        const dim = num(a.get("dim"));
        if (input === undefined) {
          input = name;
          const seq = decl.shape[1];
          if (typeof seq === "string") {
            seqDim = seq;
            const rt = sec.runtimeMax.get(seq);
            maxSeq = rt?.max;
            if (rt?.span && rt.sink) maxSeqLabel = { span: rt.span, sink: rt.sink };
          } else if (typeof seq === "number") maxSeq = seq;
          width = dim;
          const de = a.expr("dim");
          if (de) {
            widthText = sink.excerpt(de.span);
            const def = de.kind === "name" ? env.definitionLabel(de.name) : undefined;
            widthAt = def ? { span: def.span, file: def.file } : de.kind === "name" ? undefined : { span: de.span, file: sink.file };
          }
        } else if (dim !== null && width !== null && dim !== width) {
          sink.report("SF0210", a.expr("dim")!.span, `this embedding has width ${dim}, but the model's width is ${width}`, {
            label: `width ${dim}`,
            hint: "embeddings are summed, so they must have the same width",
          });
          ok = false;
        }
        let tie: { role: SectionInfo["role"]; input: string } | undefined;
        const tieName = a.get("tie");
        if (typeof tieName === "string") {
          const target = sec.earlierEmbeds.get(tieName);
          if (!target) {
            sink.report("SF0114", a.expr("tie")!.span, `no earlier section embeds \`${tieName}\``, {
              label: "nothing to share",
              hint: "`tie = INPUT` shares the table of an input embedded in the encoder",
            });
            ok = false;
          } else if (vocab !== null && dim !== null && (target.vocab !== vocab || target.dim !== dim)) {
            sink.report("SF0210", a.expr("tie")!.span, `a shared table must have the same shape: [${vocab}, ${dim}] here, [${target.vocab}, ${target.dim}] in the ${target.role}`, { label: "shape differs" });
            ok = false;
          } else tie = { role: target.role, input: tieName };
        }
        if (vocab === null || dim === null) ok = false;
        else steps.push({ op: "embed", input: name, vocab, dim, scale: num(a.get("scale")) ?? 1, ...(tie ? { tie } : {}), span: item.span });
        break;
      }
      case "position": {
        if (positionSpan) {
          sink.report("SF0119", item.span, "a section has one positional encoding", {
            label: "second `position`",
            secondary: [positionSpan.sink.label(positionSpan.span, "first one here")],
          });
          ok = false;
          break;
        }
        positionSpan = { span: item.span, sink };
        const kind = readKind(item, POSITION_KINDS, "position", sink);
        if (kind === null) {
          ok = false;
          break;
        }
        const a = readArgs(item.args, POSITION[kind], `\`position ${kind}\``, item.span, sink, env);
        if (kind === "learned") {
          const length = num(a.get("length"));
          if (length === null) {
            ok = false;
            break;
          }
          // Without an embed (missing, failed, or later) the sequence bound is not known yet.
          if (input !== undefined && (maxSeq === undefined || maxSeq > length)) {
            sink.report("SF0209", a.expr("length")!.span, maxSeq === undefined ? `learned positions cover ${length} positions, but \`${seqDim}\` is unbounded` : `learned positions cover ${length} positions, but \`${seqDim}\` may be ${maxSeq}`, {
              label: `table of ${length} positions`,
              ...(maxSeqLabel ? { secondary: [maxSeqLabel.sink.label(maxSeqLabel.span, `bound ${maxSeq}`)] } : {}),
              hint: `bound the input: \`where ${seqDim} <= ${sink.excerpt(a.expr("length")!.span)}\``,
            });
            ok = false;
          }
          const dim = num(a.get("dim"));
          if (dim !== null && width !== null && dim !== width) {
            sink.report("SF0210", a.expr("dim")!.span, `position table has width ${dim}, but the model's width is ${width}`, { label: `width ${dim}` });
            ok = false;
          }
          position = { kind, length };
        } else if (kind === "rope") {
          const scaling = readRopeScaling(a, sink);
          if (scaling === null) {
            ok = false;
            break;
          }
          position = { kind, base: num(a.get("base")) ?? 10000, fraction: num(a.get("fraction")) ?? 1, ...(scaling ? { scaling } : {}) };
        } else if (kind === "hard_alibi") {
          const localHeads = num(a.get("local_heads"));
          if (localHeads === null) {
            ok = false;
            break;
          }
          position = { kind, localHeads, rest: a.get("rest") === "none" ? "none" : "alibi" };
        } else position = { kind } as PositionInfo;
        steps.push({ op: "position", position, span: item.span });
        break;
      }
      case "norm": {
        const n = readNorm(item, sink, env);
        if (n) steps.push({ op: "norm", norm: n, span: item.span });
        else ok = false;
        break;
      }
      case "dropout": {
        const a = readArgs(item.args, DROPOUT, "`dropout`", item.span, sink, env);
        steps.push({ op: "dropout", p: num(a.get("p")) ?? 0, span: item.span });
        break;
      }
      default:
        // An unknown statement before any embed may be the embed, misspelt: "no embed" and
        // "a stack needs an embed" would only repeat its error.
        if (!isKnownStatement(kw)) embedFailed ||= input === undefined;
        // A decoder-only or encoder-only model's body is its one section.
        misplaced(
          item,
          sink,
          sec.role === "main" ? "the model body" : `the ${sec.role}`,
          sec.role === "main" ? [...SECTION_STATEMENTS, "stack", ...MODEL_STATEMENTS] : [...SECTION_STATEMENTS, "stack"],
          kw === "attention" || kw === "mlp" || kw === "ssm" ? "`attention`, `mlp` and `ssm` are layers: put them inside a `stack N × name { ... }`" : undefined,
        );
        ok = false;
    }
  }
  if (input === undefined) {
    if (embedFailed || stackWithoutEmbed) return { info: null, width };
    at.sink.report("SF0117", at.span, sec.role === "main" ? "the model has no `embed`" : `the ${sec.role} has no \`embed\``, {
      label: "nothing turns tokens into vectors",
      hint: "add `embed tokens(vocab, d)`",
    });
    return { info: null, width };
  }
  if (stacks.length === 0) {
    at.sink.report("SF0117", at.span, sec.role === "main" ? "the model has no `stack` of layers" : `the ${sec.role} has no \`stack\``, { label: "no layers" });
    ok = false;
  }
  if (!ok || width === null) return { info: null, width };
  return { info: { role: sec.role, input, width, seqDim, ...(maxSeq !== undefined ? { maxSeq } : {}), position, steps }, width };
}
