// WAT for the Wasm training kernels: one kernel's functions with their exports
// (kernel-names.ts), and a module around any number of them importing the one memory they
// share. WasmTrainKernels compiles a module of one kernel on first use; `specformer build`
// compiles one of a model's whole set (kernel-set.ts) into the package.

import { emitMatmul, matmulName } from "../emit-matmul.ts";
import { emitHelpers } from "../emit-rows.ts";
import { MAX_PAGES } from "../plan.ts";
import type { EmitFlags } from "../wat.ts";
import { emitActivationForward, emitActivationGrad } from "./emit-activation-train.ts";
import { emitAttentionBackward, emitAttentionForward } from "./emit-attention-train.ts";
import { emitMatmulDw } from "./emit-matmul-dw.ts";
import { emitColumnSums, emitCrossEntropy, emitNormBackward, emitNormForward } from "./emit-norm-train.ts";
import { emitSsmConvBackward, emitSsmConvForward, emitSsmScanBackward, emitSsmScanForward } from "./emit-ssm-train.ts";
import { kernelExports, type TrainKernel } from "./kernel-names.ts";

/**
 * The attention and activation emitters name their functions after their role ($attn_fwd,
 * $act_grad), one of each per module; a module of several kernels renames each to one of its own.
 */
function renamed(text: string, from: string, to: string): string {
  const head = `(func $${from} `;
  if (!text.startsWith(head)) throw new Error(`wasm training emit: expected a function $${from}`);
  return `(func $${to} ${text.slice(head.length)}`;
}

/** The kernel's functions and exports; `id` keeps its internal names apart from other kernels'. */
export function emitKernel(k: TrainKernel, fl: EmitFlags, id: number): string {
  const ex = kernelExports(k);
  const exportAs = (fn: string, name: string) => `(export ${JSON.stringify(name)} (func $${fn}))`;
  /** Functions, each named $<role><id>, then their exports under their roles' names. */
  const fns = (...parts: Array<[text: string, role: string]>) => [...parts.map(([t]) => t), ...parts.map(([, role]) => exportAs(`${role}${id}`, ex[role]))].join("\n  ");
  switch (k.kind) {
    case "matmul": {
      // The microkernel's gate operand is unused here: a wrapper takes the five that are. With a
      // residual, C is it (C += A·Wᵀ): each element of C is read just before its one store, and
      // the lanes a tail panel reads past N (the next row's first columns) it never stores.
      const inner = matmulName(k.spec);
      const res = k.spec.residual ? "(local.get $c)" : "(i32.const 0)";
      return `${emitMatmul(fl, k.spec)}
  (func $run${id} (param $a i32) (param $w i32) (param $bias i32) (param $c i32) (param $rows i32)
    (call $${inner} (local.get $a) (local.get $w) (local.get $bias) (local.get $c) (i32.const 0) ${res} (local.get $rows)))
  ${exportAs(`run${id}`, ex.run)}`;
    }
    case "dw":
      return `${emitMatmulDw(fl, k.N, k.K)}\n  ${exportAs(ex.run, ex.run)}`;
    case "attention":
      return fns([renamed(emitAttentionForward(fl, k.spec), "attn_fwd", `fwd${id}`), "fwd"], [renamed(emitAttentionBackward(fl, k.spec), "attn_bwd", `bwd${id}`), "bwd"]);
    case "activation":
      return fns([renamed(emitActivationForward(fl, k.act), "act_fwd", `fwd${id}`), "fwd"], [renamed(emitActivationGrad(fl, k.act), "act_grad", `grad${id}`), "grad"]);
    case "norm":
      return fns([emitNormForward(fl, k.spec, `fwd${id}`), "fwd"], [emitNormBackward(fl, k.spec, `bwd${id}`), "bwd"]);
    case "colsum":
      return fns([emitColumnSums(`run${id}`), "run"]);
    case "xent":
      return fns([emitCrossEntropy(fl, k.vocab, `run${id}`), "run"]);
    case "ssm_conv":
      return fns([emitSsmConvForward(fl, k.spec, `fwd${id}`), "fwd"], [emitSsmConvBackward(fl, k.spec, `bwd${id}`), "bwd"]);
    case "ssm_scan":
      return fns([emitSsmScanForward(fl, k.spec, `fwd${id}`), "fwd"], [emitSsmScanBackward(fl, k.spec, `bwd${id}`), "bwd"]);
  }
}

/**
 * A module of `kernels`, importing env.memory (which the caller makes and every kernel shares).
 * With `fl.threads` the memory is shared and the module exports set_thread(t, n): the matmul,
 * dW and attention kernels then do the t-th of n shares of their work (thread-pool.ts); left at
 * (0, 1) they do all of it, which is all a single-threaded module ever does.
 */
export function emitTrainModule(kernels: readonly TrainKernel[], fl: EmitFlags): string {
  return `(module
  (import "env" "memory" (memory 1 ${MAX_PAGES}${fl.threads ? " shared" : ""}))
  (global $tid (mut i32) (i32.const 0))
  (global $nth (mut i32) (i32.const 1))
  ${fl.threads ? `(func (export "set_thread") (param $t i32) (param $n i32) (global.set $tid (local.get $t)) (global.set $nth (local.get $n)))` : ""}
  ${emitHelpers()}
  ${kernels.map((k, i) => emitKernel(k, fl, i)).join("\n  ")})`;
}
