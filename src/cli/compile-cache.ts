import { createHash } from "node:crypto";
import { mkdirSync, readFileSync, readdirSync, writeFileSync, existsSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import type { CompiledWasm } from "../../backends/wasm/compile.ts";
import type { ModelInfo } from "../model/model.ts";
import { modelToJson } from "../runtime/serialize.ts";
import { VERSION } from "./version.ts";

/** $SPECFORMER_CACHE, else $XDG_CACHE_HOME/specformer, else ~/.cache/specformer. */
export function cacheDir(): string {
  return process.env.SPECFORMER_CACHE ?? join(process.env.XDG_CACHE_HOME ?? join(homedir(), ".cache"), "specformer");
}

/**
 * `specformer run --target wasm` compiles a model once: the built module flavours are kept
 * under a key of the compiler version and the checked model, so an unchanged spec loads its
 * binaries instead of running binaryen again. A corrupt or partial entry is rebuilt.
 */
export async function cachedWasm(m: ModelInfo, build: () => Promise<CompiledWasm>, threads = false): Promise<{ compiled: CompiledWasm; hit: boolean }> {
  // Thread builds carry shared-memory flavours too: a separate entry.
  const key = createHash("sha256").update(`${VERSION}\n${threads}\n${JSON.stringify(modelToJson(m))}`).digest("hex").slice(0, 24);
  const dir = join(cacheDir(), "wasm", key);
  try {
    if (existsSync(join(dir, "plan.json"))) {
      const plan = JSON.parse(readFileSync(join(dir, "plan.json"), "utf8"));
      const variants = readdirSync(dir)
        .filter((f) => f.endsWith(".wasm"))
        .map((f) => ({ relaxed: f.includes("relaxed"), threads: f.includes("threads"), binary: new Uint8Array(readFileSync(join(dir, f))), text: "" }));
      if (variants.length > 0 && variants.every((v) => WebAssembly.validate(v.binary as Uint8Array<ArrayBuffer>) || v.relaxed || v.threads)) {
        const base = variants.find((v) => !v.relaxed && !v.threads) ?? variants[0];
        return { compiled: { binary: base.binary, text: "", plan, variants }, hit: true };
      }
    }
  } catch {
    // Fall through and rebuild.
  }
  const compiled = await build();
  try {
    mkdirSync(dir, { recursive: true });
    for (const v of compiled.variants) writeFileSync(join(dir, `model${v.relaxed ? ".relaxed" : ""}${v.threads ? ".threads" : ""}.wasm`), v.binary);
    writeFileSync(join(dir, "plan.json"), JSON.stringify(compiled.plan));
  } catch {
    // An unwritable cache only costs the next run a compile.
  }
  return { compiled, hit: false };
}
