// A TinyLlama-1.1B-shaped GGUF file as llama.cpp's llama-quantize Q4_0 lays one out (every matrix
// Q4_0 but the output head, Q6_K; norms F32; random blocks, scales ~0.004), written to the temp
// directory, then loaded the way `run M.gguf` does (read, header, names, permutation, Q4_0
// blocks repacked into q4, Q6_K decoded into q8, the Q4_0 embedding table decoded to f32) and
// decoded on Wasm: load seconds, peak RSS, weight bytes by storage, decode tokens/s.
// `npx tsx bench/gguf-load.ts [--threads 1,2] [--dtype q4]` (re-runs itself with relaxed SIMD and
// --expose-gc); `--dtype q4` loads as `run --dtype q4` does: the Q4_0 matrices kept, the table q8.

import { spawnSync } from "node:child_process";
import { randomFillSync } from "node:crypto";
import { closeSync, openSync, rmSync, writeSync } from "node:fs";
import os from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { createModel } from "../backends/registry.ts";
import { relaxedSimdSupported } from "../backends/wasm/backend.ts";
import { checkFile } from "../src/check/check.ts";
import { loadWeightStore } from "../src/cli/load-weights.ts";
import { bytesByDtype, STORAGE_DTYPES, type StorageDType } from "../src/runtime/weights/format.ts";
import { median } from "./lowbit.ts";
import { mib, timeDecodeSteps } from "./decode-steps.ts";
import { compileWasmWithTurbofan } from "./turbofan.ts";

const FLAGS = ["--experimental-wasm-relaxed-simd", "--expose-gc"];
const CHILD = "SPECFORMER_GGUF_BENCH_CHILD";

const str = (s: string): Buffer => {
  const b = Buffer.from(s, "utf8");
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(b.length));
  return Buffer.concat([len, b]);
};
const u32 = (v: number) => {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(v);
  return b;
};
const u64 = (v: number) => {
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE(BigInt(v));
  return b;
};
const kvU32 = (k: string, v: number) => Buffer.concat([str(k), u32(4), u32(v)]);
const kvF32 = (k: string, v: number) => {
  const b = Buffer.alloc(4);
  b.writeFloatLE(v);
  return Buffer.concat([str(k), u32(6), b]);
};
const kvStr = (k: string, v: string) => Buffer.concat([str(k), u32(8), str(v)]);

type Ggml = "F32" | "Q4_0" | "Q6_K";
const TYPE: Record<Ggml, number> = { F32: 0, Q4_0: 2, Q6_K: 14 };
const bytesOf = (t: Ggml, n: number) => (t === "F32" ? 4 * n : t === "Q4_0" ? (n / 32) * 18 : (n / 256) * 210);

/** Writes the file tensor by tensor (never the whole file in memory); returns its size. */
function writeGguf(path: string, d: { vocab: number; d: number; layers: number; heads: number; kv: number; hidden: number; context: number }): number {
  const hd = d.d / d.heads;
  const tensors: Array<{ name: string; type: Ggml; shape: number[] }> = [{ name: "token_embd.weight", type: "Q4_0", shape: [d.vocab, d.d] }];
  for (let l = 0; l < d.layers; l++) {
    const p = `blk.${l}.`;
    tensors.push(
      { name: `${p}attn_norm.weight`, type: "F32", shape: [d.d] },
      { name: `${p}attn_q.weight`, type: "Q4_0", shape: [d.d, d.d] },
      { name: `${p}attn_k.weight`, type: "Q4_0", shape: [d.kv * hd, d.d] },
      { name: `${p}attn_v.weight`, type: "Q4_0", shape: [d.kv * hd, d.d] },
      { name: `${p}attn_output.weight`, type: "Q4_0", shape: [d.d, d.d] },
      { name: `${p}ffn_norm.weight`, type: "F32", shape: [d.d] },
      { name: `${p}ffn_gate.weight`, type: "Q4_0", shape: [d.hidden, d.d] },
      { name: `${p}ffn_up.weight`, type: "Q4_0", shape: [d.hidden, d.d] },
      { name: `${p}ffn_down.weight`, type: "Q4_0", shape: [d.d, d.hidden] },
    );
  }
  tensors.push({ name: "output_norm.weight", type: "F32", shape: [d.d] }, { name: "output.weight", type: "Q6_K", shape: [d.vocab, d.d] });
  const meta = [
    kvStr("general.architecture", "llama"),
    kvU32("llama.context_length", d.context),
    kvU32("llama.embedding_length", d.d),
    kvU32("llama.block_count", d.layers),
    kvU32("llama.feed_forward_length", d.hidden),
    kvU32("llama.attention.head_count", d.heads),
    kvU32("llama.attention.head_count_kv", d.kv),
    kvF32("llama.rope.freq_base", 10000),
    kvF32("llama.attention.layer_norm_rms_epsilon", 1e-5),
  ];
  const infos: Buffer[] = [];
  let offset = 0;
  for (const t of tensors) {
    const n = t.shape.reduce((a, b) => a * b, 1);
    infos.push(Buffer.concat([str(t.name), u32(t.shape.length), ...[...t.shape].reverse().map(u64), u32(TYPE[t.type]), u64(offset)]));
    offset += Math.ceil(bytesOf(t.type, n) / 32) * 32;
  }
  let head = Buffer.concat([Buffer.from("GGUF"), u32(3), u64(tensors.length), u64(meta.length), ...meta, ...infos]);
  head = Buffer.concat([head, Buffer.alloc((32 - (head.length % 32)) % 32)]);
  const fd = openSync(path, "w");
  writeSync(fd, head);
  for (const t of tensors) {
    const n = t.shape.reduce((a, b) => a * b, 1);
    const size = bytesOf(t.type, n);
    const buf = Buffer.alloc(Math.ceil(size / 32) * 32);
    if (t.type === "F32") for (let i = 0; i < n; i++) buf.writeFloatLE(1, 4 * i);
    else {
      randomFillSync(buf, 0, size);
      // Scales: f16 0x1c00 ≈ 0.0039 (Q4_0's d at each block start; Q6_K's d at byte 208 of 210).
      const blk = t.type === "Q4_0" ? 18 : 210;
      const at = t.type === "Q4_0" ? 0 : 208;
      for (let b = 0; b < size / blk; b++) buf.writeUInt16LE(0x1c00, b * blk + at);
      if (t.type === "Q6_K") for (let b = 0; b < size / blk; b++) for (let s = 0; s < 16; s++) buf.writeInt8(1 + (buf[b * blk + 192 + s] & 31), b * blk + 192 + s);
    }
    writeSync(fd, buf);
  }
  closeSync(fd);
  return head.length + offset;
}

