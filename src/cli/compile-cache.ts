import { createHash, randomBytes } from "node:crypto";
import { mkdirSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import type { CompiledWasm, WasmVariant } from "../../backends/wasm/compile.ts";
import type { Graph } from "../ir/ir.ts";
import type { ModelInfo } from "../model/model.ts";
import { ModelInputError, type Model } from "../runtime/model-api.ts";
import { WeightsError } from "../runtime/safetensors.ts";
import { modelToJson } from "../runtime/serialize.ts";
import type { Target } from "../runtime/targets.ts";
import { isLowBit, type StoredWeight } from "../runtime/weights/format.ts";
import { VERSION } from "./version.ts";

/** $SPECFORMER_CACHE, else $XDG_CACHE_HOME/specformer, else ~/.cache/specformer. */
export function cacheDir(): string {
  return process.env.SPECFORMER_CACHE ?? join(process.env.XDG_CACHE_HOME ?? join(homedir(), ".cache"), "specformer");
}

/** First line of every entry; a new layout gets a new number (old entries are then ignored). */
const MAGIC = "specformer-wasm-cache 2";

/**
 * What the compiler is: the package version plus a digest of the code that turns a model into
 * a module (the IR's lowering and passes, the Wasm backend). A changed compiler, even at the same
 * version, never reads an older compiler's entries.
 */
let fingerprint: string | undefined;
function compilerFingerprint(): string {
  if (fingerprint !== undefined) return fingerprint;
  const h = createHash("sha256").update(`${VERSION}\n`);
  for (const rel of ["../../backends/wasm/", "../ir/"]) {
    try {
      const dir = new URL(rel, import.meta.url);
      for (const f of readdirSync(dir).sort()) {
        if (!/\.(js|ts)$/.test(f)) continue;
        h.update(`${rel}${f}\n`).update(readFileSync(new URL(f, dir)));
      }
    } catch {
      // A bundled or relocated CLI: the version alone keys its entries.
    }
  }
  return (fingerprint = h.digest("hex"));
}

/**
 * The cache key: everything the build is a function of. The checked model (every dim and
 * statement, imports resolved; not comments or layout of the spec text, which cannot change the
 * module), the program compiled (the inference graph, each weight node with its storage: a q4
 * build reads other panels than an f32 one), the compiler and the flavour set.
 */
export function cacheKey(m: ModelInfo, threads: boolean, program?: Graph): string {
  return createHash("sha256")
    .update(`${compilerFingerprint()}\nthreads=${threads}\n${JSON.stringify(modelToJson(m))}\n${program ? JSON.stringify(program) : ""}`)
    .digest("hex")
    .slice(0, 32);
}

export function cacheEntryPath(m: ModelInfo, threads: boolean, program?: Graph): string {
  return join(cacheDir(), "wasm", `${cacheKey(m, threads, program)}.bin`);
}

interface Header {
  key: string;
  version: string;
  plan: CompiledWasm["plan"];
  variants: Array<{ relaxed: boolean; threads: boolean; length: number }>;
}

/**
 * One file per entry: `MAGIC\n`, the sha256 of the body in hex, `\n`, then the body: the header
 * as one JSON line and the variants' binaries back to back. Written to a temporary name and
 * renamed into place, so a reader sees a whole entry or none, and two cold runs at once each
 * write a complete file (the last rename wins; both are the same build).
 */
export function encodeEntry(key: string, compiled: CompiledWasm): Uint8Array {
  const header: Header = {
    key,
    version: VERSION,
    plan: compiled.plan,
    variants: compiled.variants.map((v) => ({ relaxed: v.relaxed, threads: v.threads, length: v.binary.length })),
  };
  const body = Buffer.concat([Buffer.from(`${JSON.stringify(header)}\n`), ...compiled.variants.map((v) => Buffer.from(v.binary.buffer, v.binary.byteOffset, v.binary.byteLength))]);
  const digest = createHash("sha256").update(body).digest("hex");
  return Buffer.concat([Buffer.from(`${MAGIC}\n${digest}\n`), body]);
}

/** The entry, or undefined for anything but an intact entry of exactly this key. */
export function decodeEntry(key: string, bytes: Uint8Array): CompiledWasm | undefined {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const prefix = `${MAGIC}\n`;
  if (buf.length < prefix.length + 65 || buf.toString("latin1", 0, prefix.length) !== prefix) return undefined;
  const digest = buf.toString("latin1", prefix.length, prefix.length + 64);
  if (buf[prefix.length + 64] !== 0x0a) return undefined;
  const body = buf.subarray(prefix.length + 65);
  if (createHash("sha256").update(body).digest("hex") !== digest) return undefined;
  const nl = body.indexOf(0x0a);
  if (nl < 0) return undefined;
  let header: Header;
  try {
    header = JSON.parse(body.toString("utf8", 0, nl)) as Header;
  } catch {
    return undefined;
  }
  if (!header || header.key !== key || header.version !== VERSION || typeof header.plan !== "object" || header.plan === null) return undefined;
  if (!Array.isArray(header.variants) || header.variants.length === 0) return undefined;
  const variants: WasmVariant[] = [];
  let at = nl + 1;
  for (const v of header.variants) {
    if (!v || !Number.isSafeInteger(v.length) || v.length <= 0 || at + v.length > body.length) return undefined;
    // A copy: the entry's buffer is not kept alive by the module's bytes.
    variants.push({ relaxed: v.relaxed === true, threads: v.threads === true, binary: new Uint8Array(body.subarray(at, at + v.length)), text: "" });
    at += v.length;
  }
  if (at !== body.length) return undefined;
  const base = variants.find((v) => !v.relaxed && !v.threads);
  // The portable flavour must be there and be a module; the digest vouches for the rest.
  if (!base || !WebAssembly.validate(base.binary as Uint8Array<ArrayBuffer>)) return undefined;
  return { binary: base.binary, text: "", plan: header.plan, variants };
}

/** Writes `bytes` to `path` atomically: a temporary file beside it, then a rename. */
function writeAtomic(path: string, bytes: Uint8Array): void {
  const tmp = `${path}.tmp-${process.pid}-${randomBytes(6).toString("hex")}`;
  try {
    writeFileSync(tmp, bytes);
    renameSync(tmp, path);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw e;
  }
}

/** Drops an entry that turned out unusable, so the next run rebuilds it. */
export function evictWasm(m: ModelInfo, threads = false, program?: Graph): void {
  rmSync(cacheEntryPath(m, threads, program), { force: true });
}

/**
 * `specformer run` / `forward --target wasm` compile a model once: the built module flavours
 * are kept under a key of the compiler and the checked model, so an unchanged spec loads its
 * binaries instead of running binaryen again. An entry that is missing, truncated, altered, of
 * another model or another compiler is rebuilt (and replaced), never trusted.
 */
export async function cachedWasm(m: ModelInfo, build: () => Promise<CompiledWasm>, threads = false, program?: Graph): Promise<{ compiled: CompiledWasm; hit: boolean }> {
  // Thread builds carry shared-memory flavours too: a separate entry.
  const key = cacheKey(m, threads, program);
  const path = join(cacheDir(), "wasm", `${key}.bin`);
  let bytes: Uint8Array | undefined;
  try {
    bytes = readFileSync(path);
  } catch {
    bytes = undefined;
  }
  const cached = bytes && decodeEntry(key, bytes);
  if (cached) return { compiled: cached, hit: true };
  const compiled = await build();
  try {
    mkdirSync(join(cacheDir(), "wasm"), { recursive: true });
    writeAtomic(path, encodeEntry(key, compiled));
  } catch {
    // An unwritable cache only costs the next run a compile.
  }
  return { compiled, hit: false };
}

/**
 * The model `run` and `forward` execute: wasm builds come from the compile cache (and an entry
 * that fails to load once is evicted and rebuilt), the other targets compile as they load.
 * Weights may be low-bit (f16 / q8 / q4, as loaded): the build is specialised to their storage
 * and cached under it. `compiled` says where the wasm build came from, for the statistics line.
 */
export async function openModel(
  target: Target,
  m: ModelInfo,
  weights: ReadonlyMap<string, StoredWeight>,
  opts: { threads?: number } = {},
): Promise<{ model: Model; compiled?: "cached" | "compiled" }> {
  const { createModel, backendFor } = await import("../../backends/registry.ts");
  const threads = opts.threads ?? 1;
  if (target !== "wasm") return { model: await createModel(target, m, weights, threads > 1 ? { threads } : {}) };
  const { inferenceGraph } = await import("../ir/lower.ts");
  const { withStorage } = await import("../runtime/weights/store.ts");
  const f32 = inferenceGraph(m);
  const program = [...weights.values()].some(isLowBit) ? withStorage(f32, weights) : f32;
  const backend = await backendFor("wasm");
  const shared = threads > 1;
  const build = () => backend.compile(m, program, { threads: shared }) as Promise<CompiledWasm>;
  const open = (artifact: CompiledWasm) => createModel("wasm", m, weights, { artifact, program, ...(threads > 1 ? { threads } : {}) });
  const { compiled, hit } = await cachedWasm(m, build, shared, program);
  if (!hit) return { model: await open(compiled), compiled: "compiled" };
  try {
    return { model: await open(compiled), compiled: "cached" };
  } catch (e) {
    // The caller's own mistakes fail the same way with a fresh build: report them as they are.
    if (e instanceof WeightsError || e instanceof ModelInputError) throw e;
    evictWasm(m, shared, program);
    const fresh = await cachedWasm(m, build, shared, program);
    return { model: await open(fresh.compiled), compiled: "compiled" };
  }
}
