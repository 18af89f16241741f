import { existsSync, statSync } from "node:fs";
import { checkFile } from "../check/check.ts";
import { renderText } from "../diagnostics/render-text.ts";
import type { ModelInfo } from "../model/model.ts";
import type { MapName } from "../runtime/name-maps.ts";
import { CliError, EXIT_ERRORS } from "./io.ts";

/**
 * Check a spec and return its entry model, for the commands that need a model
 * (inspect, weights, build, run). Errors are printed as diagnostics and become exit 1.
 */
export function loadModel(file: string, opts: { model?: string; color: boolean }): ModelInfo {
  if (!existsSync(file)) throw new CliError(`cannot read ${file}: no such file`);
  if (statSync(file).isDirectory()) throw new CliError(`cannot read ${file}: it is a directory (give a .sf file)`);
  const r = checkFile(file, opts.model !== undefined ? { model: opts.model } : {});
  if (r.unreadable) throw new CliError(r.diagnostics[0]?.message ?? `cannot read ${file}`);
  // Only the entry's own errors block it: a broken neighbour in the same file does not.
  if (!r.entry) {
    process.stderr.write(renderText(r.diagnostics.filter((d) => d.severity === "error"), r.sources, { color: opts.color }));
    throw new CliError(r.diagnostics.length ? `${file} has errors; fix them first (\`specformer check ${file}\`)` : `${file} declares no complete model`, EXIT_ERRORS);
  }
  return r.entry;
}

export function parsePositiveInt(value: string | undefined, what: string, min = 1): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d+$/.test(value) || Number(value) < min || !Number.isSafeInteger(Number(value))) {
    throw new CliError(`${what} must be ${min === 0 ? "a non-negative" : "a positive"} integer, got \`${value}\``);
  }
  return Number(value);
}

/**
 * A strictly parsed list of token ids (`--tokens`, `--src-tokens`): comma-separated decimal
 * integers, each a safe integer inside the vocabulary when one is given. Nothing wraps or rounds:
 * `99999999999999999999` is an error, not token 1661992960.
 */
export function parseTokenIds(value: string, what: string, vocab?: number): Int32Array {
  const parts = value.split(",").map((s) => s.trim());
  if (parts.length === 0 || parts.some((p) => !/^\d+$/.test(p))) {
    throw new CliError(`${what} takes comma-separated token ids (non-negative integers), got \`${value}\``);
  }
  const ids = parts.map(Number);
  const limit = vocab ?? 2 ** 31;
  const bad = ids.findIndex((id) => !Number.isSafeInteger(id) || id >= limit);
  if (bad >= 0) {
    const range = vocab !== undefined ? `the vocabulary is [0, ${vocab})` : `token ids are below 2^31`;
    throw new CliError(`${what}: \`${parts[bad]}\` is not a token id (${range})`);
  }
  return Int32Array.from(ids);
}

export interface LoadWeightsOptions {
  map?: MapName;
  allowNonFinite?: boolean;
  onProgress?: (loaded: number, total: number) => void;
}

/**
 * Weights for `run` and `forward`: read (a missing or unreadable file is exit 2), validated as
 * safetensors and against the spec's layout (exit 1, naming the tensor), name-mapped, and
 * checked for NaN / ±Inf unless --allow-nonfinite.
 */
export async function loadWeights(m: ModelInfo, path: string, o: LoadWeightsOptions = {}): Promise<Map<string, Float32Array>> {
  const [{ readWeights }, { parseSafetensors, WeightsError }, { bindWeights, NonFiniteWeightsError }, { applyNameMap }] = await Promise.all([
    import("../runtime/weights-source.ts"),
    import("../runtime/safetensors.ts"),
    import("../runtime/bind-weights.ts"),
    import("../runtime/name-maps.ts"),
  ]);
  let bytes: Uint8Array;
  try {
    bytes = await readWeights(path, o.onProgress ? (p) => o.onProgress!(p.loaded, p.total) : undefined);
  } catch (e) {
    if (e instanceof WeightsError) throw e;
    const msg = (e as Error).message;
    throw new CliError(msg.startsWith("cannot read") ? msg : `cannot read weights ${path}: ${msg}`);
  }
  try {
    return bindWeights(m, parseSafetensors(bytes), {
      ...(o.map ? { map: (f, mi) => applyNameMap(o.map!, f, mi) } : {}),
      ...(o.allowNonFinite ? { allowNonFinite: true } : {}),
    });
  } catch (e) {
    if (e instanceof NonFiniteWeightsError) throw new CliError(`${e.message} (--allow-nonfinite loads them anyway)`, EXIT_ERRORS);
    throw e;
  }
}