async function main(args: string[]): Promise<void> {
  compileWasmWithTurbofan();
  const ti = args.indexOf("--threads");
  const threadCounts = (ti >= 0 ? args[ti + 1] : "1,2").split(",").map((t) => Math.max(1, Number(t) | 0));
  const di = args.indexOf("--dtype");
  const dtype = di >= 0 ? (args[di + 1] as StorageDType) : undefined;
  const m = checkFile("specs/tinyllama-1.1b.sf").entry!;
  const path = join(os.tmpdir(), `specformer-bench-tinyllama-q4_0-${process.pid}.gguf`);
  const t0 = performance.now();
  const size = writeGguf(path, { vocab: m.head.vocab, d: 2048, layers: 22, heads: 32, kv: 4, hidden: 5632, context: 2048 });
  const writeS = (performance.now() - t0) / 1000;
  const rows: Record<string, unknown>[] = [];
  try {
    for (const threads of threadCounts) {
      const t1 = performance.now();
      let store: Awaited<ReturnType<typeof loadWeightStore>> | undefined = await loadWeightStore(m, path, dtype ? { dtype } : {});
      const loadS = (performance.now() - t1) / 1000;
      const totals = bytesByDtype(store);
      const t2 = performance.now();
      const model = await createModel("wasm", m, store, { threads });
      const buildS = (performance.now() - t2) / 1000;
      store = undefined;
      (globalThis as { gc?: () => void }).gc?.();
      const steps = await timeDecodeSteps(model);
      model.dispose();
      rows.push({
        threads,
        "--dtype": dtype ?? "-",
        "GGUF file": mib(size),
        "weights as loaded": mib(STORAGE_DTYPES.reduce((a, d) => a + totals[d].bytes, 0)),
        "q4 / q8 / f32 tensors": `${totals.q4.tensors} / ${totals.q8.tensors} / ${totals.f32.tensors}`,
        "f32 MiB (table, norms)": mib(totals.f32.bytes),
        "read + map s": Math.round(loadS * 10) / 10,
        "compile + pack s": Math.round(buildS * 10) / 10,
        "peak RSS": mib(process.resourceUsage().maxRSS * 1024),
        "decode ms (median)": Math.round(median(steps) * 10) / 10,
        "tokens/s": Math.round((1000 / median(steps)) * 10) / 10,
      });
    }
  } finally {
    rmSync(path, { force: true });
  }
  console.log(`\n## ${m.name}, a llama-quantize-style Q4_0 GGUF (output Q6_K), on Wasm; ${os.cpus()[0]?.model ?? "?"}, load average ${os.loadavg()[0].toFixed(1)}, relaxed SIMD ${relaxedSimdSupported() ? "on" : "off"}; file written in ${writeS.toFixed(1)} s\n`);
  console.table(rows);
}

if (process.env[CHILD] === undefined) {
  const r = spawnSync(process.execPath, [...process.execArgv, ...FLAGS, fileURLToPath(import.meta.url), ...process.argv.slice(2)], { stdio: "inherit", env: { ...process.env, [CHILD]: "1" } });
  process.exit(r.status ?? 1);
} else {
  await main(process.argv.slice(2));
}
