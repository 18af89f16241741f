// The Wasm training kernels a backward program runs, known before any batch: every kernel bakes
// in only model dims (the batch's rows come at run time), so walking the forward program's
// nodes lists them all — each linear's forward, dx (where its input takes a gradient) and dW
// (where its weight does), each softmax attention the Wasm kernel covers, each activation of a
// linear's epilogue or of its own node, each norm the Wasm kernel covers (and the column sums of
// any bias gradient), each Mamba conv and selective scan, and the loss over the logits' vocab. `specformer build`
// compiles exactly this set into a generated package (emit-train-module.ts).

import type { ModelInfo } from "../../../src/model/model.ts";
import { differentiate, type BackwardProgram } from "../../../src/train/autodiff.ts";
import { attentionOptions } from "../../../src/train/engine.ts";
import { trainingGraph } from "../../../src/train/graph.ts";
import { kernelName, linearDwKernel, linearDxKernel, linearForwardKernel, type TrainKernel } from "./kernel-names.ts";
import { attentionKernelSpec, wasmAttentionCovers } from "./kernels.ts";
import { wasmNormCovers } from "./norm-kernels.ts";

/** The kernels `program` runs on the Wasm target, each once, in program order. */
export function trainKernelSet(program: BackwardProgram): TrainKernel[] {
  const g = program.forward;
  const gradFields = new Map<number, Set<string>>();
  for (const s of program.steps) gradFields.set(s.node.out, new Set(s.writes.map((w) => w.field)));
  const out = new Map<string, TrainKernel>();
  const add = (k: TrainKernel) => {
    if (!out.has(kernelName(k))) out.set(kernelName(k), k);
  };
  for (const n of g.nodes) {
    if (n.op === "linear") {
      const [outDim, inDim] = g.values[n.weight].shape as number[];
      const grads = gradFields.get(n.out) ?? new Set<string>();
      add(linearForwardKernel(inDim, outDim, n.bias !== undefined));
      if (grads.has("x")) add(linearDxKernel(inDim, outDim));
      if (grads.has("weight")) add(linearDwKernel(inDim, outDim));
      if (n.act !== undefined) add({ kind: "activation", act: n.act });
      if (grads.has("bias")) add({ kind: "colsum" });
    } else if (n.op === "norm") {
      const dim = g.values[n.weight].shape[0];
      if (typeof dim === "number" && wasmNormCovers(dim)) add({ kind: "norm", spec: { kind: n.kind, dim } });
    } else if (n.op === "activation") {
      add({ kind: "activation", act: n.act });
    } else if (n.op === "attention") {
      // The batch and sequence sizes do not decide coverage, nor the key mask: any stand in for them.
      // A trainer with attention-weight dropout runs the reference kernel (wasmAttentionCovers), so that form needs none.
      const dims = { batch: 1, seqQ: 1, seqK: 1, heads: n.heads, kvHeads: n.kvHeads, headDim: n.headDim };
      const o = attentionOptions(n);
      if (wasmAttentionCovers(dims, o)) add({ kind: "attention", spec: attentionKernelSpec(dims, o) });
    } else if (n.op === "ssm_conv") {
      add({ kind: "ssm_conv", spec: { channels: n.channels, width: n.width } });
    } else if (n.op === "ssm_scan") {
      const inner = g.values[n.u].shape[2];
      if (typeof inner !== "number") throw new Error(`ssm scan %${n.out}: its channel count ${inner} is not a model dim`);
      add({ kind: "ssm_scan", spec: { inner, stateSize: n.stateSize, dtRank: n.dtRank } });
    }
  }
  const vocab = g.values[program.logits].shape.at(-1);
  if (typeof vocab === "number") add({ kind: "xent", vocab });
  return [...out.values()];
}

/**
 * The kernels a trainer of `m` may run, whatever dropout rate it is given: the programs with
 * and without dropout nodes, united (the rate is a trainer() option, unknown at build time).
 */
export function modelTrainKernels(m: ModelInfo): TrainKernel[] {
  const all = new Map<string, TrainKernel>();
  for (const dropout of [0, 0.1]) for (const k of trainKernelSet(differentiate(trainingGraph(m, { dropout })))) all.set(kernelName(k), k);
  return [...all.values()];
}
