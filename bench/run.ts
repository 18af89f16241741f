// `npm run bench`: every benchmark prints a table. Benchmarks are never timed tests.
// Select sections with arguments: `npm run bench -- check wasm attention webgpu` (default: all).
import { benchCheck } from "./check-speed.ts";

const want = new Set(process.argv.slice(2));
const on = (name: string) => want.size === 0 || want.has(name);

if (on("check")) {
  console.log("\n## Front end: checking specs/\n");
  console.table(benchCheck());
}
if (on("wasm")) {
  try {
    const { benchWasm } = await import("./wasm.ts");
    console.log("\n## WebAssembly backend\n");
    await benchWasm();
  } catch (e) {
    console.log(`(wasm bench unavailable: ${(e as Error).message})`);
  }
}
if (on("attention")) {
  const { benchAttention } = await import("./attention.ts");
  console.log("\n## Attention kernels (WebAssembly)\n");
  benchAttention();
}
if (on("webgpu")) {
  console.log("\n## WebGPU backend (WGSL)\n");
  const { benchWebGpu } = await import("./webgpu.ts");
  await benchWebGpu();
}
process.exit(0);
