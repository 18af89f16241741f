// A/B of the attention kernel against another checkout's (SPECFORMER_AB_OTHER: the path of a
// worktree, e.g. `git worktree add /tmp/before HEAD~1`), interleaved run by run in one process
// so both see the same load; prints CPU ms medians and the ratio. Not part of `npm run bench`.
// The other checkout needs backends/wasm/kernel-bench-attention.ts (copy it into an older one).
// Shape from N, HD, KV, WIN, ALIBI, SOFTCAP, FULL; REPS runs each.
import { type AttentionBenchSpec, attentionBenchModule } from "../backends/wasm/kernel-bench-attention.ts";

const other = process.env.SPECFORMER_AB_OTHER;
if (!other) throw new Error("set SPECFORMER_AB_OTHER to the other checkout");
const { attentionBenchModule: otherModule } = (await import(`${other}/backends/wasm/kernel-bench-attention.ts`)) as { attentionBenchModule: typeof attentionBenchModule };
const cpuMs = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
const spec: AttentionBenchSpec = { kind: "softmax", heads: 8, kvHeads: Number(process.env.KV ?? 8), headDim: Number(process.env.HD ?? 32), n: Number(process.env.N ?? 512), causal: process.env.FULL ? false : true, ...(process.env.WIN ? { window: Number(process.env.WIN) } : {}), ...(process.env.ALIBI ? { alibi: true } : {}), ...(process.env.SOFTCAP ? { softcap: Number(process.env.SOFTCAP) } : {}) };
const a = otherModule(true, spec);
const b = attentionBenchModule(true, spec);
const ta: number[] = [];
const tb: number[] = [];
for (let i = 0; i < 3; i++) (a.run(), b.run());
for (let i = 0; i < Number(process.env.REPS ?? 15); i++) {
  let t = cpuMs();
  a.run();
  ta.push(cpuMs() - t);
  t = cpuMs();
  b.run();
  tb.push(cpuMs() - t);
}
const oa = a.out();
const ob = b.out();
let err = 0;
for (let i = 0; i < oa.length; i++) err = Math.max(err, Math.abs(oa[i] - ob[i]));
console.log(JSON.stringify(spec), `other ${median(ta).toFixed(3)} ms (${(a.flops / median(ta) / 1e6).toFixed(1)} GFLOP/s), this ${median(tb).toFixed(3)} ms (${(b.flops / median(tb) / 1e6).toFixed(1)} GFLOP/s), ratio ${(median(ta) / median(tb)).toFixed(2)}, max |diff| ${err.toExponential(2)}`);
